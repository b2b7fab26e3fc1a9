"""The ledger: issued statements and their appeals, on an append-only, hash-chained trail.

Every write is one transaction that holds the ledger's write lock (SQLite
``BEGIN IMMEDIATE``; a PostgreSQL transaction-scoped advisory lock), appends its
events to the chain and inserts the rows they describe. Nothing is ever updated or
deleted: the current state of an appeal, or the latest version of a statement, is read
from rows that were only ever inserted.

Examples
--------
>>> import datetime as dt
>>> import pandas as pd
>>> from simlib.calendar import load_calendar
>>> from simlib.ledger import Ledger, Roster
>>> roster = Roster.from_tables(
...     pd.DataFrame({"rep_id": ["D", "M", "R"], "name": ["Di", "Ma", "Re"],
...                   "team_id": ["CO", "T", "T"], "role": ["director", "manager", "rep"]}))
>>> led = Ledger("sqlite://", roster=roster, calendar=load_calendar(),
...              clock=lambda: dt.datetime(2026, 9, 29, 2, tzinfo=dt.UTC))
>>> led.verify()
Verification(ok: 0 events, chain intact)
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import and_, create_engine, event, func, insert, select, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import StaticPool

from simlib.calendar import WorkingCalendar
from simlib.ledger import migrations
from simlib.ledger import schema as S
from simlib.ledger.change import ChangeControl
from simlib.ledger.errors import (
    AlreadyDecided,
    DeadlinePassed,
    Forbidden,
    InvalidRequest,
    LedgerError,
    NotFound,
)
from simlib.ledger.records import (
    APPEAL_STATES,
    GENESIS,
    OUTCOMES,
    Appeal,
    Event,
    IssuedLine,
    IssuedStatement,
    IssueResult,
    RepHistory,
    Verification,
    canonical,
    content_hash,
    event_hash,
    jsonable,
    line_diff,
    yuan,
)
from simlib.ledger.roles import Person, Roster

__all__ = ["Ledger", "ledger_engine"]

#: The PostgreSQL advisory lock every write transaction holds ("LEDGER" in ASCII).
_PG_LOCK = 0x4C4544474552

_OUTCOME_ZH = {k: zh for k, (_, zh) in APPEAL_STATES.items()}


def ledger_engine(url: str) -> Engine:
    """An engine for the ledger at ``url``; a SQLite file is created (with its folder) and
    put in WAL mode on first use.

    SQLite's driver is set to autocommit so that the ledger issues its own ``BEGIN``:
    ``BEGIN IMMEDIATE`` for writes (the write lock is taken before anything is read, so
    a reader-turned-writer never deadlocks), a plain ``BEGIN`` for reads.
    """
    u = make_url(str(url))
    if u.get_backend_name() != "sqlite":
        return create_engine(u, pool_pre_ping=True)
    memory = u.database in (None, "", ":memory:")
    if not memory:
        Path(u.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    eng = create_engine(
        u,
        connect_args={"timeout": 120, "check_same_thread": False},
        **({"poolclass": StaticPool} if memory else {}),
    )

    @event.listens_for(eng, "connect")
    def _connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA busy_timeout = 120000")
        if not memory:
            cur.execute("PRAGMA journal_mode = WAL")
        # FULL: a committed issue survives a power cut, not only a killed process.
        cur.execute("PRAGMA synchronous = FULL")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.close()

    @event.listens_for(eng, "begin")
    def _begin(conn):
        write = conn.get_execution_options().get("ledger_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return eng


class _Tx:
    """One write transaction: the connection, its time, and the chain's head."""

    def __init__(self, conn: Connection, now: dt.datetime):
        self.conn = conn
        self.now = now
        self._head: tuple[int, str] | None = None

    def _chain_head(self) -> tuple[int, str]:
        if self._head is None:  # read once, under the lock; then kept as events are added
            last = self.conn.execute(
                select(S.events.c.seq, S.events.c.hash).order_by(S.events.c.seq.desc()).limit(1)
            ).first()
            self._head = (0, GENESIS) if last is None else (int(last.seq), last.hash)
        return self._head

    @property
    def seq(self) -> int:
        """The seq of the last event (0 for an empty trail)."""
        return self._chain_head()[0]

    def next_id(self, table) -> int:
        return int(self.conn.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar()) + 1

    def append(
        self,
        *,
        actor: Person,
        kind: str,
        object_type: str,
        object_id: str,
        rep_id: str | None = None,
        period: str | None = None,
        reason: str = "",
        before: dict | None = None,
        after: dict | None = None,
    ) -> int:
        """Append one event to the chain; returns its ``seq``."""
        fields = {
            "seq": self.seq + 1,
            "at": jsonable(self.now),
            "actor": actor.id,
            "role": actor.role,
            "kind": kind,
            "object_type": object_type,
            "object_id": str(object_id),
            "rep_id": rep_id,
            "period": period,
            "reason": reason,
            "before": canonical(before or {}),
            "after": canonical(after or {}),
        }
        prev = self._chain_head()[1]
        h = event_hash(prev, fields)
        row = dict(fields, at=self.now, prev_hash=prev, hash=h)
        self.conn.execute(insert(S.events), [row])
        self._head = (fields["seq"], h)
        return fields["seq"]


