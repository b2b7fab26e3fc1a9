"""``params/recipients.yaml`` and ``params/delivery.yaml``.

``recipients.yaml`` overrides, per person of the org data (keyed by their id in the
reps table), what the data says or lacks: an email address, a preferred language, the
channels to use, a robot webhook, or "do not send". ``delivery.yaml`` says how to send:
the SMTP server (the password comes from an environment variable named there, never
from the file), the robot's kind, retries and where the delivery log lives.
"""

from __future__ import annotations

import re
from email.utils import parseaddr
from pathlib import Path
from typing import Literal
from urllib.parse import urlparse

from pydantic import Field, field_validator

from simlib.config import StrictModel, load_file

__all__ = [
    "DeliveryParams",
    "Overrides",
    "RecipientParams",
    "RetryParams",
    "SmtpParams",
    "WebhookParams",
    "is_email",
    "load_delivery_params",
    "load_recipients",
]

Channel = Literal["email", "webhook"]
Language = Literal["en", "zh-CN"]

_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+$")


def is_email(text: object) -> bool:
    """Whether ``text`` is one plain address such as ``wei.zhang@example.cn``."""
    return isinstance(text, str) and bool(_EMAIL.match(text.strip())) and len(text) <= 254


def _check_webhook(v: str | None) -> str | None:
    if v is None:
        return v
    u = urlparse(v)
    if u.scheme not in ("http", "https") or not u.netloc:
        raise ValueError(
            "expected the robot's webhook address, starting https:// (e.g. "
            "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…)"
        )
    return v


class Overrides(StrictModel):
    """One person's entry in ``recipients.yaml`` (every key optional)."""

    email: str | None = None
    language: Language | None = None
    channels: tuple[Channel, ...] | None = None
    webhook: str | None = None
    do_not_send: bool = False
    note: str = ""  # why (shown by --dry-run), e.g. "on leave until March"

    @field_validator("email")
    @classmethod
    def _email(cls, v: str | None) -> str | None:
        if v is not None and not is_email(v):
            raise ValueError("expected an email address like wei.zhang@example.cn")
        return v.strip() if v else v

    @field_validator("webhook")
    @classmethod
    def _webhook(cls, v: str | None) -> str | None:
        return _check_webhook(v)

    @field_validator("channels")
    @classmethod
    def _channels(cls, v):
        if v is not None and not v:
            raise ValueError("give at least one channel (email, webhook) or set do_not_send")
        return v


class RecipientParams(StrictModel):
    """``params/recipients.yaml``."""

    default_channels: tuple[Channel, ...] = ("email",)
    people: dict[str, Overrides] = Field(default_factory=dict)

    @field_validator("default_channels")
    @classmethod
    def _channels(cls, v):
        if not v:
            raise ValueError("give at least one channel: email, webhook")
        return v


class SmtpParams(StrictModel):
    host: str = "localhost"
    port: int = Field(25, ge=1, le=65535)
    security: Literal["starttls", "ssl", "none"] = "starttls"
    sender: str = Field("", alias="from")
    username: str | None = None
    password_env: str = "SIMLIB_SMTP_PASSWORD"
    timeout_s: float = Field(30.0, gt=0, le=600)

    @field_validator("sender")
    @classmethod
    def _sender(cls, v: str) -> str:
        if v and not is_email(parseaddr(v)[1]):
            raise ValueError(
                "expected the sender's address, e.g. 'Sales Ops <sales-ops@example.cn>'"
            )
        return v

    @field_validator("password_env")
    @classmethod
    def _env(cls, v: str) -> str:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", v):
            raise ValueError(
                "expected the NAME of an environment variable (e.g. SIMLIB_SMTP_PASSWORD), "
                "not the password itself"
            )
        return v


class WebhookParams(StrictModel):
    kind: Literal["wecom", "dingtalk"] = "wecom"
    timeout_s: float = Field(10.0, gt=0, le=120)


class RetryParams(StrictModel):
    attempts: int = Field(3, ge=1, le=10)
    backoff_s: float = Field(2.0, ge=0, le=300)  # doubled after each failed attempt


class DeliveryParams(StrictModel):
    """``params/delivery.yaml``."""

    smtp: SmtpParams = SmtpParams()
    webhook: WebhookParams = WebhookParams()
    retry: RetryParams = RetryParams()
    log_url: str | None = None  # SQLAlchemy URL; default: SQLite beside the outputs
    documents_url: str = ""  # where people find the documents (shared drive or web server)
    company: str = ""  # shown in subjects; default: the company's name


def load_recipients(params_dir: str | Path | None = None) -> RecipientParams:
    """``params/recipients.yaml`` (an empty directory of overrides when missing)."""
    from simlib.config import default_params_dir

    d = Path(params_dir) if params_dir is not None else default_params_dir()
    if not (d / "recipients.yaml").exists():
        return RecipientParams()
    return load_file("recipients.yaml", RecipientParams, params_dir)


def load_delivery_params(params_dir: str | Path | None = None) -> DeliveryParams:
    """``params/delivery.yaml`` (the defaults when missing)."""
    from simlib.config import default_params_dir

    d = Path(params_dir) if params_dir is not None else default_params_dir()
    if not (d / "delivery.yaml").exists():
        return DeliveryParams()
    return load_file("delivery.yaml", DeliveryParams, params_dir)
