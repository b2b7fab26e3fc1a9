"""Delivery to people (SPEC R20/R25): each person receives only their own documents.

* :mod:`~simlib.delivery.directory`: the recipients, from the org data and
  ``params/recipients.yaml``;
* :mod:`~simlib.delivery.documents`: the rendered documents of a folder (from its run
  records) and who gets which;
* :mod:`~simlib.delivery.channels`: the email (SMTP, PDF attached) and the robot
  webhook (WeCom / DingTalk) messages;
* :mod:`~simlib.delivery.log`: the delivery log, so nothing is sent twice;
* :func:`deliver`: all of it, as ``simlib deliver`` runs it.
"""

from __future__ import annotations

from simlib.delivery.params import DeliveryParams, RecipientParams

__all__ = ["DeliveryParams", "RecipientParams", "deliver", "schedule_hook"]


def deliver(*args, **kwargs):
    """See :func:`simlib.delivery.run.deliver`."""
    from simlib.delivery.run import deliver as _deliver

    return _deliver(*args, **kwargs)


def schedule_hook(*args, **kwargs):
    """See :func:`simlib.delivery.run.schedule_hook`."""
    from simlib.delivery.run import schedule_hook as _hook

    return _hook(*args, **kwargs)