class Ledger(ChangeControl):
    """Issued statements, appeals, and plans/scenarios under change control
    (:class:`simlib.ledger.change.ChangeControl`), with roles enforced on every call.

    Parameters
    ----------
    url : str
        SQLAlchemy URL: ``sqlite:///path/ledger.sqlite`` (created on first use; a relative
        path is relative to the current folder) or ``postgresql://...``.
    roster : Roster
        The people and their roles (:meth:`Roster.from_tables`).
    calendar : WorkingCalendar
        Working days for the appeal window and the decision deadline.
    window_working_days : int
        A rep may appeal until the end of this many working days after the issue date.
    decision_working_days : int
        An appeal is overdue when undecided after this many working days from filing.
    tz : str
        The time zone whose dates the deadlines are in.
    clock : callable, optional
        Returns the current aware datetime (tests pass a fixed one).
    """

    def __init__(
        self,
        url: str,
        *,
        roster: Roster,
        calendar: WorkingCalendar,
        window_working_days: int = 3,
        decision_working_days: int = 5,
        tz: str = "Asia/Shanghai",
        clock: Callable[[], dt.datetime] | None = None,
    ):
        if window_working_days < 1 or decision_working_days < 1:
            raise ValueError("the appeal window and the decision deadline need >= 1 working day")
        self.url = str(url)
        self.roster = roster
        self.calendar = calendar
        self.window_working_days = int(window_working_days)
        self.decision_working_days = int(decision_working_days)
        self.tz = ZoneInfo(tz)
        self._clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.engine = ledger_engine(self.url)
        self._dialect = self.engine.dialect.name
        # The schema is Alembic's (simlib.ledger.migrations): at head, nothing to lock;
        # otherwise migrate under the write lock, where the check is made again, so two
        # processes opening a new ledger at once create it once.
        try:
            with self._read() as conn:
                behind = migrations.needs_upgrade(conn)
            if behind:
                with self._write() as tx:
                    migrations.upgrade(tx.conn)
        except BaseException:
            self.engine.dispose()
            raise

    def __repr__(self) -> str:
        return f"Ledger({self.engine.url.render_as_string(hide_password=True)})"

    def close(self) -> None:
        self.engine.dispose()

    # ------------------------------------------------------------------ plumbing

    def _now(self) -> dt.datetime:
        now = self._clock()
        if now.tzinfo is None:
            raise ValueError("the ledger's clock must give timezone-aware times")
        return now.astimezone(dt.UTC)

    def today(self) -> dt.date:
        """Today's date in the ledger's time zone (by its clock)."""
        return self.local_date(self._now())

    def local_date(self, at: dt.datetime) -> dt.date:
        """The date of ``at`` in the ledger's time zone (what deadlines count in)."""
        return at.astimezone(self.tz).date()

    @contextmanager
    def _write(self) -> Iterator[_Tx]:
        with self.engine.connect() as conn:
            conn.execution_options(ledger_write=True)
            with conn.begin():
                if self._dialect == "postgresql":
                    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK})
                yield _Tx(conn, self._now())

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn, conn.begin():
            yield conn

    def _person(self, who: str | Person) -> Person:
        if isinstance(who, Person):
            return who
        return self.roster.resolve(who)

    def _names(self, person_id: str) -> tuple[str, str]:
        return self.roster.name_of(person_id, "en"), self.roster.name_of(person_id, "zh-CN")

    def _add_working_days(self, day: dt.date, n: int) -> dt.date:
        return self.calendar.add_working_days(day, n).date()

    # ------------------------------------------------------------------ statements

    def issue(
        self,
        statements: Iterable,
        *,
        actor: str | Person,
        plan_hash: str,
        data_fingerprint: str,
        reason: str = "",
    ) -> IssueResult:
        """Store each statement as a version, all in one transaction (all or nothing).

        ``statements`` is a :class:`simlib.plans.StatementSet` (or any iterable of
        :class:`simlib.plans.Statement`). A statement whose content (lines and payable,
        with the adjustments of decided appeals carried over) equals its latest version
        is left alone; changed content becomes version n + 1, and its event records the
        line-by-line difference.
        """
        person = self._person(actor)
        if not self.roster.may_issue(person):
            raise Forbidden(
                f"{person.name}'s role is {person.role}; only a director or an admin issues "
                "statements",
                f"{person.display('zh-CN')}的角色是{_role_zh(person.role)}；只有总监或管理员可以"
                "发布对账单",
            )
        items = list(statements)
        if not items:
            raise InvalidRequest("no statements to issue", "没有要发布的对账单")
        seen: set[tuple[str, str, str]] = set()
        for st in items:
            key = (st.plan, st.rep_id, st.period)
            if key in seen:
                raise InvalidRequest(
                    f"two statements for {st.rep_id} {st.period} under {st.plan} in one batch",
                    f"同一批次中 {st.rep_id} {st.period}（{st.plan}）有两份对账单",
                )
            seen.add(key)
        batch = uuid.uuid4().hex
        issued: list[int] = []
        unchanged: list[int] = []
        with self._write() as tx:
            for st in items:
                lines = [
                    {"kind": ln.kind, "text": ln.text, "cents": int(ln.cents)} for ln in st.lines
                ]
                adj = self._adjustment_lines(tx.conn, st.plan, st.rep_id, st.period)
                prev = self._latest_row(tx.conn, st.plan, st.rep_id, st.period)
                new_id = self._store_version(
                    tx,
                    plan=st.plan,
                    rep_id=st.rep_id,
                    period=st.period,
                    currency=st.currency,
                    lines=lines + adj,
                    payable_cents=int(st.payable_cents) + sum(a["cents"] for a in adj),
                    plan_hash=plan_hash,
                    data_fingerprint=data_fingerprint,
                    batch=batch,
                    actor=person,
                    prev=prev,
                    reason=reason,
                )
                (issued if new_id is not None else unchanged).append(
                    new_id if new_id is not None else prev.id
                )
            if issued:
                tx.append(
                    actor=person,
                    kind="batch.issued",
                    object_type="batch",
                    object_id=batch,
                    reason=reason,
                    after={"statements": issued, "unchanged": unchanged},
                )
        return IssueResult(
            batch if issued else None,
            tuple(self.statement(i) for i in issued),
            tuple(unchanged),
        )

    def _store_version(
        self,
        tx: _Tx,
        *,
        plan,
        rep_id,
        period,
        currency,
        lines,
        payable_cents,
        plan_hash,
        data_fingerprint,
        batch,
        actor,
        prev,
        reason,
    ) -> int | None:
        """Insert a new version unless the content equals ``prev``'s; its id or None."""
        h = content_hash(plan, rep_id, period, currency, lines, payable_cents)
        if prev is not None and prev.content_hash == h:
            return None
        sid = tx.next_id(S.statements)
        seq = tx.seq + 1
        row = {
            "id": sid,
            "plan": plan,
            "rep_id": rep_id,
            "period": period,
            "version": 1 if prev is None else int(prev.version) + 1,
            "currency": currency,
            "payable_cents": int(payable_cents),
            "content_hash": h,
            "plan_hash": plan_hash,
            "data_fingerprint": data_fingerprint,
            "batch": batch,
            "issued_at": tx.now,
            "issued_by": actor.id,
            "event_seq": seq,
        }
        numbered = [dict(line_no=i + 1, **ln) for i, ln in enumerate(lines)]
        before: dict = {}
        after = {"statement": {k: jsonable(v) for k, v in row.items()}, "lines": numbered}
        if prev is not None:
            old = self._lines(tx.conn, prev.id)
            before = {"statement": _row_json(prev), "lines": old}
            after["diff"] = line_diff(old, numbered)
        tx.append(
            actor=actor,
            kind="statement.issued" if prev is None else "statement.reissued",
            object_type="statement",
            object_id=str(sid),
            rep_id=rep_id,
            period=period,
            reason=reason,
            before=before,
            after=after,
        )
        tx.conn.execute(insert(S.statements), [row])
        if numbered:
            tx.conn.execute(
                insert(S.statement_lines), [dict(statement_id=sid, **ln) for ln in numbered]
            )
        return sid

    @staticmethod
    def _latest_row(conn, plan, rep_id, period):
        t = S.statements
        return conn.execute(
            select(t)
            .where(and_(t.c.plan == plan, t.c.rep_id == rep_id, t.c.period == period))
            .order_by(t.c.version.desc())
            .limit(1)
        ).first()

    @staticmethod
    def _lines(conn, statement_id: int) -> list[dict]:
        t = S.statement_lines
        rows = conn.execute(
            select(t.c.line_no, t.c.kind, t.c.text, t.c.cents)
            .where(t.c.statement_id == statement_id)
            .order_by(t.c.line_no)
        ).all()
        return [
            {"line_no": r.line_no, "kind": r.kind, "text": r.text, "cents": int(r.cents)}
            for r in rows
        ]

    @staticmethod
    def _adjustment_lines(conn, plan, rep_id, period) -> list[dict]:
        """The lines accepted appeals added, in the order they were decided."""
        a, o = S.appeals, S.appeal_outcomes
        rows = conn.execute(
            select(a.c.id, o.c.outcome, o.c.cents, o.c.reason)
            .join(o, o.c.appeal_id == a.c.id)
            .where(
                and_(
                    a.c.plan == plan,
                    a.c.rep_id == rep_id,
                    a.c.period == period,
                    o.c.outcome.in_(("accepted", "partly_accepted")),
                )
            )
            .order_by(o.c.event_seq)
        ).all()
        return [_adjustment(r.id, r.outcome, int(r.cents), r.reason) for r in rows]

    def _statement_from(self, conn, row) -> IssuedStatement:
        return IssuedStatement(
            id=int(row.id),
            plan=row.plan,
            rep_id=row.rep_id,
            period=row.period,
            version=int(row.version),
            currency=row.currency,
            payable_cents=int(row.payable_cents),
            content_hash=row.content_hash,
            plan_hash=row.plan_hash,
            data_fingerprint=row.data_fingerprint,
            batch=row.batch,
            issued_at=row.issued_at,
            issued_by=row.issued_by,
            lines=tuple(
                IssuedLine(ln["line_no"], ln["kind"], ln["text"], ln["cents"])
                for ln in self._lines(conn, row.id)
            ),
        )

    def _check_sees(self, viewer, rep_id: str) -> None:
        if viewer is None:
            return
        p = self._person(viewer)
        if not self.roster.may_see(p, rep_id):
            en, zh = self._names(rep_id)
            raise Forbidden(
                f"{p.name} may not see {en}'s records (a rep sees their own, a manager "
                "their team's)",
                f"{p.display('zh-CN')}无权查看{zh}的记录（销售只看自己的，经理只看本团队的）",
            )

    def statement(self, statement_id: int, *, viewer: str | Person | None = None):
        """One issued version, with its lines; ``viewer`` must be allowed to see it."""
        with self._read() as conn:
            row = conn.execute(
                select(S.statements).where(S.statements.c.id == int(statement_id))
            ).first()
            if row is None:
                raise NotFound(
                    f"no issued statement #{statement_id}", f"没有编号为 #{statement_id} 的对账单"
                )
            self._check_sees(viewer, row.rep_id)
            return self._statement_from(conn, row)

    def latest(self, plan: str, rep_id: str, period: str, *, viewer=None) -> IssuedStatement:
        """The latest version of a rep's statement for a period under a plan."""
        self._check_sees(viewer, rep_id)
        with self._read() as conn:
            row = self._latest_row(conn, plan, rep_id, period)
            if row is None:
                en, zh = self._names(rep_id)
                raise NotFound(
                    f"no statement of {en} for {period} under {plan} has been issued",
                    f"{zh} {period}（{plan}）的对账单尚未发布",
                )
            return self._statement_from(conn, row)

    def statements(
        self, *, viewer=None, rep: str | None = None, period: str | None = None, latest=True
    ) -> list[IssuedStatement]:
        """Issued statements the viewer may see (latest versions only by default)."""
        t = S.statements
        q = select(t).order_by(t.c.period, t.c.rep_id, t.c.plan, t.c.version)
        if rep is not None:
            self._check_sees(viewer, rep)
            q = q.where(t.c.rep_id == rep)
        if period is not None:
            q = q.where(t.c.period == period)
        with self._read() as conn:
            rows = conn.execute(q).all()
            if latest:
                last = {}
                for r in rows:
                    last[(r.plan, r.rep_id, r.period)] = r
                rows = list(last.values())
            rows = [r for r in rows if self._visible(viewer, r.rep_id)]
            return [self._statement_from(conn, r) for r in rows]

    def _visible(self, viewer, rep_id) -> bool:
        return viewer is None or self.roster.may_see(self._person(viewer), rep_id)

    # ------------------------------------------------------------------ appeals

    def file(self, actor: str | Person, statement_id: int, line_no: int, reason: str) -> Appeal:
        """A rep appeals one line of their own latest statement, within the window."""
        person = self._person(actor)
        reason = (reason or "").strip()
        if not reason:
            raise InvalidRequest(
                "an appeal needs a reason: say what is wrong with the line",
                "申诉需要理由：请说明该行哪里有误",
            )
        with self._write() as tx:
            st = tx.conn.execute(
                select(S.statements).where(S.statements.c.id == int(statement_id))
            ).first()
            if st is None:
                raise NotFound(
                    f"no issued statement #{statement_id}", f"没有编号为 #{statement_id} 的对账单"
                )
            if person.id != st.rep_id:
                en, zh = self._names(st.rep_id)
                raise Forbidden(
                    f"statement #{st.id} is {en}'s; {person.name} may appeal only their own "
                    "statements",
                    f"对账单 #{st.id} 属于{zh}；{person.display('zh-CN')}只能对自己的对账单申诉",
                )
            latest = self._latest_row(tx.conn, st.plan, st.rep_id, st.period)
            if latest.id != st.id:
                day = self.local_date(latest.issued_at)
                raise InvalidRequest(
                    f"statement #{st.id} (version {st.version}) was replaced by version "
                    f"{latest.version} (#{latest.id}) on {day}; appeal a line of #{latest.id}",
                    f"对账单 #{st.id}（第 {st.version} 版）已于 {day} 被第 {latest.version} 版"
                    f"（#{latest.id}）取代；请对 #{latest.id} 的行申诉",
                )
            lines = self._lines(tx.conn, st.id)
            if not any(ln["line_no"] == int(line_no) for ln in lines):
                raise NotFound(
                    f"statement #{st.id} has lines 1 to {len(lines)}; there is no line {line_no}",
                    f"对账单 #{st.id} 只有第 1 至 {len(lines)} 行，没有第 {line_no} 行",
                )
            today = self.local_date(tx.now)
            issued_on = self.local_date(st.issued_at)
            window_ends = self._add_working_days(issued_on, self.window_working_days)
            if today > window_ends:
                raise DeadlinePassed(
                    f"the appeal window of statement #{st.id} (issued {issued_on}) closed at "
                    f"the end of {window_ends}, {self.window_working_days} working days after "
                    f"issue; today is {today}",
                    f"对账单 #{st.id}（{issued_on} 发布）的申诉期已于 {window_ends} 结束"
                    f"（发布后 {self.window_working_days} 个工作日）；今天是 {today}",
                )
            a, o = S.appeals, S.appeal_outcomes
            open_ = tx.conn.execute(
                select(a.c.id)
                .outerjoin(o, o.c.appeal_id == a.c.id)
                .where(
                    and_(
                        a.c.statement_id == st.id,
                        a.c.line_no == int(line_no),
                        o.c.outcome.is_(None),
                    )
                )
            ).first()
            if open_ is not None:
                raise InvalidRequest(
                    f"appeal #{open_.id} on line {line_no} of statement #{st.id} is still open",
                    f"对账单 #{st.id} 第 {line_no} 行的申诉 #{open_.id} 尚未结案",
                )
            aid = tx.next_id(a)
            row = {
                "id": aid,
                "statement_id": int(st.id),
                "plan": st.plan,
                "rep_id": st.rep_id,
                "period": st.period,
                "line_no": int(line_no),
                "reason": reason,
                "filed_by": person.id,
                "filed_at": tx.now,
                "window_ends": window_ends.isoformat(),
                "decision_due": self._add_working_days(
                    today, self.decision_working_days
                ).isoformat(),
                "event_seq": tx.seq + 1,
            }
            tx.append(
                actor=person,
                kind="appeal.filed",
                object_type="appeal",
                object_id=str(aid),
                rep_id=st.rep_id,
                period=st.period,
                reason=reason,
                after={"appeal": {k: jsonable(v) for k, v in row.items()}},
            )
            tx.conn.execute(insert(a), [row])
        return self.appeal(aid)

    def _open_appeal_for(self, tx: _Tx, person: Person, appeal_id: int, deciding: bool):
        """The appeal row, checked: exists, the person may act on it, not closed yet."""
        row = tx.conn.execute(select(S.appeals).where(S.appeals.c.id == int(appeal_id))).first()
        if row is None:
            raise NotFound(f"no appeal #{appeal_id}", f"没有编号为 #{appeal_id} 的申诉")
        if deciding and not self.roster.may_decide(person, row.rep_id):
            rep = self.roster.get(row.rep_id)
            en, zh = self._names(row.rep_id)
            if person.id == row.rep_id:
                why_en, why_zh = (
                    "nobody decides an appeal on their own statement",
                    ("不能裁决自己对账单的申诉"),
                )
            elif person.role == "manager":
                team = rep.team_id if rep else None
                why_en = (
                    f"{person.name} manages {self.roster.team_name(person.team_id)}, not "
                    f"{en}'s team {self.roster.team_name(team)}"
                )
                why_zh = (
                    f"{person.display('zh-CN')}管理{self.roster.team_name(person.team_id, 'zh-CN')}"
                    f"，不是{zh}所在的{self.roster.team_name(team, 'zh-CN')}"
                )
            else:
                why_en = f"{person.name}'s role is {person.role}"
                why_zh = f"{person.display('zh-CN')}的角色是{_role_zh(person.role)}"
            raise Forbidden(
                f"appeal #{row.id} is decided by {en}'s manager or a director; {why_en}",
                f"申诉 #{row.id} 应由{zh}的经理或总监裁决；{why_zh}",
            )
        done = tx.conn.execute(
            select(S.appeal_outcomes).where(S.appeal_outcomes.c.appeal_id == row.id)
        ).first()
        if done is not None:
            raise _already(row.id, done, self)
        return row

    def start_review(self, actor: str | Person, appeal_id: int) -> Appeal:
        """The decider takes the appeal up: filed → under review."""
        person = self._person(actor)
        with self._write() as tx:
            row = self._open_appeal_for(tx, person, appeal_id, deciding=True)
            r = S.appeal_reviews
            have = tx.conn.execute(select(r).where(r.c.appeal_id == row.id)).first()
            if have is not None:
                en, zh = self._names(have.actor)
                raise InvalidRequest(
                    f"appeal #{row.id} is already under review by {en} since "
                    f"{_when(have.at, self.tz)}",
                    f"申诉 #{row.id} 已由{zh}于 {_when(have.at, self.tz)} 开始审核",
                )
            rev = {
                "appeal_id": int(row.id),
                "actor": person.id,
                "at": tx.now,
                "event_seq": tx.seq + 1,
            }
            tx.append(
                actor=person,
                kind="appeal.review_started",
                object_type="appeal",
                object_id=str(row.id),
                rep_id=row.rep_id,
                period=row.period,
                before={"state": "filed"},
                after={"state": "under_review", "review": {k: jsonable(v) for k, v in rev.items()}},
            )
            tx.conn.execute(insert(r), [rev])
        return self.appeal(row.id)

    def decide(
        self, actor: str | Person, appeal_id: int, outcome: str, cents: int, reason: str
    ) -> Appeal:
        """Decide an appeal; an accepted (or partly accepted) one re-issues the statement
        with one adjustment line of ``cents``.

        Two deciders at once: the first to commit wins, the other gets
        :class:`AlreadyDecided` naming who decided and when.
        """
        person = self._person(actor)
        if outcome not in OUTCOMES:
            raise InvalidRequest(
                f"outcome {outcome!r} is not one of {', '.join(OUTCOMES)}",
                f"裁决结果“{outcome}”无效；可选：{'、'.join(_OUTCOME_ZH[o] for o in OUTCOMES)}",
            )
        reason = (reason or "").strip()
        if not reason:
            raise InvalidRequest(
                "a decision needs a reason the rep can read", "裁决需要写明理由，供销售查看"
            )
        if isinstance(cents, bool) or int(cents) != cents:
            raise InvalidRequest(f"cents must be whole; got {cents}", f"金额须为整分；得到 {cents}")
        cents = int(cents)
        if outcome == "rejected" and cents != 0:
            raise InvalidRequest(
                f"a rejected appeal changes nothing; got an amount of {yuan(cents)}",
                f"驳回的申诉不调整金额；得到 {yuan(cents)}",
            )
        if outcome != "rejected" and cents == 0:
            raise InvalidRequest(
                f"an {outcome.replace('_', ' ')} appeal adjusts the statement: give the "
                "amount (not 0), or reject it",
                f"{_OUTCOME_ZH[outcome]}的申诉需给出调整金额（不能为 0），否则请驳回",
            )
        with self._write() as tx:
            row = self._open_appeal_for(tx, person, appeal_id, deciding=True)
            reissued = None
            seq_decided = tx.seq + 1
            out = {
                "appeal_id": int(row.id),
                "outcome": outcome,
                "cents": cents,
                "actor": person.id,
                "at": tx.now,
                "reason": reason,
                "reissued_statement_id": None,
                "event_seq": seq_decided,
            }
            if outcome != "rejected":
                latest = self._latest_row(tx.conn, row.plan, row.rep_id, row.period)
                old = self._lines(tx.conn, latest.id)
                lines = [{k: ln[k] for k in ("kind", "text", "cents")} for ln in old]
                lines.append(_adjustment(row.id, outcome, cents, reason))
                # The outcome event comes after the re-issue: seq order = decision order.
                reissued = self._store_version(
                    tx,
                    plan=row.plan,
                    rep_id=row.rep_id,
                    period=row.period,
                    currency=latest.currency,
                    lines=lines,
                    payable_cents=int(latest.payable_cents) + cents,
                    plan_hash=latest.plan_hash,
                    data_fingerprint=latest.data_fingerprint,
                    batch=latest.batch,
                    actor=person,
                    prev=latest,
                    reason=f"appeal #{row.id} {outcome.replace('_', ' ')}: {reason}",
                )
                out["reissued_statement_id"] = reissued
                out["event_seq"] = tx.seq + 1
            tx.append(
                actor=person,
                kind="appeal.decided",
                object_type="appeal",
                object_id=str(row.id),
                rep_id=row.rep_id,
                period=row.period,
                reason=reason,
                before={"state": "open"},
                after={"state": outcome, "outcome": {k: jsonable(v) for k, v in out.items()}},
            )
            try:
                tx.conn.execute(insert(S.appeal_outcomes), [out])
            except IntegrityError:  # only if a writer bypassed the lock
                raise AlreadyDecided(
                    f"appeal #{row.id} was already decided", f"申诉 #{row.id} 已被裁决"
                ) from None
        return self.appeal(row.id)

    def withdraw(self, actor: str | Person, appeal_id: int, reason: str = "") -> Appeal:
        """The rep who filed an appeal withdraws it while it is not decided."""
        person = self._person(actor)
        with self._write() as tx:
            row = self._open_appeal_for(tx, person, appeal_id, deciding=False)
            if person.id != row.filed_by:
                en, zh = self._names(row.filed_by)
                raise Forbidden(
                    f"appeal #{row.id} was filed by {en}; only they may withdraw it",
                    f"申诉 #{row.id} 由{zh}提出，只有本人可以撤回",
                )
            out = {
                "appeal_id": int(row.id),
                "outcome": "withdrawn",
                "cents": 0,
                "actor": person.id,
                "at": tx.now,
                "reason": (reason or "").strip(),
                "reissued_statement_id": None,
                "event_seq": tx.seq + 1,
            }
            tx.append(
                actor=person,
                kind="appeal.withdrawn",
                object_type="appeal",
                object_id=str(row.id),
                rep_id=row.rep_id,
                period=row.period,
                reason=out["reason"],
                before={"state": "open"},
                after={"state": "withdrawn", "outcome": {k: jsonable(v) for k, v in out.items()}},
            )
            tx.conn.execute(insert(S.appeal_outcomes), [out])
        return self.appeal(row.id)

    def _appeal_query(self):
        a, r, o = S.appeals, S.appeal_reviews, S.appeal_outcomes
        return (
            select(
                a,
                r.c.actor.label("reviewer"),
                r.c.at.label("review_started_at"),
                o.c.outcome,
                o.c.cents,
                o.c.actor.label("decided_by"),
                o.c.at.label("decided_at"),
                o.c.reason.label("outcome_reason"),
                o.c.reissued_statement_id,
            )
            .outerjoin(r, r.c.appeal_id == a.c.id)
            .outerjoin(o, o.c.appeal_id == a.c.id)
            .order_by(a.c.id)
        )

    @staticmethod
    def _appeal_from(row) -> Appeal:
        return Appeal(
            id=int(row.id),
            statement_id=int(row.statement_id),
            plan=row.plan,
            rep_id=row.rep_id,
            period=row.period,
            line_no=int(row.line_no),
            reason=row.reason,
            filed_by=row.filed_by,
            filed_at=row.filed_at,
            window_ends=dt.date.fromisoformat(row.window_ends),
            decision_due=dt.date.fromisoformat(row.decision_due),
            reviewer=row.reviewer,
            review_started_at=row.review_started_at,
            outcome=row.outcome,
            cents=int(row.cents or 0),
            decided_by=row.decided_by,
            decided_at=row.decided_at,
            outcome_reason=row.outcome_reason,
            reissued_statement_id=(
                None if row.reissued_statement_id is None else int(row.reissued_statement_id)
            ),
        )

    def appeal(self, appeal_id: int, *, viewer=None) -> Appeal:
        """One appeal with its current state."""
        with self._read() as conn:
            row = conn.execute(self._appeal_query().where(S.appeals.c.id == int(appeal_id))).first()
        if row is None:
            raise NotFound(f"no appeal #{appeal_id}", f"没有编号为 #{appeal_id} 的申诉")
        self._check_sees(viewer, row.rep_id)
        return self._appeal_from(row)

    def appeals(
        self,
        *,
        viewer=None,
        rep: str | None = None,
        period: str | None = None,
        open_only: bool = False,
    ) -> list[Appeal]:
        """Appeals the viewer may see, oldest first."""
        a = S.appeals
        q = self._appeal_query()
        if rep is not None:
            self._check_sees(viewer, rep)
            q = q.where(a.c.rep_id == rep)
        if period is not None:
            q = q.where(a.c.period == period)
        if open_only:
            q = q.where(S.appeal_outcomes.c.outcome.is_(None))
        with self._read() as conn:
            rows = conn.execute(q).all()
        return [self._appeal_from(r) for r in rows if self._visible(viewer, r.rep_id)]

    def overdue(self, today: dt.date | None = None, *, viewer=None) -> list[Appeal]:
        """Open appeals whose decision deadline has passed by ``today`` (local date)."""
        today = today or self.local_date(self._now())
        return [a for a in self.appeals(viewer=viewer, open_only=True) if a.decision_due < today]

    # ------------------------------------------------------------------ the trail

    def log(
        self,
        *,
        viewer=None,
        rep: str | None = None,
        period: str | None = None,
        object: str | None = None,  # noqa: A002 - the CLI's word
    ) -> list[Event]:
        """The trail, oldest first; ``object`` is a type (``appeal``) or ``appeal:12``."""
        e = S.events
        q = select(e).order_by(e.c.seq)
        if rep is not None:
            self._check_sees(viewer, rep)
            q = q.where(e.c.rep_id == rep)
        if period is not None:
            q = q.where(e.c.period == period)
        if object:
            kind, _, oid = str(object).partition(":")
            q = q.where(e.c.object_type == kind.strip())
            if oid.strip():
                q = q.where(e.c.object_id == oid.strip().lstrip("#"))
        with self._read() as conn:
            rows = conn.execute(q).all()
        out = []
        for r in rows:
            if viewer is not None:
                if r.rep_id is None:
                    if self._person(viewer).role not in ("director", "admin"):
                        continue
                elif not self._visible(viewer, r.rep_id):
                    continue
            out.append(_event_from(r))
        return out

    def history(self, rep_id: str, *, viewer=None) -> RepHistory:
        """Everything about one rep, rebuilt from the rows: versions, appeals, events."""
        self._check_sees(viewer, rep_id)
        t = S.statements
        with self._read() as conn:
            rows = conn.execute(
                select(t).where(t.c.rep_id == rep_id).order_by(t.c.period, t.c.plan, t.c.version)
            ).all()
            sts = tuple(self._statement_from(conn, r) for r in rows)
            aps = conn.execute(self._appeal_query().where(S.appeals.c.rep_id == rep_id)).all()
            evs = conn.execute(
                select(S.events).where(S.events.c.rep_id == rep_id).order_by(S.events.c.seq)
            ).all()
        return RepHistory(
            rep_id, sts, tuple(self._appeal_from(r) for r in aps), tuple(map(_event_from, evs))
        )

    def verify(self) -> Verification:
        """Walk the chain and check every row against the event that carries it.

        Names the first broken event: a gap in ``seq``, a ``prev_hash`` that is not the
        previous event's hash, a hash that does not match the event's content, or a
        statement/appeal row that differs from (or is missing from) its event.
        """
        expect: dict[str, dict] = {
            "statements": {},
            "lines": {},
            "appeals": {},
            "reviews": {},
            "outcomes": {},
        }
        n = 0
        prev = GENESIS
        with self._read() as conn:
            for r in conn.execute(select(S.events).order_by(S.events.c.seq)):
                n += 1
                if int(r.seq) != n:
                    return Verification(False, n, n, f"event {n} is missing (next is {r.seq})")
                if r.prev_hash != prev:
                    return Verification(
                        False, n, n, f"its previous hash is not the hash of event {n - 1}"
                    )
                fields = {c: jsonable(getattr(r, c)) for c in _HASHED}
                if event_hash(prev, fields) != r.hash:
                    return Verification(
                        False, n, n, "its content does not match its hash (edited after writing)"
                    )
                prev = r.hash
                try:
                    after = json.loads(r.after)
                except ValueError:
                    return Verification(False, n, n, "its after JSON is not JSON")
                if r.object_type == "statement":
                    sid = after["statement"]["id"]
                    expect["statements"][sid] = (n, after["statement"])
                    expect["lines"][sid] = (n, after["lines"])
                elif r.kind == "appeal.filed":
                    expect["appeals"][after["appeal"]["id"]] = (n, after["appeal"])
                elif r.kind == "appeal.review_started":
                    expect["reviews"][after["review"]["appeal_id"]] = (n, after["review"])
                elif r.kind in ("appeal.decided", "appeal.withdrawn"):
                    expect["outcomes"][after["outcome"]["appeal_id"]] = (n, after["outcome"])
            tables = {
                "statements": (S.statements, "id"),
                "appeals": (S.appeals, "id"),
                "reviews": (S.appeal_reviews, "appeal_id"),
                "outcomes": (S.appeal_outcomes, "appeal_id"),
            }
            for name, (table, pk) in tables.items():
                have = {
                    int(getattr(r, pk)): {k: jsonable(v) for k, v in r._mapping.items()}
                    for r in conn.execute(select(table))
                }
                bad = _compare(expect[name], have, name)
                if bad:
                    return Verification(False, n, *bad)
            lines: dict[int, list] = {}
            for r in conn.execute(
                select(S.statement_lines).order_by(
                    S.statement_lines.c.statement_id, S.statement_lines.c.line_no
                )
            ):
                lines.setdefault(int(r.statement_id), []).append(
                    {"line_no": r.line_no, "kind": r.kind, "text": r.text, "cents": int(r.cents)}
                )
            for sid in expect["lines"]:
                lines.setdefault(sid, [])
            bad = _compare(expect["lines"], lines, "statement lines")
            if bad:
                return Verification(False, n, *bad)
        return Verification(True, n)


