"""``deliver``: each person's documents of an output folder, by email and/or robot.

The plan (who gets what, on which channel, in which language) comes from the run
records of the folder and the directory of recipients; what the delivery log says was
already delivered is left out; the rest is sent, each message retried a few times with
a short backoff, and recorded in the log once the server accepted it. The result lists
every person who has documents, with what happened: sent, already sent, would send (dry
run), no address, do not send, or failed (with why); and the documents that reach
nobody.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from simlib.delivery.channels import (
    SendError,
    compose_email,
    compose_webhook,
    send_email,
    send_webhook,
    smtp_password,
)
from simlib.delivery.directory import Directory, Person, build_directory
from simlib.delivery.documents import Document, read_documents, route
from simlib.delivery.log import DeliveryLog, default_log_url
from simlib.delivery.params import (
    DeliveryParams,
    RecipientParams,
    load_delivery_params,
    load_recipients,
)
from simlib.reports.templates import ReportError

__all__ = ["DeliveryReport", "Outcome", "deliver", "plan_delivery", "schedule_hook"]

log = logging.getLogger(__name__)

#: Statuses that mean a person did not get documents they should have.
FAILED = ("failed", "no address")


@dataclass
class Outcome:
    person: Person
    channel: str
    documents: list[Document]  # everything they get on this channel
    pending: list[Document]  # not yet in the delivery log
    status: str = ""  # sent | already sent | would send | no address | do not send | failed
    error: str = ""
    attempts: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return self.status in FAILED

    def to_dict(self, lang: str) -> dict:
        return {
            "person": self.person.id,
            "name": self.person.display(lang),
            "role": self.person.role,
            "language": self.person.language,
            "channel": self.channel,
            "address": self.person.address(self.channel),
            "status": self.status,
            "error": self.error or None,
            "attempts": self.attempts,
            "documents": [d.name for d in self.documents],
            "to_send": [d.name for d in self.pending],
        }


@dataclass
class DeliveryReport:
    folder: Path
    outcomes: list[Outcome]
    nobody: list[tuple[Document, str]]
    warnings: list[str]
    log_url: str
    dry_run: bool
    company: dict[str, str]  # lang -> the company's name
    units: dict[str, tuple[str, str]]

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.failed]

    @property
    def ok(self) -> bool:
        return not self.failed and not self.nobody


def _units(org) -> dict[str, tuple[str, str]]:
    out = {}
    for _, r in org.iterrows():
        zh = r.get("name_zh")
        out[str(r["node_id"])] = (str(r["name"]), zh if isinstance(zh, str) else "")
    return out


def _data_params(folder: Path, run: str | None) -> dict:
    """source / mapping / demo_seed of the documents' data (the first recorded item's)."""
    import json

    for p in sorted((folder / "manifests").glob("*.json"), reverse=True):
        if run and p.stem != Path(run).stem:
            continue
        try:
            doc = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        for item in doc.get("items", []) if isinstance(doc, dict) else []:
            params = item.get("parameters") if isinstance(item, dict) else None
            if isinstance(params, dict):
                return params
    return {}


def plan_delivery(
    folder: str | Path,
    *,
    data=None,
    run: str | None = None,
    names: Collection[str] | None = None,
    only: Sequence[str] = (),
    channel: str | None = None,
    log_url: str | None = None,
    params_dir: str | Path | None = None,
    recipients: RecipientParams | None = None,
    params: DeliveryParams | None = None,
) -> tuple[DeliveryReport, Directory, DeliveryParams, dict]:
    """Who gets what, before anything is sent (see :func:`deliver`)."""
    from simlib.company import default_language
    from simlib.data import load_source

    folder = Path(folder)
    params = params or load_delivery_params(params_dir)
    recipients = recipients if recipients is not None else load_recipients(params_dir)
    if data is None:
        p = _data_params(folder, run)
        seed = p.get("demo_seed")
        data = load_source(
            str(p.get("source") or ""),
            str(p.get("mapping") or ""),
            seed if isinstance(seed, int) else None,
        )
    reps, org = data.tables["reps"], data.tables["org"]
    directory = build_directory(
        reps,
        org,
        recipients,
        default_language=default_language(params_dir),
        as_of=data.as_of,
        params_file=(Path(params_dir) / "recipients.yaml" if params_dir is not None else None),
    )
    levels = {str(n): str(lv) for n, lv in zip(org["node_id"], org["level"])}
    documents, warnings = read_documents(folder, run=run, levels=levels, names=names)
    routes = route(documents, directory)
    units = _units(org)
    co = org[org["level"] == "company"]
    company = {"en": params.company, "zh-CN": params.company}
    if not params.company and not co.empty:
        en, zh = units[str(co.iloc[0]["node_id"])]
        company = {"en": en, "zh-CN": zh or en}
    wanted: set[str] | None = None
    if only:
        wanted = set()
        for who in only:
            found = directory.find(who)
            if not found:
                from simlib.config import hint

                raise ReportError(
                    f"--only {who!r}: nobody of that id, name, email or team in the org data"
                    + hint(who, directory.choices())
                )
            wanted |= {p.id for p in found}
    url = log_url or os.environ.get("SIMLIB_DELIVERY_LOG") or params.log_url
    url = url or default_log_url(folder)
    outcomes: list[Outcome] = []
    for pid, docs in routes.documents.items():
        if wanted is not None and pid not in wanted:
            continue
        person = directory.people[pid]
        for ch in person.channels:
            if channel and ch != channel:
                continue
            outcomes.append(Outcome(person, ch, docs, list(docs), notes=routes.notes.get(pid, [])))
    order = {"director": 0, "manager": 1, "rep": 2}
    outcomes.sort(key=lambda o: (order.get(o.person.role, 3), o.person.id, o.channel))
    report = DeliveryReport(
        folder,
        outcomes,
        routes.nobody if wanted is None else [],
        warnings,
        url,
        True,
        company,
        units,
    )
    return report, directory, params, {"data": data}


class _FolderLock:
    """One delivery at a time per folder (a second waits up to ``timeout`` s)."""

    def __init__(self, path: Path, timeout: float = 60.0):
        self.path, self.timeout, self.fd = path, timeout, None

    def __enter__(self):
        import fcntl

        self.fd = os.open(self.path, os.O_CREAT | os.O_RDWR)
        t0 = time.monotonic()
        while True:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return self
            except BlockingIOError:
                if time.monotonic() - t0 > self.timeout:
                    os.close(self.fd)
                    raise ReportError(
                        f"another delivery from {self.path.parent} is running; try again later"
                    ) from None
                time.sleep(0.2)

    def __exit__(self, *exc):
        os.close(self.fd)


def _retry(
    send: Callable[[], str], attempts: int, backoff: float, sleep, what: str
) -> tuple[str, int]:
    """(server's id, attempts) once ``send`` succeeds; raises the last SendError."""
    for i in range(1, attempts + 1):
        try:
            return send(), i
        except SendError as e:
            e.attempts = i
            if not e.transient or i == attempts:
                log.error("delivery %s failed after %d attempt(s): %s", what, i, e)
                raise
            wait = backoff * 2 ** (i - 1)
            log.warning("delivery %s: attempt %d failed (%s); retrying in %.1f s", what, i, e, wait)
            sleep(wait)
    raise AssertionError("unreachable")


def deliver(
    folder: str | Path,
    *,
    dry_run: bool = False,
    only: Sequence[str] = (),
    channel: str | None = None,
    run: str | None = None,
    names: Collection[str] | None = None,
    log_url: str | None = None,
    data=None,
    params_dir: str | Path | None = None,
    recipients: RecipientParams | None = None,
    params: DeliveryParams | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> DeliveryReport:
    """Deliver each person's documents of ``folder`` (a report pack or a schedule's
    output) on their channels; see the module's docstring.

    Parameters
    ----------
    dry_run : bool
        Plan only: nothing is sent and nothing is written (not even the log).
    only : list of str
        People to deliver to: ids, names, email addresses, teams, or a role.
    channel : "email" | "webhook", optional
        Only this channel.
    run : str, optional
        Only the documents of this run (its id, or its manifest's path).
    names : collection of str, optional
        Only these documents (their names in the run records).
    log_url : str, optional
        The delivery log (SQLAlchemy URL); default ``$SIMLIB_DELIVERY_LOG``, then
        ``delivery.yaml``'s ``log_url``, then a SQLite file in ``folder``.
    """
    report, directory, params, _ = plan_delivery(
        folder,
        data=data,
        run=run,
        names=names,
        only=only,
        channel=channel,
        log_url=log_url,
        params_dir=params_dir,
        recipients=recipients,
        params=params,
    )
    report.dry_run = dry_run
    folder = Path(folder)
    dblog = None
    if not dry_run or _log_exists(report.log_url):
        dblog = DeliveryLog(report.log_url)
    try:
        for o in report.outcomes:
            if dblog is not None:
                done = dblog.sent(o.person.id, o.channel)
                o.pending = [d for d in o.documents if d.sha256 not in done]
            if o.person.do_not_send:
                o.status = "do not send"
            elif not o.person.address(o.channel):
                o.status = "no address"
                o.error = o.person.problem(o.channel, "en")
            elif not o.pending:
                o.status = "already sent"
            elif dry_run:
                o.status = "would send"
        if dry_run:
            return report
        todo = [o for o in report.outcomes if not o.status]
        password = smtp_password(params) if any(o.channel == "email" for o in todo) else None
        with _FolderLock(folder / ".delivery.lock"):
            for o in todo:
                # re-read under the lock: a run that raced us may have sent them meanwhile
                done = dblog.sent(o.person.id, o.channel)
                o.pending = [d for d in o.pending if d.sha256 not in done]
                if not o.pending:
                    o.status = "already sent"
                    continue
                _send_one(o, report, params, password, dblog, folder, sleep)
        for o in report.failed:
            log.error(
                "delivery: %s (%s) did not get %s: %s",
                o.person.display("en"),
                o.channel,
                ", ".join(d.name for d in o.pending),
                o.error or o.status,
            )
    finally:
        if dblog is not None:
            dblog.close()
    return report


def _log_exists(url: str) -> bool:
    if url.startswith("sqlite:///"):
        return Path(url[len("sqlite:///") :]).exists()
    return True


def _where(folder: Path, params: DeliveryParams, d: Document) -> str:
    rel = d.html.relative_to(folder).as_posix() if d.html.is_relative_to(folder) else str(d.html)
    if params.documents_url:
        return f"{params.documents_url.rstrip('/')}/{rel}"
    return str(d.html)


def _send_one(o: Outcome, report, params, password, dblog, folder: Path, sleep) -> None:
    person, lang = o.person, o.person.language
    company = report.company.get(lang, "")
    what = f"to {person.display('en')} ({o.channel})"
    try:
        if o.channel == "email":
            index = folder / "people" / person.id / "index.html"
            index_url = (
                f"{params.documents_url.rstrip('/')}/people/{person.id}/index.html"
                if params.documents_url and index.exists()
                else ""
            )
            msg = compose_email(
                person,
                o.pending,
                params=params,
                company=company,
                units=report.units,
                notes=o.notes,
                index_url=index_url,
            )
            mid, o.attempts = _retry(
                lambda: send_email(msg, params, password),
                params.retry.attempts,
                params.retry.backoff_s,
                sleep,
                what,
            )
            address = person.email or ""
        else:
            payload = compose_webhook(
                person,
                o.pending,
                params=params,
                company=company,
                units=report.units,
                where=[_where(folder, params, d) for d in o.pending],
                by_email="email" in person.channels,
            )
            mid, o.attempts = _retry(
                lambda: send_webhook(person.webhook or "", payload, params),
                params.retry.attempts,
                params.retry.backoff_s,
                sleep,
                what,
            )
            address = person.webhook or ""
    except SendError as e:
        o.status, o.error, o.attempts = "failed", str(e), getattr(e, "attempts", 1)
        dblog.record_failure(person.id, o.channel, o.pending, o.attempts, o.error)
        return
    except OSError as e:  # an attachment that cannot be read
        o.status, o.error = "failed", f"cannot read a document ({e.strerror or e})"
        dblog.record_failure(person.id, o.channel, o.pending, 0, o.error)
        return
    dblog.record(o.pending, person.id, o.channel, address, mid)
    o.status = "sent"
    log.info("delivered %d document(s) %s", len(o.pending), what)


def schedule_hook(
    *, dry_run: bool = False, say: Callable[[str], None] = print, lang: str | None = None, **kw
) -> Callable[[Path, str, list[str]], DeliveryReport]:
    """What ``simlib schedule run-due`` calls after rendering (``run_due(deliver=...)``):
    deliver the documents of the jobs that say ``deliver: true``; ``kw`` go to
    :func:`deliver`."""
    from simlib.delivery.text import report_lines

    def hook(root: Path, run_id: str, names: list[str]) -> DeliveryReport:
        report = deliver(root, run=run_id, names=names, dry_run=dry_run, **kw)
        for line in report_lines(report, lang or _company_lang()):
            say(line)
        return report

    return hook


def _company_lang() -> str:
    from simlib.company import default_language

    return default_language()
