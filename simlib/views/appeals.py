"""The appeals a person may see, for the tracking dashboard's appeals view (SPEC R17, issue 15).

Pure functions over a :class:`simlib.ledger.Ledger`, no widgets:

* :func:`appeal_frame` — the appeals of some reps that a viewer may see (the ledger's own
  viewer checks decide; nothing here re-implements them), with the statement line each
  is about, its state and its decision deadline, in the order a manager works them:
  open first, overdue at the top (:func:`sort_appeals`).
* :func:`decision_due` — a deadline seen from a day: working days left, or overdue.
* :func:`appeals_html`, :func:`appeal_choices`, :func:`summary_text` — the same in
  people's words (names, not ids; amounts through one :class:`simlib.present.Units`).
* :func:`check_decision` — a decision typed into a form, checked control by control
  (the outcome, the amount in the page's unit, the reason), in the user's language.

An appeal is about pay, so the view shows amounts as the statements do: in yuan to the
cent (``Units(lang, scale="yuan")``); the app passes the one Units of its appeals view.

Examples
--------
>>> import datetime as dt
>>> from simlib.calendar import load_calendar
>>> d = decision_due(dt.date(2026, 10, 9), dt.date(2026, 9, 29), load_calendar())
>>> d.working_days_left, d.overdue   # 09-30, 10-08, 10-09 (National Day 10-01..07 off)
(3, False)
>>> due_text(d, "en"), due_text(d, "zh-CN")
('2026-10-09 · 3 working days left', '2026-10-09 · 还剩 3 个工作日')
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from types import SimpleNamespace

import pandas as pd

from simlib.i18n import check_lang, translator
from simlib.i18n import escape as _esc
from simlib.ledger import OUTCOMES, Ledger, Person
from simlib.ledger.records import APPEAL_STATES
from simlib.ledger.roles import role_label
from simlib.present import MISSING, STATUS_COLORS, Col, Units, is_missing, table
from simlib.views.statement import KIND_LABELS, line_text

__all__ = [
    "COLUMNS",
    "LINE_KINDS",
    "OUTCOME_CHOICES",
    "STATE_NAMES",
    "Due",
    "appeal_choices",
    "appeal_frame",
    "appeals_html",
    "check_decision",
    "decision_due",
    "due_text",
    "outcome_choices",
    "parse_amount",
    "signed_in_text",
    "sort_appeals",
    "state_label",
    "summary_text",
]

#: An appeal's state in both languages (the words of ``simlib appeals list``).
STATE_NAMES = APPEAL_STATES

#: What a decider may choose, in the form's order.
OUTCOME_CHOICES: tuple[str, ...] = OUTCOMES

#: Statement line kinds: the statement's own, and the line a decided appeal adds.
LINE_KINDS: dict[str, tuple[str, str]] = {
    **KIND_LABELS,
    "adjustment": ("Appeal adjustment", "申诉调整"),
}

_t = translator(
    {
        "line": ("line {n} · {kind}", "第 {n} 行 · {kind}"),
        "due_today": ("{d} · due today", "{d} · 今天到期"),
        "due_left": ("{d} · {n} working days left", "{d} · 还剩 {n} 个工作日"),
        "due_left_1": ("{d} · 1 working day left", "{d} · 还剩 1 个工作日"),
        "overdue": ("{d} · overdue", "{d} · 已逾期"),
        "overdue_n": (
            "{d} · overdue by {n} working days",
            "{d} · 已逾期 {n} 个工作日",
        ),
        "overdue_1": ("{d} · overdue by 1 working day", "{d} · 已逾期 1 个工作日"),
        "decision": ("{who}, {at}: {why}", "{who}，{at}：{why}"),
        "under_review_by": ("under review by {who}", "{who}审核中"),
        "version": ("version {n}", "第 {n} 版"),
        "reissued": ("re-issued as version {n}", "已重新发布为第 {n} 版"),
        "choice": (
            "#{id} · {rep} · {period} · line {n} · due {due}",
            "#{id} · {rep} · {period} · 第 {n} 行 · {due} 截止",
        ),
        "choice_overdue": (
            "#{id} · {rep} · {period} · line {n} · overdue since {due}",
            "#{id} · {rep} · {period} · 第 {n} 行 · {due} 起逾期",
        ),
        "summary": (
            "{open} open ({overdue} overdue), {closed} closed",
            "待裁决 {open} 件（逾期 {overdue} 件），已结案 {closed} 件",
        ),
        "none": ("No appeals.", "没有申诉。"),
        "signed_in": ("Signed in as {who} ({role})", "当前用户：{who}（{role}）"),
        "amount_needed": (
            "To mark it {outcome}, type the adjustment to the statement in {unit} "
            "(e.g. 1,200.00; -300 takes pay back).",
            "选择“{outcome}”需填写对账单的调整金额，以{unit}为单位"
            "（如 1,200.00；收回为负数，如 -300）。",
        ),
        "amount_bad": (
            "{v} is not an amount: type a number in {unit}, e.g. 1,200.00.",
            "“{v}”不是金额：请填写以{unit}为单位的数字，如 1,200.00。",
        ),
        "amount_zero": (
            "To mark it {outcome}, the adjustment cannot be 0; to change nothing, reject it.",
            "选择“{outcome}”时调整金额不能为 0；如不调整，请选择驳回。",
        ),
        "amount_cents": (
            "{v} has more decimals than a cent: amounts are to the cent (2 decimals of yuan).",
            "“{v}”的小数位超过分：金额精确到分（元的 2 位小数）。",
        ),
        "amount_big": (
            "{v} is more than any statement pays ({max}): check the amount.",
            "“{v}”超过任何对账单的金额（{max}）：请检查金额。",
        ),
        "reason_needed": (
            "A decision needs a reason the rep can read.",
            "裁决需要写明理由，供销售查看。",
        ),
        "outcome_needed": (
            "Choose an outcome: accepted, partly accepted or rejected.",
            "请选择裁决结果：接受、部分接受或驳回。",
        ),
    }
)

#: The largest adjustment the form takes (yuan): a typo guard, far above any statement.
MAX_ADJUSTMENT_YUAN = 10_000_000


def state_label(state: str, lang: str = "en") -> str:
    """An appeal's state as people read it: ``under review`` or ``审核中``."""
    en, zh = STATE_NAMES.get(state, (state, state))
    return zh if lang == "zh-CN" else en


