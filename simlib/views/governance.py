"""What the reports show from the governance ledger (issue 15, SPEC R17): a team's
appeals of a month with their outcomes, a rep's own appeals, a rep's acknowledged plan.

The reports read the ledger as the system that produces them, not as a person:
:func:`team_appeals` reads with no viewer and keeps the reps of the team's node and
everything under it (the rows the team's manager sees, and the same for a team whose
manager is not in the org data); :func:`rep_appeals` and :func:`plan_acknowledgement`
read as the rep themself, so the ledger's own rule (a rep sees only their own records)
guards the rep pack.

Everything is a pure function of the ledger's content and the arguments: "overdue" is
judged on an explicit day (the reports pass the later of the data's last day and the
date of the ledger's last event, never the wall clock), so a report rendered twice from
the same data and ledger is the same page. A ledger that has not been created yet
(:func:`simlib.ledger.params.ledger_exists`) is never created by a report: the sections
then say that no statements have been issued.

The state and outcome names repeat those of :mod:`simlib.cli.ledger` (a view may not
import the command line).
"""

from __future__ import annotations

import datetime as dt
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pandas as pd

from simlib.i18n import escape as _esc
from simlib.i18n import translator
from simlib.ledger.records import APPEAL_STATES
from simlib.present import HTML, MISSING, STATUS_COLORS, Col, Units
from simlib.present import table as present_table

__all__ = [
    "STATE_NAMES",
    "LedgerHead",
    "PlanAcknowledgement",
    "RepAppeals",
    "Section",
    "TeamAppeals",
    "judged_on",
    "ledger_head",
    "open_report_ledger",
    "pay_units",
    "plan_acknowledgement",
    "plan_acknowledgement_html",
    "plan_title",
    "rep_appeals",
    "team_appeals",
]

#: Appeal states as people read them (the same words as ``simlib appeals``).
STATE_NAMES = APPEAL_STATES

_t = translator(
    {
        "appeals": ("Appeals", "申诉"),
        "my_appeals": ("My open appeals", "我的申诉"),
        "plan_ack": ("Plan acknowledged", "方案确认"),
        "no_ledger": (
            "No statements have been issued to the ledger yet, so there are no appeals.",
            "账本中尚未发布对账单，因此没有申诉。",
        ),
        "no_ledger_plan": (
            "No plan has been approved in the ledger yet: there is nothing to acknowledge.",
            "账本中尚无批准的方案，暂无需确认。",
        ),
        "team_none": (
            "No appeals from the team were filed or decided in {m}, and none is open.",
            "{m}团队没有新提交或已裁决的申诉，也没有未结的申诉。",
        ),
        "team_summary": (
            "{m}: {filed} filed, {decided} decided (adjustments accepted {amount}), "
            "{open} open, {overdue} overdue.",
            "{m}：提交 {filed} 件，裁决 {decided} 件（接受的调整合计 {amount}），"
            "未结 {open} 件，逾期 {overdue} 件。",
        ),
        "withdrawn_note": (" {n} withdrawn.", "另有 {n} 件撤回。"),
        "as_of_note": (
            "From the ledger as of {at}; overdue: not decided by the decision due date "
            "(judged on {d}).",
            "数据取自截至 {at} 的账本；逾期：过了裁决截止日仍未裁决（按 {d} 判断）。",
        ),
        "overdue_note": (
            "Overdue: not decided by the decision due date (judged on {d}).",
            "逾期：过了裁决截止日仍未裁决（按 {d} 判断）。",
        ),
        "open_title": ("Open", "未结"),
        "open_none": ("You have no open appeal.", "你没有未结的申诉。"),
        "decided_title": ("Decided since {d}", "{d} 以来已结的申诉"),
        "decided_none": (
            "No appeal of yours has been decided since {d}.",
            "{d} 以来没有已结的申诉。",
        ),
        "rep_summary": (
            "{open} open{late}, {decided} decided since {d}.",
            "未结 {open} 件{late}，{d} 以来已结 {decided} 件。",
        ),
        "rep_late": (" ({n} overdue)", "（逾期 {n} 件）"),
        "overdue": ("overdue", "已逾期"),
        "ack_current": (
            "You acknowledged version {v} of {plan} on {d}: the approved version.",
            "你已于 {d} 确认{plan}第 {v} 版，即当前批准的版本。",
        ),
        "ack_behind": (
            "You acknowledged version {a} of {plan} on {da}; version {v}, approved on {dv}, "
            "is not yet acknowledged — run {cmd}",
            "你已于 {da} 确认{plan}第 {a} 版；{dv} 批准的第 {v} 版尚未确认——请运行 {cmd}",
        ),
        "ack_never": (
            "Version {v} of {plan}, approved on {dv}, is not yet acknowledged — run {cmd}",
            "{plan}第 {v} 版已于 {dv} 批准，尚未确认——请运行 {cmd}",
        ),
        "ack_no_approved": (
            "{plan} has no approved version in the ledger yet: there is nothing to acknowledge.",
            "{plan}在账本中尚无批准的版本，暂无需确认。",
        ),
        "ack_none_at_all": (
            "You have not acknowledged any plan in the ledger.",
            "你尚未在账本中确认任何方案。",
        ),
        "appeal_line": ("appeal #{n} {outcome}: {reason}", "申诉 #{n} {outcome}：{reason}"),
        "line_no": ("line {n}: {text}", "第 {n} 行：{text}"),
    }
)