_HASHED = (
    "seq",
    "at",
    "actor",
    "role",
    "kind",
    "object_type",
    "object_id",
    "rep_id",
    "period",
    "reason",
    "before",
    "after",
)


def _compare(expected: dict, have: dict, what: str) -> tuple[int, str] | None:
    """The first (event seq, problem) where rows and their events disagree, or None."""
    problems = []
    for key, (seq, row) in expected.items():
        if key not in have:
            problems.append((seq, f"{what} row {key} written by this event is missing"))
        elif have[key] != row:
            problems.append((seq, f"{what} row {key} differs from what this event recorded"))
    extra = sorted(set(have) - set(expected))
    if extra:
        problems.append((10**18, f"{what} row {extra[0]} has no event (inserted off the trail)"))
    if not problems:
        return None
    seq, msg = min(problems)
    return (None if seq == 10**18 else seq), msg


def _row_json(row) -> dict:
    return {k: jsonable(v) for k, v in row._mapping.items()}


def _event_from(r) -> Event:
    return Event(
        seq=int(r.seq),
        at=r.at,
        actor=r.actor,
        role=r.role,
        kind=r.kind,
        object_type=r.object_type,
        object_id=r.object_id,
        rep_id=r.rep_id,
        period=r.period,
        reason=r.reason,
        before=json.loads(r.before),
        after=json.loads(r.after),
        hash=r.hash,
    )


def _adjustment(appeal_id: int, outcome: str, cents: int, reason: str) -> dict:
    word = outcome.replace("_", " ")
    return {"kind": "adjustment", "text": f"appeal #{appeal_id} {word}: {reason}", "cents": cents}


def _when(at: dt.datetime, tz) -> str:
    return at.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def _role_zh(role: str) -> str:
    return {"rep": "销售", "manager": "经理", "director": "总监", "admin": "管理员"}.get(role, role)


def _already(appeal_id: int, done, ledger: Ledger) -> LedgerError:
    en, zh = ledger._names(done.actor)
    when = _when(done.at, ledger.tz)
    if done.outcome == "withdrawn":
        return AlreadyDecided(
            f"appeal #{appeal_id} was withdrawn by {en} at {when}",
            f"申诉 #{appeal_id} 已由{zh}于 {when} 撤回",
        )
    return AlreadyDecided(
        f"appeal #{appeal_id} was already decided by {en} at {when} "
        f"({done.outcome.replace('_', ' ')})",
        f"申诉 #{appeal_id} 已由{zh}于 {when} 裁决（{_OUTCOME_ZH[done.outcome]}）",
    )