def outcome_choices(lang: str = "en") -> list[tuple[str, str]]:
    """``(label, outcome)`` for a decision form."""
    return [(state_label(o, lang), o) for o in OUTCOME_CHOICES]


# --------------------------------------------------------------------------- deadlines


@dataclass(frozen=True)
class Due:
    """An appeal's decision deadline seen from ``today``.

    ``working_days_left`` counts the working days after today up to the deadline (0: due
    today); when the deadline has passed it is minus the working days since (0 when only
    a weekend or holiday has passed).
    """

    date: dt.date
    today: dt.date
    working_days_left: int

    @property
    def overdue(self) -> bool:
        """The deadline's day has ended (as :meth:`simlib.ledger.Ledger.overdue` says)."""
        return self.date < self.today

    @property
    def light(self) -> str:
        """``red`` when overdue, ``amber`` when due today, else ``grey``."""
        if self.overdue:
            return "red"
        return "amber" if self.date == self.today else "grey"


def decision_due(due: dt.date, today: dt.date, calendar) -> Due:
    """The deadline ``due`` seen from ``today`` on the working-day ``calendar``."""
    one = dt.timedelta(days=1)
    if due >= today:
        left = int(calendar.working_days_between(today + one, due))
    else:
        left = -int(calendar.working_days_between(due + one, today))
    return Due(due, today, left)


def due_text(d: Due, lang: str = "en") -> str:
    """``2026-10-09 · 2 working days left`` / ``2026-10-09 · 已逾期 1 个工作日``."""
    n = abs(d.working_days_left)
    if d.overdue:
        key = "overdue" if n == 0 else "overdue_1" if n == 1 else "overdue_n"
    else:
        key = "due_today" if d.date == d.today else "due_left_1" if n == 1 else "due_left"
    return _t(key, lang, d=d.date.isoformat(), n=n)