# ---------------------------------------------------------------------- display


class Section(HTML):
    """A section of a page: safe HTML in a notebook, its words as plain text elsewhere
    (never the markup)."""

    def __repr__(self) -> str:
        import html as _html

        text = re.sub(r"</(?:h\d|p|tr|li|caption)>|<br\s*/?>", "\n", str(self))
        text = re.sub(r"</t[hd]>", "  ", text)
        text = _html.unescape(re.sub(r"<[^>]+>", "", text))
        return "\n".join(line.strip() for line in text.splitlines() if line.strip())


# ---------------------------------------------------------------------- opening


def _tables_of(data) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The ``reps`` and ``org`` tables of a dataset, or of the facts built from one."""
    tables = getattr(data, "tables", None)
    if tables is not None:
        return data.reps, tables.get("org")
    nodes = getattr(data, "nodes", None)
    org = None
    if nodes is not None:
        cols = [c for c in ("node_id", "parent_id", "level", "name", "name_zh") if c in nodes]
        org = nodes.loc[nodes["level"] != "rep", cols].drop_duplicates("node_id")
        org = org.reset_index(drop=True)
    return data.reps, org


def open_report_ledger(data, url: str = "", *, params_dir: str | Path | None = None):
    """The ledger a report reads, or None when it has not been created yet.

    ``url`` empty: ``$SIMLIB_LEDGER``, else ``ledger_url`` of ``params/appeals.yaml``
    (a relative SQLite path is relative to the folder the report runs in). ``data`` is a
    :class:`simlib.data.Dataset` or the :class:`simlib.tracking.Facts` built from it:
    its people and org tree become the ledger's roster.
    """
    from sqlalchemy.exc import ArgumentError

    from simlib.ledger.params import (
        ledger_exists,
        load_appeal_params,
        open_ledger,
        resolve_ledger_url,
    )

    resolved = resolve_ledger_url(url or None, load_appeal_params(params_dir))
    try:
        exists = ledger_exists(resolved)
    except ArgumentError:
        raise ValueError(
            "the ledger must be a database URL like sqlite:///appeals.sqlite or "
            f"postgresql+psycopg://host/db; got {resolved!r}"
        ) from None
    if not exists:
        return None
    reps, org = _tables_of(data)
    return open_ledger(reps, org, url=resolved, params_dir=params_dir)


@dataclass(frozen=True)
class LedgerHead:
    """How far the ledger goes: its number of events and the time of the last one."""

    events: int = 0
    at: dt.datetime | None = None
    hash: str = ""

    def local_date(self, ledger) -> dt.date | None:
        return None if self.at is None else ledger.local_date(self.at)


def ledger_head(ledger) -> LedgerHead:
    """The last event of the trail (what a report's content depends on)."""
    from sqlalchemy import select

    from simlib.ledger import schema as S

    e = S.events
    with ledger.engine.connect() as conn:
        row = conn.execute(select(e.c.seq, e.c.at, e.c.hash).order_by(e.c.seq.desc()).limit(1))
        row = row.first()
    if row is None:
        return LedgerHead()
    return LedgerHead(int(row.seq), row.at, row.hash)


def judged_on(ledger, data_as_of) -> dt.date:
    """The day "overdue" is judged on: the later of the data's last day and the day of
    the ledger's last event (both inputs of the report, never the wall clock)."""
    day = pd.Timestamp(data_as_of).date()
    last = ledger_head(ledger).local_date(ledger) if ledger is not None else None
    return max(day, last) if last is not None else day


# ---------------------------------------------------------------------- wording


def _state_text(state: str, lang: str) -> str:
    en, zh = STATE_NAMES.get(state, (state, state))
    return zh if lang == "zh-CN" else en


def _line_label(line, lang: str, people: dict[str, Any]) -> str:
    """A statement line in words: its number and text, no person's id in it."""
    from simlib.views.statement import line_text

    if line is None:
        return MISSING
    text = line.text
    m = re.match(r"^appeal #(\d+) (accepted|partly accepted|rejected): (.*)$", text, re.S)
    if m:
        outcome = _state_text(m[2].replace(" ", "_"), lang)
        text = _t("appeal_line", lang, n=m[1], outcome=outcome, reason=m[3])
    else:
        text = line_text(SimpleNamespace(kind=line.kind, text=text, owner_id=None), lang)
    for pid in people:  # a team line names the deal's owner: never an id on a page
        text = text.replace(f" ({pid})", "")
    return _t("line_no", lang, n=line.line_no, text=text)


def _period(period: str, lang: str) -> str:
    from simlib.views.statement import period_label

    return period_label(period, lang)


def _month_text(month: str, lang: str) -> str:
    return _period(month, lang)


def _date(d) -> str:
    return "" if d is None else str(d)[:10]


def pay_units(units: Units) -> Units:
    """The unit of an appeal's amounts: the statement's own, the currency to the cent
    (the page's unit system, its pay scale: an appeal is often a few hundred yuan, which
    a page in 万 or millions would show as 0.05 or 0.0005), stated in every header."""
    return Units(units.lang, scale="yuan", currency=units.currency)


def _nowrap(text) -> str:
    return f'<span style="white-space:nowrap">{_esc(text)}</span>'


def _nowrap_cols(frame: pd.DataFrame, *keys: str) -> pd.DataFrame:
    """``KEY_nw``: the column as one unbroken line (names, dates, states)."""
    out = frame.copy()
    for k in keys:
        out[f"{k}_nw"] = [
            MISSING if v is None or v != v else _nowrap(_date(v) if isinstance(v, dt.date) else v)
            for v in out[k]
        ]
    return out


def _flag(text: str) -> str:
    red = STATUS_COLORS["red"]
    return f'<span style="color:{red};font-weight:600;white-space:nowrap">{_esc(text)}</span>'


# ---------------------------------------------------------------------- rows


_ROW_COLUMNS = [
    "appeal",
    "rep_id",
    "rep",
    "period",
    "period_text",
    "line_no",
    "line",
    "line_cents",
    "reason",
    "filed_on",
    "state",
    "state_text",
    "decision_due",
    "overdue",
    "cents",
    "decided_by",
    "decided_on",
    "decision_reason",
    "decision",
]


def _rows(ledger, appeals, lang: str, on: dt.date) -> pd.DataFrame:
    """One row per appeal, in words: names not ids, the line's text and amount."""
    roster = ledger.roster
    statements: dict[int, Any] = {}
    out = []
    for a in appeals:
        st = statements.get(a.statement_id)
        if st is None:
            st = statements[a.statement_id] = ledger.statement(a.statement_id)
        line = st.line(a.line_no)
        decided_on = ledger.local_date(a.decided_at) if a.decided_at is not None else None
        decider = roster.name_of(a.decided_by, lang) if a.decided_by else None
        overdue = a.is_open and a.decision_due < on
        if a.is_open:
            decision = None
        else:
            why = (a.outcome_reason or "").strip()
            decision = f"{decider} · {_date(decided_on)}" + (
                ("：" if lang == "zh-CN" else ": ") + why if why else ""
            )
        out.append(
            {
                "appeal": f"#{a.id}",
                "rep_id": a.rep_id,
                "rep": roster.name_of(a.rep_id, lang),
                "period": a.period,
                "period_text": _period(a.period, lang),
                "line_no": a.line_no,
                "line": _line_label(line, lang, roster.people),
                "line_cents": None if line is None else line.cents,
                "reason": a.reason,
                "filed_on": ledger.local_date(a.filed_at),
                "state": a.state,
                "state_text": _state_text(a.state, lang),
                "decision_due": a.decision_due,
                "overdue": overdue,
                "cents": a.cents if a.outcome in ("accepted", "partly_accepted") else None,
                "decided_by": decider,
                "decided_on": decided_on,
                "decision_reason": a.outcome_reason if not a.is_open else None,
                "decision": decision,
            }
        )
    return pd.DataFrame(out, columns=_ROW_COLUMNS)


def _state_html(r: dict, lang: str) -> str:
    s = _nowrap(r["state_text"])
    return s + (" " + _flag(_t("overdue", lang)) if r["overdue"] else "")


def _due_html(r: dict, lang: str) -> str:
    if r["state"] not in ("filed", "under_review"):
        return MISSING
    d = _date(r["decision_due"])
    return _flag(d) if r["overdue"] else _nowrap(d)


def _yuan(units: Units):
    """Amounts in cents shown in ``units`` (see :func:`pay_units`)."""
    return lambda cents: units.amount(int(cents) / 100)


def _signed(units: Units):
    return lambda cents: units.amount(int(cents) / 100, sign=True)


# ---------------------------------------------------------------------- team


@dataclass(frozen=True)
class TeamAppeals:
    """A team's appeals of a month: filed in it, decided in it, or still open from before.

    ``present`` is False when the ledger has not been created (or holds no event).
    ``rows`` has one row per appeal (see :data:`_ROW_COLUMNS`); ``counts`` the month's
    ``filed``, ``decided`` (accepted, partly accepted or rejected in the month),
    ``withdrawn``, ``accepted_cents`` (adjustments decided in the month), ``open`` and
    ``overdue`` (open past the decision due date on ``judged_on``).
    """

    team: str
    month: str
    present: bool
    rows: pd.DataFrame = field(repr=False)
    counts: dict[str, int] = field(default_factory=dict)
    judged_on: dt.date | None = None
    ledger_at: dt.datetime | None = None
    tz: Any = None

    def summary(self, lang: str, units: Units) -> str:
        """The one line of counts (or the one line saying there is nothing)."""
        m = _month_text(self.month, lang)
        if not self.present:
            return _t("no_ledger", lang)
        if self.rows.empty:
            return _t("team_none", lang, m=m)
        c = self.counts
        amount = pay_units(units).amount(c["accepted_cents"] / 100, unit=True, sign=True)
        s = _t(
            "team_summary",
            lang,
            m=m,
            filed=c["filed"],
            decided=c["decided"],
            amount=amount,
            open=c["open"],
            overdue=c["overdue"],
        )
        if c["withdrawn"]:
            s += _t("withdrawn_note", lang, n=c["withdrawn"])
        return s

    def note(self, lang: str) -> str:
        if not self.present or self.ledger_at is None:
            return ""
        at = self.ledger_at.astimezone(self.tz).strftime("%Y-%m-%d %H:%M")
        return _t("as_of_note", lang, at=at, d=self.judged_on)

    def table_html(self, units: Units) -> HTML:
        lang = units.lang
        if self.rows.empty:
            return HTML("")
        pay = pay_units(units)
        shown = _nowrap_cols(self.rows, "appeal", "rep", "period_text", "filed_on")
        recs = shown.to_dict("records")
        shown["state_html"] = [_state_html(r, lang) for r in recs]
        shown["due_html"] = [_due_html(r, lang) for r in recs]
        cols = [
            Col("appeal_nw", "编号", "No.", "html"),
            Col("rep_nw", "销售", "Rep", "html"),
            Col("period_text_nw", "对账期", "Period", "html"),
            Col("line", "对账单行", "Statement line"),
            Col("line_cents", "行金额", "Line amount", "amount", fmt=_yuan(pay)),
            Col("reason", "申诉理由", "Reason"),
            Col("filed_on_nw", "提交日期", "Filed", "html"),
            Col("state_html", "状态", "State", "html"),
            Col("due_html", "裁决截止", "Decision due", "html"),
            Col("cents", "调整", "Adjustment", "amount", fmt=_signed(pay)),
            Col("decision", "裁决（裁决人 · 日期：理由）", "Decision (by · on: why)"),
        ]
        return present_table(shown, cols, pay)

    def html(self, units: Units, heading: str = "h2") -> Section:
        """The section: title, the one-line summary, the table and the ledger note."""
        lang = units.lang
        body = f"<{heading}>{_esc(_t('appeals', lang))}</{heading}>"
        body += f"<p>{_esc(self.summary(lang, units))}</p>"
        if self.present and not self.rows.empty:
            body += self.table_html(units)
        note = self.note(lang)
        if note and not self.rows.empty:
            body += f'<p class="simlib-note" style="color:#666;font-size:12px">{_esc(note)}</p>'
        return Section(body)


def _in_month(day: dt.date | None, month: str) -> bool:
    return day is not None and f"{day.year}-{day.month:02d}" == month


def team_appeals(ledger, team: str, month: str, *, on: dt.date | None = None, lang="en"):
    """The appeals of ``team``'s reps (its node and everything under it) filed in
    ``month`` (``YYYY-MM``, by the day filed), decided in it, or filed before it and
    still open; ``on`` is the day overdue is judged on (default: the last event's).

    ``ledger`` None (not created yet) gives an empty, not-present result.
    """
    if not re.fullmatch(r"\d{4}-\d{2}", str(month)):
        raise ValueError(f"month must look like 2026-10; got {month!r}")
    if ledger is None:
        return TeamAppeals(team, month, False, pd.DataFrame(columns=_ROW_COLUMNS))
    head = ledger_head(ledger)
    if head.events == 0:
        return TeamAppeals(team, month, False, pd.DataFrame(columns=_ROW_COLUMNS))
    on = on or head.local_date(ledger)
    roster = ledger.roster
    mine = set(roster.nodes_below(team))
    start = dt.date.fromisoformat(f"{month}-01")
    kept, filed, decided, withdrawn, accepted = [], 0, 0, 0, 0
    for a in ledger.appeals():  # as the system: every appeal, then the team's
        p = roster.get(a.rep_id)
        if p is None or p.team_id not in mine:
            continue
        f_day = ledger.local_date(a.filed_at)
        d_day = ledger.local_date(a.decided_at) if a.decided_at is not None else None
        in_f, in_d = _in_month(f_day, month), _in_month(d_day, month)
        if not (in_f or in_d or (a.is_open and f_day < start)):
            continue
        kept.append(a)
        filed += in_f
        if in_d:
            if a.outcome == "withdrawn":
                withdrawn += 1
            else:
                decided += 1
                accepted += a.cents if a.outcome in ("accepted", "partly_accepted") else 0
    kept.sort(key=lambda a: (a.filed_at, a.id))
    rows = _rows(ledger, kept, lang, on)
    counts = {
        "filed": int(filed),
        "decided": int(decided),
        "withdrawn": int(withdrawn),
        "accepted_cents": int(accepted),
        "open": int(sum(a.is_open for a in kept)),
        "overdue": int(rows["overdue"].sum()) if len(rows) else 0,
    }
    return TeamAppeals(team, month, True, rows, counts, on, head.at, ledger.tz)


# ---------------------------------------------------------------------- rep


@dataclass(frozen=True)
class RepAppeals:
    """A rep's own appeals: the open ones, and those decided since ``since``."""

    rep_id: str
    since: dt.date
    present: bool
    open: pd.DataFrame = field(repr=False)
    decided: pd.DataFrame = field(repr=False)
    judged_on: dt.date | None = None

    def summary(self, lang: str) -> str:
        if not self.present:
            return _t("no_ledger", lang)
        late = int(self.open["overdue"].sum()) if len(self.open) else 0
        return _t(
            "rep_summary",
            lang,
            open=len(self.open),
            late=_t("rep_late", lang, n=late) if late else "",
            decided=len(self.decided),
            d=self.since,
        )

    def html(self, units: Units, heading: str = "h2") -> Section:
        lang = units.lang
        body = f"<{heading}>{_esc(_t('my_appeals', lang))}</{heading}>"
        body += f"<p>{_esc(self.summary(lang))}</p>"
        if not self.present:
            return Section(body)
        sub = "h3" if heading == "h2" else "h4"
        body += f"<{sub}>{_esc(_t('open_title', lang))}</{sub}>"
        pay = pay_units(units)
        if self.open.empty:
            body += f"<p>{_esc(_t('open_none', lang))}</p>"
        else:
            o = _nowrap_cols(self.open, "appeal", "period_text", "filed_on")
            recs = o.to_dict("records")
            o["state_html"] = [_state_html(r, lang) for r in recs]
            o["due_html"] = [_due_html(r, lang) for r in recs]
            body += present_table(
                o,
                [
                    Col("appeal_nw", "编号", "No.", "html"),
                    Col("period_text_nw", "对账期", "Period", "html"),
                    Col("line", "对账单行", "Statement line"),
                    Col("line_cents", "行金额", "Line amount", "amount", fmt=_yuan(pay)),
                    Col("reason", "申诉理由", "Reason"),
                    Col("filed_on_nw", "提交日期", "Filed", "html"),
                    Col("state_html", "状态", "State", "html"),
                    Col("due_html", "裁决截止", "Decision due", "html"),
                ],
                pay,
            )
        if not self.open.empty and self.judged_on is not None:
            note = _t("overdue_note", lang, d=self.judged_on)
            body += f'<p style="color:#666;font-size:12px">{_esc(note)}</p>'
        body += f"<{sub}>{_esc(_t('decided_title', lang, d=self.since))}</{sub}>"
        if self.decided.empty:
            body += f"<p>{_esc(_t('decided_none', lang, d=self.since))}</p>"
        else:
            d = _nowrap_cols(
                self.decided, "appeal", "period_text", "state_text", "decided_by", "decided_on"
            )
            body += present_table(
                d,
                [
                    Col("appeal_nw", "编号", "No.", "html"),
                    Col("period_text_nw", "对账期", "Period", "html"),
                    Col("line", "对账单行", "Statement line"),
                    Col("reason", "申诉理由", "Reason"),
                    Col("state_text_nw", "结果", "Outcome", "html"),
                    Col("cents", "调整", "Adjustment", "amount", fmt=_signed(pay)),
                    Col("decided_by_nw", "裁决人", "Decided by", "html"),
                    Col("decided_on_nw", "日期", "On", "html"),
                    Col("decision_reason", "理由", "Why"),
                ],
                pay,
            )
        return Section(body)


def rep_appeals(ledger, rep_id: str, since, *, on: dt.date | None = None, lang: str = "en"):
    """``rep_id``'s open appeals (with their decision due dates) and those decided on or
    after ``since`` (a date), read as the rep (the ledger refuses anyone else's)."""
    since = pd.Timestamp(since).date()
    empty = pd.DataFrame(columns=_ROW_COLUMNS)
    if ledger is None:
        return RepAppeals(rep_id, since, False, empty, empty)
    head = ledger_head(ledger)
    if head.events == 0:
        return RepAppeals(rep_id, since, False, empty, empty)
    on = on or head.local_date(ledger)
    mine = ledger.appeals(viewer=rep_id, rep=rep_id)
    open_ = sorted((a for a in mine if a.is_open), key=lambda a: (a.decision_due, a.id))
    done = [a for a in mine if not a.is_open and ledger.local_date(a.decided_at) >= since]
    done.sort(key=lambda a: (a.decided_at, a.id), reverse=True)
    return RepAppeals(
        rep_id, since, True, _rows(ledger, open_, lang, on), _rows(ledger, done, lang, on), on
    )


# ---------------------------------------------------------------------- plan


def plan_title(name: str, lang: str, params_dir: str | Path | None = None) -> str:
    """A plan as a reader knows it: the first clause of its label (zh-CN) or description
    in ``params/plans/NAME.yaml``; its name when there is no such file."""
    from simlib.config import default_params_dir
    from simlib.plans import load_plan

    path = Path(params_dir or default_params_dir()) / "plans" / f"{name}.yaml"
    try:
        spec = load_plan(path)
    except Exception:  # noqa: BLE001 - a plan the ledger knows but the folder does not
        return name
    label = (spec.label_zh if lang == "zh-CN" and spec.label_zh else spec.description) or ""
    head = re.split(r"[—:：;；,，(（]", label, maxsplit=1)[0].strip()
    return head or name


def _arg(s: str) -> str:
    """A shell word: as it is when it is one (a Chinese name is), else quoted."""
    return s if re.fullmatch(r"[\w.\-/:@+]+", s) else shlex.quote(s)


@dataclass(frozen=True)
class PlanAcknowledgement:
    """Where a rep stands on a plan: the version they acknowledged (and when), the
    approved version (and when it was approved)."""

    rep_id: str
    plan: str
    present: bool
    acknowledged: int | None = None
    acknowledged_on: dt.date | None = None
    approved: int | None = None
    approved_on: dt.date | None = None

    @property
    def up_to_date(self) -> bool:
        return self.approved is not None and self.acknowledged == self.approved

    def command(self, who: str = "") -> str:
        """The command that acknowledges the approved version."""
        cmd = f"simlib plans accept --plan {_arg(self.plan)}"
        return cmd + (f" --as {_arg(who)}" if who else "")

    def sentence(self, lang: str, title: str, who: str = "") -> str:
        if not self.present:
            return _t("no_ledger_plan", lang)
        cmd = self.command(who)
        if self.approved is None:
            return _t("ack_no_approved", lang, plan=title)
        if self.up_to_date:
            return _t("ack_current", lang, plan=title, v=self.approved, d=self.acknowledged_on)
        if self.acknowledged is not None:
            return _t(
                "ack_behind",
                lang,
                plan=title,
                a=self.acknowledged,
                da=self.acknowledged_on,
                v=self.approved,
                dv=self.approved_on,
                cmd=cmd,
            )
        return _t("ack_never", lang, plan=title, v=self.approved, dv=self.approved_on, cmd=cmd)


def plan_acknowledgement(ledger, rep_id: str, plans: list[str] | tuple[str, ...] = ()):
    """For each plan in ``plans`` and each plan the rep acknowledged: the rep's latest
    acknowledged version against the approved one (read as the rep)."""
    if ledger is None:
        return [PlanAcknowledgement(rep_id, p, False) for p in plans] or [
            PlanAcknowledgement(rep_id, "", False)
        ]
    acks = ledger.acknowledgements(rep_id, viewer=rep_id)
    names = list(dict.fromkeys([*plans, *(a.name for a in acks)]))
    out = []
    for name in names:
        mine = [a for a in acks if a.name == name]
        last = max(mine, key=lambda a: (a.version, a.at)) if mine else None
        appr = ledger.approved("plan", name)
        out.append(
            PlanAcknowledgement(
                rep_id,
                name,
                True,
                acknowledged=last.version if last else None,
                acknowledged_on=ledger.local_date(last.at) if last else None,
                approved=appr.version if appr else None,
                approved_on=ledger.local_date(appr.decided_at)
                if appr and appr.decided_at
                else None,
            )
        )
    return out


def plan_acknowledgement_html(
    items: list[PlanAcknowledgement], lang: str, who: str = "", heading: str = "h2"
) -> Section:
    """The "Plan acknowledged" section: one sentence per plan."""
    body = f"<{heading}>{_esc(_t('plan_ack', lang))}</{heading}>"
    if not items:
        return Section(body + f"<p>{_esc(_t('ack_none_at_all', lang))}</p>")
    if not items[0].present:
        return Section(body + f"<p>{_esc(_t('no_ledger_plan', lang))}</p>")
    lines = []
    for it in items:
        s = it.sentence(lang, plan_title(it.plan, lang), who)
        head, cmd, tail = s.partition(it.command(who))
        text = _esc(head) + (f"<code>{_esc(cmd)}</code>" if cmd else "") + _esc(tail)
        status = "green" if it.up_to_date else "grey" if it.approved is None else "amber"
        dot = f'<span style="color:{STATUS_COLORS[status]}">●</span> '
        lines.append(f"<li>{dot}{text}</li>")
    return Section(body + f'<ul style="list-style:none;padding-left:0.5em">{"".join(lines)}</ul>')
