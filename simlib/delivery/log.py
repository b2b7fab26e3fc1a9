"""The delivery log: what reached whom, so that nothing is sent twice.

One row per (document sha256, recipient, channel), written only after the server (the
SMTP server, the robot) accepted the message; a unique key makes a second row for the
same triple impossible even when two runs race. Failed attempts are kept in a table of
their own. Any SQLAlchemy URL works; by default a SQLite file beside the outputs.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from pathlib import Path

import sqlalchemy as sa

__all__ = ["LOG_FILE", "DeliveryLog", "default_log_url"]

LOG_FILE = "delivery-log.sqlite"

_meta = sa.MetaData()
deliveries = sa.Table(
    "deliveries",
    _meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("document_sha256", sa.String(64), nullable=False),
    sa.Column("recipient", sa.String(64), nullable=False),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("document", sa.String(500), nullable=False),
    sa.Column("address", sa.String(500), nullable=False),
    sa.Column("run_id", sa.String(100), nullable=False, default=""),
    sa.Column("message_id", sa.String(300), nullable=False, default=""),
    sa.Column("sent_at", sa.String(40), nullable=False),
    sa.UniqueConstraint("document_sha256", "recipient", "channel", name="uq_delivery"),
)
failures = sa.Table(
    "delivery_failures",
    _meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.String(40), nullable=False),
    sa.Column("recipient", sa.String(64), nullable=False),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("documents", sa.Text, nullable=False),  # JSON list of document names
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("error", sa.Text, nullable=False),
)


def default_log_url(folder: str | Path) -> str:
    """``sqlite:///<folder>/delivery-log.sqlite``."""
    return f"sqlite:///{(Path(folder) / LOG_FILE).resolve()}"


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


class DeliveryLog:
    """The log at ``url`` (tables created on first use)."""

    def __init__(self, url: str):
        from simlib.reports.templates import ReportError

        self.url = url
        try:
            self.engine = sa.create_engine(url)
            _meta.create_all(self.engine)
        except (sa.exc.SQLAlchemyError, ValueError) as e:
            raise ReportError(f"delivery log {url}: cannot open it ({e})") from None

    def close(self) -> None:
        self.engine.dispose()

    def sent(self, recipient: str, channel: str) -> set[str]:
        """The sha256 of every document already delivered to ``recipient`` on ``channel``."""
        q = sa.select(deliveries.c.document_sha256).where(
            deliveries.c.recipient == recipient, deliveries.c.channel == channel
        )
        with self.engine.connect() as c:
            return {r[0] for r in c.execute(q)}

    def record(
        self,
        documents: Iterable,
        recipient: str,
        channel: str,
        address: str,
        message_id: str = "",
    ) -> int:
        """Record documents accepted by the server; returns the rows added (a triple
        already there is left as it is)."""
        n = 0
        at = _now()
        with self.engine.begin() as c:
            for d in documents:
                exists = c.execute(
                    sa.select(deliveries.c.id).where(
                        deliveries.c.document_sha256 == d.sha256,
                        deliveries.c.recipient == recipient,
                        deliveries.c.channel == channel,
                    )
                ).first()
                if exists:
                    continue
                c.execute(
                    deliveries.insert().values(
                        document_sha256=d.sha256,
                        recipient=recipient,
                        channel=channel,
                        document=d.name,
                        address=address,
                        run_id=d.run_id,
                        message_id=message_id,
                        sent_at=at,
                    )
                )
                n += 1
        return n

    def record_failure(
        self, recipient: str, channel: str, documents: Iterable, attempts: int, error: str
    ) -> None:
        with self.engine.begin() as c:
            c.execute(
                failures.insert().values(
                    at=_now(),
                    recipient=recipient,
                    channel=channel,
                    documents=json.dumps([d.name for d in documents], ensure_ascii=False),
                    attempts=attempts,
                    error=error[:2000],
                )
            )

    def rows(self) -> list[dict]:
        with self.engine.connect() as c:
            return [dict(r._mapping) for r in c.execute(sa.select(deliveries))]

    def failure_rows(self) -> list[dict]:
        with self.engine.connect() as c:
            return [dict(r._mapping) for r in c.execute(sa.select(failures))]