# --------------------------------------------------------------------------- the frame

#: The columns of :func:`appeal_frame`.
COLUMNS = [
    "appeal_id",
    "rep_id",
    "rep",
    "period",
    "statement_id",
    "statement_version",
    "line_no",
    "line_kind",
    "line_label",
    "line_text",
    "line_cents",
    "reason",
    "filed_at",
    "filed",
    "state",
    "state_label",
    "is_open",
    "decision_due",
    "working_days_left",
    "overdue",
    "due_text",
    "reviewer",
    "decided_by",
    "decider",
    "decided_at",
    "decided",
    "outcome_cents",
    "outcome_reason",
    "reissued_version",
]


def _line_words(line, roster, lang: str) -> tuple[str, str, str]:
    """(kind, label, text) of an issued line: the kind in words, the arithmetic in words
    without any person's id (a team plan's lines name the deal's owner)."""
    if line is None:
        return "", MISSING, MISSING
    text = line.text
    for pid in re.findall(r" \(([^()\s]+)\)", text):
        if pid in roster.people:
            text = text.replace(f" ({pid})", "")
    kind = LINE_KINDS.get(line.kind, (line.kind, line.kind))[lang == "zh-CN"]
    words = line_text(SimpleNamespace(kind=line.kind, text=text, owner_id=None), lang)
    return line.kind, _t("line", lang, n=line.line_no, kind=kind), words


def appeal_frame(
    ledger: Ledger,
    *,
    today: dt.date,
    viewer: str | Person | None = None,
    reps: Iterable[str] | None = None,
    lang: str = "en",
) -> pd.DataFrame:
    """The appeals of ``reps`` (every rep when None) that ``viewer`` may see, one row each,
    sorted by :func:`sort_appeals`.

    ``viewer`` None reads as the ledger does without a viewer (everything: what a director
    sees). Times are in the ledger's time zone; deadlines are seen from ``today`` (a date
    in that zone) on the ledger's calendar. Columns: :data:`COLUMNS` (``*_cents`` in
    cents; ``rep``, ``decider``, ``line_label``, ``state_label`` and ``due_text`` in
    ``lang``).
    """
    check_lang(lang)
    roster = ledger.roster
    wanted = None if reps is None else {str(r) for r in reps}
    appeals = [a for a in ledger.appeals(viewer=viewer) if wanted is None or a.rep_id in wanted]
    statements: dict[int, object] = {}

    def statement(sid):
        if sid not in statements:
            statements[sid] = ledger.statement(sid, viewer=viewer)
        return statements[sid]

    def when(at):
        return at.astimezone(ledger.tz).strftime("%Y-%m-%d %H:%M") if at is not None else None

    rows = []
    for a in appeals:
        st = statement(a.statement_id)
        kind, label, words = _line_words(st.line(a.line_no), roster, lang)
        line = st.line(a.line_no)
        d = decision_due(a.decision_due, today, ledger.calendar)
        reissued = (
            statement(a.reissued_statement_id).version
            if a.reissued_statement_id is not None
            else None
        )
        rows.append(
            {
                "appeal_id": a.id,
                "rep_id": a.rep_id,
                "rep": roster.name_of(a.rep_id, lang),
                "period": a.period,
                "statement_id": a.statement_id,
                "statement_version": st.version,
                "line_no": a.line_no,
                "line_kind": kind,
                "line_label": label,
                "line_text": words,
                "line_cents": line.cents if line is not None else None,
                "reason": a.reason,
                "filed_at": a.filed_at,
                "filed": when(a.filed_at),
                "state": a.state,
                "state_label": state_label(a.state, lang),
                "is_open": a.is_open,
                "decision_due": a.decision_due,
                "working_days_left": d.working_days_left,
                "overdue": a.is_open and d.overdue,
                "due_text": due_text(d, lang) if a.is_open else a.decision_due.isoformat(),
                "reviewer": a.reviewer,
                "decided_by": a.decided_by,
                "decider": roster.name_of(a.decided_by, lang) if a.decided_by else None,
                "decided_at": a.decided_at,
                "decided": when(a.decided_at),
                "outcome_cents": a.cents if a.outcome else None,
                "outcome_reason": a.outcome_reason,
                "reissued_version": reissued,
            }
        )
    return sort_appeals(pd.DataFrame(rows, columns=COLUMNS))


def sort_appeals(frame: pd.DataFrame) -> pd.DataFrame:
    """Open appeals first — the overdue ones at the top, then by deadline — then the
    closed ones, the latest decision first; ties by appeal number."""
    if frame.empty:
        return frame.reset_index(drop=True)
    closed_at = pd.to_datetime(frame["decided_at"], utc=True)
    key = pd.DataFrame(
        {
            "closed": ~frame["is_open"].astype(bool),
            "not_overdue": ~frame["overdue"].astype(bool),
            "due": pd.to_datetime(frame["decision_due"]).where(frame["is_open"].astype(bool)),
            "latest": -(closed_at.astype("int64").where(closed_at.notna())),
            "id": frame["appeal_id"],
        },
        index=frame.index,
    )
    order = key.sort_values(
        ["closed", "not_overdue", "due", "latest", "id"], na_position="last", kind="stable"
    ).index
    return frame.loc[order].reset_index(drop=True)


# --------------------------------------------------------------------------- in words


def summary_text(frame: pd.DataFrame, lang: str = "en") -> str:
    """``3 open (1 overdue), 2 closed``."""
    if frame.empty:
        return _t("none", lang)
    n_open = int(frame["is_open"].sum())
    return _t(
        "summary",
        lang,
        open=n_open,
        overdue=int(frame["overdue"].sum()),
        closed=len(frame) - n_open,
    )


def appeal_choices(frame: pd.DataFrame, lang: str = "en") -> list[tuple[str, int]]:
    """``(label, appeal id)`` of the open appeals, in the frame's order (for a picker)."""
    out = []
    for r in frame[frame["is_open"].astype(bool)].to_dict("records"):
        key = "choice_overdue" if r["overdue"] else "choice"
        label = _t(
            key,
            lang,
            id=r["appeal_id"],
            rep=r["rep"],
            period=r["period"],
            n=r["line_no"],
            due=r["decision_due"].isoformat(),
        )
        out.append((label, int(r["appeal_id"])))
    return out


def signed_in_text(person: Person, lang: str = "en") -> str:
    """``Signed in as Wei Ping (manager)`` / ``当前用户：魏平（经理）``."""
    return _t("signed_in", lang, who=person.display(lang), role=role_label(person.role, lang))


def _cell_line(r: dict) -> str:
    return f"<b>{_esc(r['line_label'])}</b><br><small>{_esc(r['line_text'])}</small>"


def _cell_due(r: dict) -> str:
    if r["overdue"]:
        red = STATUS_COLORS["red"]
        return f'<span style="color:{red};font-weight:600">{_esc(r["due_text"])}</span>'
    return _esc(r["due_text"])


def _given(x) -> bool:
    return not is_missing(x) and x != ""


def _cell_decision(r: dict, lang: str) -> str:
    if _given(r["decided_by"]):
        why = r["outcome_reason"] if _given(r["outcome_reason"]) else MISSING
        return _esc(_t("decision", lang, who=r["decider"], at=r["decided"], why=why))
    if _given(r["reviewer"]):
        return _esc(_t("under_review_by", lang, who=r["_reviewer_name"]))
    return MISSING


def appeals_html(frame: pd.DataFrame, units: Units, roster=None) -> str:
    """The appeals as a table for people: names, states and deadlines in ``units.lang``,
    amounts in ``units``; an overdue deadline in red (:data:`simlib.present.STATUS_COLORS`).
    ``roster`` names the reviewer of an appeal under review."""
    L = units.lang
    f = frame.copy()
    f["_reviewer_name"] = [
        (roster.name_of(x, L) if roster is not None else x) if _given(x) else MISSING
        for x in f["reviewer"]
    ]
    recs = f.to_dict("records")
    f["ref"] = [f"#{r['appeal_id']}" for r in recs]
    f["line_html"] = [_cell_line(r) for r in recs]
    f["line_amount"] = pd.Series(
        [r["line_cents"] / 100 if _given(r["line_cents"]) else None for r in recs],
        index=f.index,
        dtype=object,
    )
    f["due_html"] = [_cell_due(r) for r in recs]
    f["decision_html"] = [_cell_decision(r, L) for r in recs]
    f["adjustment"] = pd.Series(
        [r["outcome_cents"] / 100 if _given(r["outcome_cents"]) else None for r in recs],
        index=f.index,
        dtype=object,
    )
    f["version"] = [
        _t("reissued", L, n=int(r["reissued_version"]))
        if _given(r["reissued_version"])
        else _t("version", L, n=int(r["statement_version"]))
        for r in recs
    ]
    cols = [
        Col("ref", "申诉", "Appeal"),
        Col("rep", "销售", "Rep"),
        Col("period", "期间", "Period"),
        Col("line_html", "对账单行", "Statement line", "html"),
        Col("line_amount", "行金额", "Line amount", "amount"),
        Col("reason", "申诉理由", "Reason"),
        Col("filed", "提交时间", "Filed on"),
        Col("state_label", "状态", "State"),
        Col("due_html", "裁决截止", "Decision due", "html"),
        Col("decision_html", "裁决", "Decision", "html"),
        Col(
            "adjustment",
            "调整金额",
            "Adjustment",
            "amount",
            fmt=lambda v: units.amount(v, sign=True),
        ),
        Col("version", "对账单版本", "Statement"),
    ]
    # the amount column's header carries the unit; fmt keeps the sign on an adjustment
    return table(f, cols, units, empty=("没有申诉。", "No appeals."))


# --------------------------------------------------------------------------- the form


def _unit_words(units: Units) -> str:
    return units.label()


def parse_amount(text: str, units: Units) -> tuple[int | None, str]:
    """An amount typed in the page's unit → ``(cents, "")``, or ``(None, message)``.

    Takes ``1,200``, ``1200.5``, ``-300``, ``¥1,200``, ``1 200 元`` and full-width digits;
    the message (in ``units.lang``) says what is wrong, quoting what was typed.
    """
    raw = str(text or "").strip()
    if not raw:
        return None, ""
    s = unicodedata.normalize("NFKC", raw)
    s = re.sub(r"[\s,，_]", "", s)
    s = s.replace("¥", "").replace("￥", "").replace("元", "").replace("$", "").replace("€", "")
    s = s.replace("−", "-")
    L = units.lang
    try:
        value = Decimal(s)
    except InvalidOperation:
        return None, _t("amount_bad", L, v=raw, unit=_unit_words(units))
    if not value.is_finite():
        return None, _t("amount_bad", L, v=raw, unit=_unit_words(units))
    cents = value * units.divisor * 100
    if cents != cents.to_integral_value():
        return None, _t("amount_cents", L, v=raw)
    if abs(cents) > MAX_ADJUSTMENT_YUAN * 100:
        return None, _t("amount_big", L, v=raw, max=units.amount(MAX_ADJUSTMENT_YUAN, unit=True))
    return int(cents), ""


def check_decision(
    outcome: str | None, amount: str, reason: str, units: Units
) -> tuple[int, dict[str, str]]:
    """A decision as typed: ``(cents, problems)`` with ``problems`` by control
    (``outcome``, ``amount``, ``reason``) in ``units.lang``; empty when it can be sent.

    A rejection adjusts nothing (the amount is not read); an accepted or partly accepted
    appeal needs an amount other than 0, in the page's unit.
    """
    L = units.lang
    problems: dict[str, str] = {}
    cents = 0
    if outcome not in OUTCOME_CHOICES:
        problems["outcome"] = _t("outcome_needed", L)
    elif outcome != "rejected":
        word = state_label(outcome, L)
        parsed, msg = parse_amount(amount, units)
        if msg:
            problems["amount"] = msg
        elif parsed is None:
            problems["amount"] = _t("amount_needed", L, outcome=word, unit=_unit_words(units))
        elif parsed == 0:
            problems["amount"] = _t("amount_zero", L, outcome=word)
        else:
            cents = parsed
    if not str(reason or "").strip():
        problems["reason"] = _t("reason_needed", L)
    return cents, problems
