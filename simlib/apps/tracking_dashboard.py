"""The tracking dashboard (SPEC R6-R8, R18): KPIs with pace, the status wall, the cohort
funnel, alerts ranked by severity and grouped by person, the customer Pareto and the
revenue trend, for any period and any org node, drilled company → region → team → rep.

Three layers, each usable on its own:

1. :class:`Controls`, a frozen record of the control values: ``period`` (``2026-11``,
   ``2026-Q4``, ``2026``), ``level`` (company / region / team / rep), ``node`` (an org
   node or person at that level) and ``lang`` (``en`` / ``zh-CN``); :func:`validate`
   says what is wrong with a set of controls, in the user's language.
2. :func:`compute` ``(controls, context) -> DashboardView``: a pure function of the
   controls and a :class:`DashboardContext` (the :class:`simlib.tracking.Facts`
   prepared once, the org tree, today's alerts checked once). Every number comes from
   :mod:`simlib.tracking` (``metrics``, ``funnel``, ``rank_alerts``,
   ``pareto_customers``, ``trend``); nothing is re-implemented here. :func:`figures`
   draws a view; :func:`kpis_html`, :func:`children_html` and :func:`alerts_html` give
   its HTML for people (names, not ids; one unit per page through
   :class:`simlib.present.Units`).
3. :class:`TrackingDashboard`, the ipywidgets app: period, level, node and language
   controls plus a drill-down (into a child node, or up to the parent), every control
   and output with a stable CSS class ``simlib-...`` for browser tests. An unexpected
   error in a callback is logged and shown as :func:`simlib.present.apology`, with the
   views blanked. ipywidgets and matplotlib are imported only when the app is built.

**Appeals** (issue 15): a second tab lists the appeals of the people under the drilled
node that the person using the page may see (:mod:`simlib.views.appeals`; the ledger's
viewer checks decide), open ones first and overdue at the top, and lets a manager of the
rep (or a director) start a review and decide with a reason, as themselves
(``?user=`` or the notebook's ``user``; :func:`simlib.apps.session.app_user`). Without a
user the tab is read-only and shows what a director sees. The ledger is the one
:func:`simlib.ledger.open_ledger` opens (``$SIMLIB_LEDGER``, else
``params/appeals.yaml``); until a statement has been issued it does not exist, and the
tab says so without creating it.

**Pace** has one definition on the page, the one :func:`simlib.tracking.metrics` uses:
the share of the period's working days elapsed by the data's date. The expected revenue
is the target spread over working days up to that date; a node is *ahead* at 100% of it
or more, *on pace* from 80%, *behind* below. The revenue alert judges the quarter to
date by the same definition.

Examples
--------
>>> from simlib.apps.tracking_dashboard import Controls, DashboardContext, compute
>>> ctx = DashboardContext.from_demo()                                   # doctest: +SKIP
>>> view = compute(Controls("2026-11", "team", "T-SH"), ctx)             # doctest: +SKIP
>>> view.kpis.set_index("key").at["revenue", "value"]                    # doctest: +SKIP
>>> TrackingDashboard.open(lang="zh-CN").show()                          # doctest: +SKIP
"""

from __future__ import annotations

import datetime as _dt
import logging
import time
from dataclasses import dataclass, field, replace
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from simlib import tracking
from simlib.i18n import check_lang as _check_lang
from simlib.i18n import escape as _esc
from simlib.i18n import translator
from simlib.periods import as_window
from simlib.plots.tracking import (
    WIDTH,
    figure_png,
    funnel_chart,
    new_axes,
    pareto_chart,
    status_wall,
    trend_chart,
)
from simlib.present import (
    MISSING,
    PAGE_CSS,
    STATUS_COLORS,
    Col,
    Units,
    apology,
    count,
    field_error,
    pct,
    table,
)
from simlib.tracking import text
from simlib.tracking.facts import LEVELS, Facts
from simlib.views import alerts as _alerts
from simlib.views import appeals as _appeals
from simlib.views.alerts import badge as _badge
from simlib.views.alerts import metric_label as _metric

__all__ = [
    "Controls",
    "DashboardContext",
    "DashboardView",
    "compute",
    "validate",
    "figures",
    "kpis_html",
    "children_html",
    "alerts_html",
    "period_options",
    "KPIS",
    "STATUS_LIGHT",
    "CSS",
    "TrackingDashboard",
]

log = logging.getLogger(__name__)

#: The zone of "today" before the ledger is open (the ledger's own default).
_SHANGHAI = ZoneInfo("Asia/Shanghai")

#: The KPI cards: key → (metrics column, English label, Chinese label).
KPIS: dict[str, tuple[str, str, str]] = {
    "revenue": ("revenue", "Revenue", "销售额"),
    "target": ("target", "Target", "目标"),
    "attainment": ("attainment", "Attainment", "达成率"),
    "pace": ("pace_attainment", "Revenue vs pace", "进度达成率"),
    "status": ("status", "Status", "状态"),
    "collection_rate": ("collection_rate", "Collection rate", "回款率"),
    "win_rate": ("win_rate", "Win rate", "赢单率"),
    "new_customers": ("new_customers", "New customers", "新客户数"),
    "qualified_visits": ("qualified_visits", "Qualified visits", "有效拜访量"),
    "lead_conversion": ("lead_conversion", "Lead conversion", "线索转化率"),
    "nps": ("nps", "NPS (points)", "客户净推荐值（分）"),
}

#: Pace status → (English, Chinese), as :func:`simlib.tracking.pace_status` names them.
STATUS_NAMES = text.STATUS_NAMES
STATUS_LIGHT = text.STATUS_LIGHT

_LEVEL_NAMES = {
    "company": ("Company", "公司"),
    "region": ("Region", "大区"),
    "team": ("Team", "团队"),
    "rep": ("Rep", "销售"),
}

_ROLES = {"manager": ("manager", "经理"), "director": ("director", "总监")}

_t = translator(
    {
        "title": ("Sales tracking dashboard", "销售跟踪看板"),
        "intro": (
            "Pick a period and drill from the company to a region, a team or a person: "
            "results against target and pace, the funnel, the alerts to act on.",
            "选择周期，从公司逐级下钻到大区、团队或个人：对照目标与进度的业绩、销售漏斗和需要处理的预警。",
        ),
        "period": ("Period", "周期"),
        "level": ("Level", "层级"),
        "node": ("Show", "查看"),
        "lang": ("Language", "语言"),
        "drill": ("Drill into", "下钻"),
        "drill_none": ("— choose —", "— 请选择 —"),
        "up": ("↑ Up", "↑ 上一级"),
        "children": ("Breakdown", "下级明细"),
        "by_attainment": ("attainment", "达成率"),
        "name": ("Name", "名称"),
        "person": ("Person", "人员"),
        "alerts": ("Active alerts", "当前预警"),
        "severity": ("Severity", "级别"),
        "rule": ("Alert", "预警"),
        "raised": ("Since", "开始于"),
        "weeks": ("Weeks active", "持续周数"),
        "evidence": ("Evidence", "依据"),
        "diagnosis": ("Diagnosis", "诊断"),
        "intervention": ("What to do", "建议措施"),
        "wall": ("Attainment and pace", "目标达成与进度"),
        "funnel": (
            "Funnel of the leads created in {p}, followed to {d}",
            "{p}新建线索的漏斗（跟踪至{d}）",
        ),
        "funnel_note": (
            "Every stage is part of the one before: of the leads created in the period, "
            "how many were qualified, converted to an opportunity, got a proposal and were "
            "won by {d}. A recent cohort is still maturing.",
            "每一阶段都是上一阶段的一部分：本期新建的线索中，截至{d}有多少被确认合格、转为商机、"
            "提交方案并成交。较新的线索仍在推进中。",
        ),
        "pareto": ("Customer Pareto", "客户帕累托"),
        "trend": ("Revenue trend", "销售额趋势"),
        "pace_note": (
            "Pace = share of the period's working days elapsed: {e} of {w} working days "
            "({p}) to {d}. Expected revenue by now: {x}. Ahead: at least 100% of expected; "
            "on pace: at least 80%; behind: below 80%.",
            "进度 = 本期已过工作日占比：截至{d}已过{e}个工作日（共{w}个，{p}）。按进度应达销售额："
            "{x}。超进度：达到应达额的100%及以上；符合进度：80%及以上；落后进度：低于80%。",
        ),
        "no_own": (
            "{name} is a {role}: no target or sales of their own; the team's figures are "
            "under the team.",
            "{name}为{role}，本人没有目标和业绩；团队数据请查看所在团队。",
        ),
        "no_wall": ("No target or sales in this period", "本期没有目标或业绩"),
        "as_of": ("Data to {d}", "数据截至{d}"),
        "bad_period": (
            "{v} is not a period: choose a month (2026-11), a quarter (2026-Q4) or a year (2026).",
            "“{v}”不是有效的周期：请选择月份（2026-11）、季度（2026-Q4）或年份（2026）。",
        ),
        "future_period": (
            "{v} starts after the data's last day ({d}).",
            "{v}在数据截止日（{d}）之后开始。",
        ),
        "bad_period_shown": ("{msg} Showing {p} instead.", "{msg}已改为显示{p}。"),
        "bad_node": (
            "No one and no unit called {v} in the organisation; showing the whole company.",
            "组织中没有“{v}”，已改为显示全公司。",
        ),
        "wrong_level": ("{v} is not a {lv}.", "“{v}”不是{lv}。"),
        "open_failed": (
            "The data could not be opened: {msg}",
            "无法打开数据：{msg}",
        ),
        # the appeals view (issue 15)
        "tab_overview": ("Overview", "概览"),
        "tab_appeals": ("Appeals", "申诉"),
        "tab_appeals_n": ("Appeals ({n} open)", "申诉（{n} 件待裁决）"),
        "appeals_title": ("Appeals · {node}", "申诉 · {node}"),
        "appeals_intro": (
            "Appeals of statement lines by the people under {node} that you may see, all "
            "periods; open ones first, overdue at the top. Decisions are due {n} working "
            "days after filing. Today is {d}. Amounts in yuan, to the cent, as on the "
            "statements.",
            "{node}下属人员对对账单行提出的、您有权查看的申诉（全部期间）；"
            "待裁决的在前，逾期的置顶。申诉须在提交后 {n} 个工作日内裁决。今天是 {d}。"
            "金额以元为单位、精确到分，与对账单一致。",
        ),
        "read_only": (
            "Read-only: this is what a director sees. To decide appeals, open the dashboard "
            "as yourself: add ?user= and your name or staff number to the page's address.",
            "只读：此处显示的是总监可见的内容。如需裁决申诉，请以本人身份打开看板："
            "在页面地址后加 ?user= 和您的姓名或工号。",
        ),
        "no_ledger": (
            "No statements have been issued yet, so there are no appeals. A director or an "
            "administrator issues a period's statements with: simlib ledger issue --period P "
            '--as WHO (e.g. --period 2026-Q3 --as "{who}").',
            "尚未发布任何对账单，因此没有申诉。总监或管理员可用以下命令发布某期对账单："
            'simlib ledger issue --period P --as WHO（例如 --period 2026-Q3 --as "{who}"）。',
        ),
        "decide_title": ("Decide an appeal", "裁决申诉"),
        "appeal": ("Appeal", "申诉"),
        "no_open": ("— no open appeal —", "— 没有待裁决的申诉 —"),
        "outcome": ("Outcome", "裁决结果"),
        "amount": ("Adjustment ({u})", "调整金额（{u}）"),
        "amount_hint": ("e.g. 1,200.00", "如 1,200.00"),
        "reason": ("Reason", "理由"),
        "reason_hint": (
            "the rep reads it with the decision (required)",
            "销售会看到这段理由（必填）",
        ),
        "review": ("Start review", "开始审核"),
        "decide": ("Decide", "裁决"),
        "pick_appeal": ("Choose an open appeal first.", "请先选择一件待裁决的申诉。"),
        "reviewing": (
            "Appeal #{id} is under review by you; decide it by {due}.",
            "申诉 #{id} 已由您开始审核；请在 {due} 前裁决。",
        ),
        "decided": ("Appeal #{id}: {state}.", "申诉 #{id}：{state}。"),
        "decided_reissued": (
            "Appeal #{id}: {state}; the {period} statement is re-issued as version {v} "
            "(adjustment {a}, payable {p}).",
            "申诉 #{id}：{state}；{period} 对账单已重新发布为第 {v} 版（调整 {a}，应付 {p}）。",
        ),
        "ledger_down": (
            "The ledger could not be read; the error was logged. Try again, or reload the page.",
            "无法读取台账，已记录日志。请重试或重新打开页面。",
        ),
    }
)


def period_options(as_of) -> list[str]:
    """The periods offered: the last 12 months, the quarters and years of this year and last."""
    t = pd.Timestamp(as_of)
    months = [str(p) for p in pd.period_range(end=t.to_period("M"), periods=12, freq="M")][::-1]
    quarters = [
        f"{q.year}-Q{q.quarter}"
        for q in pd.period_range(pd.Period(f"{t.year - 1}Q1", "Q"), t.to_period("Q"), freq="Q")
    ][::-1]
    return months + quarters + [str(t.year), str(t.year - 1)]


# --------------------------------------------------------------------------- controls


@dataclass(frozen=True)
class Controls:
    """Every control value of the dashboard."""

    period: str
    level: str = "company"
    node: str = ""
    lang: str = "en"

    def __post_init__(self):
        if self.level not in LEVELS:
            raise ValueError(f"level must be one of {', '.join(LEVELS)}; got {self.level!r}")
        _check_lang(self.lang)


@dataclass
class DashboardContext:
    """What every view needs, built once: the facts, the org tree and today's alerts.

    ``alerts`` (the active alerts of the whole company on ``facts.as_of``, a few seconds
    to check; kept on disk by the data's fingerprint when ``data`` is given) is computed
    on first use and kept, ranked; so is each level's trend.
    """

    facts: Facts
    currency: str = "CNY"
    data: Any = field(default=None, repr=False)
    _alerts: pd.DataFrame | None = field(default=None, repr=False)
    _trend: dict = field(default_factory=dict, repr=False)
    _nodes: pd.DataFrame | None = field(default=None, repr=False)

    @classmethod
    def from_facts(cls, facts, *, currency: str | None = None, data=None) -> DashboardContext:
        return cls(tracking.prepare(facts), currency or text.company_currency(), data)

    @classmethod
    def from_data(cls, data, *, currency: str | None = None) -> DashboardContext:
        """From a :class:`simlib.data.Dataset` (see :func:`simlib.apps.session.open_data`)."""
        return cls.from_facts(tracking.prepare(data), currency=currency, data=data)

    @classmethod
    def from_demo(cls, demo_seed: int | None = None) -> DashboardContext:
        from simlib.apps.session import open_data

        return cls.from_data(open_data(demo_seed=demo_seed))

    # ---- the org tree
    @property
    def as_of(self) -> pd.Timestamp:
        return self.facts.as_of

    def _node_table(self) -> pd.DataFrame:
        if self._nodes is None:
            nt = self.facts.nodes.drop_duplicates("node_id").set_index("node_id")
            role = self.facts.reps.set_index("rep_id")["role"]
            self._nodes = nt.assign(role=role.reindex(nt.index).to_numpy())
        return self._nodes

    def known(self, node: str) -> bool:
        return node in self._node_table().index

    def level_of(self, node: str) -> str:
        return str(self._node_table().at[node, "level"])

    def name_of(self, node: str, lang: str = "en") -> str:
        """The node's name in ``lang`` (the Chinese name in zh-CN, when there is one)."""
        n = self._node_table().loc[node]
        zh = n["name_zh"]
        return str(zh) if lang == "zh-CN" and isinstance(zh, str) and zh else str(n["name"])

    def role_of(self, node: str) -> str:
        r = self._node_table().at[node, "role"]
        return r if isinstance(r, str) else ""

    def label_of(self, node: str, lang: str = "en") -> str:
        """The name people pick in a list: a manager or director says so."""
        name = self.name_of(node, lang)
        role = _ROLES.get(self.role_of(node))
        if role is None:
            return name
        return f"{name}（{role[1]}）" if lang == "zh-CN" else f"{name} ({role[0]})"

    def parent_of(self, node: str) -> str | None:
        p = self._node_table().at[node, "parent_id"]
        return p if isinstance(p, str) and p else None

    def _gone(self) -> set:
        reps = self.facts.reps
        return set(reps.loc[reps["leave_date"].notna(), "rep_id"])

    def _labels(self, ids, lang: str) -> list[tuple[str, str]]:
        """``(label, node_id)``: names, made unique with the parent's name when two agree."""
        labels = [self.label_of(n, lang) for n in ids]
        seen = pd.Series(labels).duplicated(keep=False).to_numpy()
        out = []
        for lab, n, dup in zip(labels, ids, seen):
            p = self.parent_of(n)
            if dup and p is not None:
                lab = f"{lab} · {self.name_of(p, lang)}"
            out.append((lab, n))
        return out

    def nodes(self, level: str, lang: str = "en") -> list[tuple[str, str]]:
        """``(name, node_id)`` options of a level; people who left are not offered."""
        nt = self._node_table()
        ids = [n for n in nt.index[nt["level"] == level]]
        if level == "rep":
            gone = self._gone()
            ids = [n for n in ids if n not in gone]
        return self._labels(sorted(ids), lang)

    def children(self, node: str) -> list[str]:
        nt = self._node_table()
        kids = nt.index[nt["parent_id"] == node]
        gone = self._gone()
        return sorted(k for k in kids if k not in gone)

    def path(self, node: str) -> list[str]:
        """The node and its ancestors, top first."""
        out = [node]
        while (p := self.parent_of(out[-1])) is not None:
            out.append(p)
        return out[::-1]

    def default(self, lang: str = "en") -> Controls:
        """The whole company, this month."""
        return Controls(period_options(self.as_of)[0], "company", self.nodes("company")[0][1], lang)

    def at_level(self, controls: Controls, level: str) -> Controls:
        """The controls moved to ``level``: up to the node's ancestor there, or down to
        its first descendant (the first node of the level when neither)."""
        node = controls.node
        if level == controls.level:
            return controls
        chain = self.path(node) if node else []
        up = [n for n in chain if self.level_of(n) == level]
        if up:
            return replace(controls, level=level, node=up[0])
        cur = node
        while cur and self.level_of(cur) != level:
            kids = [
                k
                for k in self.children(cur)
                if LEVELS.index(self.level_of(k)) <= LEVELS.index(level)
            ]
            cur = kids[0] if kids else None
        if cur is None:
            cur = self.nodes(level)[0][1]
        return replace(controls, level=level, node=cur)

    def drill(self, controls: Controls, node: str) -> Controls:
        """The controls focused on ``node`` (any level)."""
        return replace(controls, level=self.level_of(node), node=node)

    def up(self, controls: Controls) -> Controls:
        p = self.parent_of(controls.node)
        return controls if p is None else self.drill(controls, p)

    # ---- computed once
    @property
    def alerts(self) -> pd.DataFrame:
        """Today's active alerts of the company, ranked (:func:`simlib.tracking.rank_alerts`)."""
        if self._alerts is None:
            if self.data is not None:
                from simlib.apps.session import cached_for

                raw = cached_for(
                    self.data,
                    "tracking-alerts",
                    {"as_of": str(self.as_of)},
                    lambda: tracking.alerts(self.facts),
                )
            else:
                raw = tracking.alerts(self.facts)
            self._alerts = tracking.rank_alerts(raw)
        return self._alerts

    def trend(self, node: str, level: str, freq: str) -> pd.DataFrame:
        key = (level, freq)  # one call per level gives every node of it
        if key not in self._trend:
            periods = 8 if freq == "week" else 12
            self._trend[key] = tracking.trend(
                self.facts, ["revenue"], freq=freq, periods=periods, level=level
            )
        t = self._trend[key]
        return t[t["node_id"] == node].reset_index(drop=True)


def validate(controls: Controls, context: DashboardContext) -> dict[str, str]:
    """What is wrong with ``controls``, by control (``period``, ``node``), in the user's
    language; empty when the controls can be shown."""
    L, out = controls.lang, {}
    try:
        win = as_window(controls.period)
    except (ValueError, TypeError):
        out["period"] = _t("bad_period", L, v=controls.period)
    else:
        if win.start > context.as_of:
            out["period"] = _t("future_period", L, v=controls.period, d=context.as_of.date())
    if controls.node and not context.known(controls.node):
        out["node"] = _t("bad_node", L, v=controls.node)
    elif controls.node and context.level_of(controls.node) != controls.level:
        lv = _LEVEL_NAMES[controls.level][L == "zh-CN"]
        out["node"] = _t("wrong_level", L, v=context.label_of(controls.node, L), lv=lv)
    return out


def repair(controls: Controls, context: DashboardContext) -> tuple[Controls, dict[str, str]]:
    """Controls that can be shown, and the messages saying what was changed: an invalid
    period becomes this month, an unknown node the company, a node of another level its
    own level."""
    problems = validate(controls, context)
    c = controls
    if "period" in problems:
        p = period_options(context.as_of)[0]
        problems["period"] = _t("bad_period_shown", c.lang, msg=problems["period"], p=p)
        c = replace(c, period=p)
    if "node" in problems:
        if context.known(c.node):
            c = context.drill(c, c.node)
            del problems["node"]  # a node given at another level: its own level, no message
        else:
            c = replace(c, level="company", node=context.nodes("company")[0][1])
    if not c.node:
        c = replace(c, node=context.nodes(c.level)[0][1])
    return c, problems


# --------------------------------------------------------------------------- the pure view


@dataclass(frozen=True)
class DashboardView:
    """Everything the dashboard shows for one set of controls (tables, no widgets).

    Attributes
    ----------
    controls : Controls
    title : str
        The node's name and the period.
    path : list of (node_id, level, name)
        Breadcrumb, company first.
    row : Series
        The node's row of :func:`simlib.tracking.metrics` (the engine's numbers; for a
        manager or director, who sells nothing themselves, zeros and no target).
    kpis : DataFrame
        ``key, kpi, label, value, text, light``: one card per :data:`KPIS` entry.
    children : DataFrame
        The next level's :func:`~simlib.tracking.metrics` rows within the node (empty for a rep).
    wall : DataFrame
        Metrics rows of the status wall: the node's teams (company, region), the team and
        its people (team), the person (rep); with ``label`` and ``light``.
    alerts : DataFrame
        Active alerts of the people at or below the node, ranked by severity and grouped
        by person (:func:`simlib.tracking.rank_alerts`), in ``lang``.
    pareto : simlib.tracking.Pareto
    funnel : DataFrame
        The cohort funnel (:func:`simlib.tracking.funnel_steps`): ``stage, label,
        label_zh, count, step_conversion``; every stage ≤ the one before.
    trend : DataFrame
        :func:`~simlib.tracking.trend` of revenue for the node (weeks for a month,
        months for a quarter or year).
    note : str
        A sentence about the node when its figures need one (a manager), else "".
    pace_note : str
        The page's one definition of pace, with this period's numbers.
    """

    controls: Controls
    title: str
    path: list
    row: pd.Series = field(repr=False)
    kpis: pd.DataFrame = field(repr=False)
    children: pd.DataFrame = field(repr=False)
    wall: pd.DataFrame = field(repr=False)
    alerts: pd.DataFrame = field(repr=False)
    pareto: Any = field(repr=False)
    funnel: pd.DataFrame = field(repr=False)
    trend: pd.DataFrame = field(repr=False)
    units: Units = field(default_factory=Units, repr=False)
    note: str = ""
    pace_note: str = ""
    as_of: pd.Timestamp = None
    seconds: float = 0.0

    def kpi_text(self, key: str) -> str:
        return str(self.kpis.set_index("key").at[key, "text"])


def _kpi_text(col: str, v, L: str, units: Units) -> str:
    if col == "status":
        return STATUS_NAMES.get(v, (MISSING, MISSING))[L == "zh-CN"]
    if col in ("revenue", "target"):
        return units.amount(v, unit=True)
    if col in text.RATE_METRICS:
        return pct(v)
    if col == "nps":
        return MISSING if v != v or v is None else f"{v:+.0f}"
    return count(v)


def _own_row(f: Facts, context: DashboardContext, node: str, period: str) -> pd.Series:
    """A metrics row for a person with no row of their own (a manager or director sells
    nothing and has no target): the period's days from the parent's row, zero counts."""
    parent = context.parent_of(node) or node
    m = tracking.metrics(f, period, level=context.level_of(parent), within=parent)
    row = m[m["node_id"] == parent].iloc[0].copy()
    nt = context._node_table().loc[node]
    row["level"], row["node_id"] = "rep", node
    row["name"], row["name_zh"], row["parent_id"] = nt["name"], nt["name_zh"], nt["parent_id"]
    for c in tracking.COUNTS:
        row[c] = 0
    for c in ("target", "expected", *tracking.RATIOS, "nps"):
        row[c] = np.nan
    row["status"] = "no_target"
    return row


def _names(frame: pd.DataFrame, L: str) -> pd.Series:
    if L == "zh-CN":
        zh = frame["name_zh"].where(frame["name_zh"].map(lambda x: isinstance(x, str) and x != ""))
        return zh.fillna(frame["name"])
    return frame["name"]


def _alert_words(a: pd.DataFrame, context: DashboardContext, units: Units) -> pd.DataFrame:
    """The ranked alerts in the reader's words (:func:`simlib.views.alerts.alert_words`)."""
    L = units.lang

    def name_of(rep):
        return context.name_of(rep, L) if context.known(rep) else None

    def team_of(rep):
        team = context.parent_of(rep) if context.known(rep) else None
        return context.name_of(team, L) if team else None

    return _alerts.alert_words(a, units, name_of, team_of)


def compute(controls: Controls, context: DashboardContext) -> DashboardView:
    """The dashboard for one set of controls: a pure function of ``controls`` and ``context``.

    Raises
    ------
    ValueError
        Controls that :func:`validate` rejects (the message in the user's language).
    """
    t0 = time.perf_counter()
    f, L = context.facts, controls.lang
    c = controls if controls.node else replace(controls, node=context.nodes(controls.level)[0][1])
    problems = validate(c, context)
    if problems:
        raise ValueError(" ".join(problems.values()))
    node = c.node
    units = Units(L, currency=context.currency)
    m = tracking.metrics(f, c.period, level=c.level, within=node)
    own = m[m["node_id"] == node]
    note = ""
    if len(own):
        row = own.iloc[0]
    else:  # a person with no figures of their own this period
        row = _own_row(f, context, node, c.period)
        role = _ROLES.get(context.role_of(node))
        if role is not None:
            note = _t("no_own", L, name=context.name_of(node, L), role=role[L == "zh-CN"])
    kpis = pd.DataFrame(
        [
            dict(
                key=key,
                kpi=col,
                label=zh if L == "zh-CN" else en,
                value=row[col],
                text=_kpi_text(col, row[col], L, units),
                light=STATUS_LIGHT.get(row["status"], "grey") if col == "status" else "",
            )
            for key, (col, en, zh) in KPIS.items()
        ]
    )
    if c.level != "rep":
        child = LEVELS[LEVELS.index(c.level) + 1]
        children = tracking.metrics(f, c.period, level=child, within=node)
        children = children[children["node_id"] != node].reset_index(drop=True)
    else:
        children = m.iloc[0:0]
    # the status wall: the teams of a company or region, a team and its people, a person
    if c.level == "company":
        wall = tracking.metrics(f, c.period, level="team", within=node)
    elif c.level == "region":
        wall = children
    elif c.level == "team":
        reps = children[children["target"].notna() | (children["revenue"] > 0)]
        wall = pd.concat([own, reps.sort_values("attainment", ascending=False)])
    else:
        wall = own[own["target"].notna() | (own["revenue"] > 0)]
    if c.level in ("company", "region"):
        wall = wall.sort_values("attainment", ascending=False, na_position="last")
    wall = wall.reset_index(drop=True).rename(columns={"revenue": "actual"})
    wall = wall.assign(
        label=_names(wall, L).to_numpy() if len(wall) else [],
        light=wall["status"].map(STATUS_LIGHT).fillna("grey"),
    )
    members = set(f.members(node))
    al = context.alerts
    alerts = _alert_words(al[al["rep_id"].isin(members)], context, units)
    pareto = tracking.pareto_customers(f, c.period, within=node)
    fun = tracking.funnel(f, c.period, level=c.level, within=node)
    fun_row = fun[fun["node_id"] == node]
    funnel = tracking.funnel_steps(
        fun_row.iloc[0] if len(fun_row) else dict.fromkeys(tracking.FUNNEL_STAGES, 0)
    )
    freq = "week" if len(str(row["period"])) == 7 else "month"
    trend = context.trend(node, c.level, freq)
    path = [(n, context.level_of(n), context.name_of(n, L)) for n in context.path(node)]
    title = f"{context.name_of(node, L)} · {row['period']}"
    pace_note = _t(
        "pace_note",
        L,
        e=count(row["working_days_elapsed"]),
        w=count(row["working_days"]),
        p=pct(row["pace"], 0),
        d=min(pd.Timestamp(row["end"]), f.as_of).date(),
        x=units.amount(row["expected"], unit=True),
    )
    return DashboardView(
        controls=c,
        title=title,
        path=path,
        row=row,
        kpis=kpis,
        children=children,
        wall=wall,
        alerts=alerts,
        pareto=pareto,
        funnel=funnel,
        trend=trend,
        units=units,
        note=note,
        pace_note=pace_note,
        as_of=f.as_of,
        seconds=time.perf_counter() - t0,
    )


def figures(
    view: DashboardView, which=("wall", "pareto", "funnel", "trend"), *, bare: bool = False
) -> dict[str, Any]:
    """The view's matplotlib figures: ``wall``, ``pareto``, ``funnel``, ``trend``, each
    :data:`simlib.plots.tracking.WIDTH` inches wide (two side by side fill a 1440 px
    screen), amounts in the view's units.

    ``bare=True`` draws on pyplot-free figures with fixed margins (what the app turns
    into PNGs: faster, and nothing is left open); the default gives pyplot figures
    with a tight layout, for a notebook cell.
    """
    L, u = view.controls.lang, view.units
    w = view.wall

    def ax(height, **kw):
        return new_axes(WIDTH, height, **kw) if bare else None

    out = {}
    if "wall" in which:
        names = [
            ("  " if lv == "rep" and view.controls.level == "team" else "") + n
            for lv, n in zip(w["level"], w["label"])
        ]
        h = 0.34 * max(len(names), 1) + 1.7
        legend = {
            STATUS_LIGHT[s]: STATUS_NAMES[s][L == "zh-CN"]
            for s in ("ahead", "on_pace", "behind", "no_target")
        }
        out["wall"] = status_wall(
            names,
            w["attainment"],
            w["pace"],
            w["light"],
            lang=L,
            legend_labels=legend,
            title=f"{_t('wall', L)} · {view.title}",
            empty=_t("no_wall", L),
            ax=ax(h, left=0.24, right=0.97, bottom=0.7 / h, top=1 - 0.75 / h),
        )
    if "pareto" in which:
        out["pareto"] = pareto_chart(
            view.pareto.table,
            share=view.pareto.share,
            lang=L,
            units=u,
            ax=ax(3.4, left=0.12, right=0.88, top=0.9, bottom=0.1),
        )
    if "funnel" in which:
        out["funnel"] = funnel_chart(
            view.funnel,
            lang=L,
            title=_t("funnel", L, p=view.row["period"], d=view.as_of.date()),
            ax=ax(3.4, left=0.27, right=0.97, top=0.9, bottom=0.05),
        )
    if "trend" in which:
        out["trend"] = trend_chart(
            view.trend,
            lang=L,
            units=u,
            title=f"{_t('trend', L)} · {view.path[-1][2]}",
            ax=ax(3.4, left=0.12, right=0.97, bottom=0.2, top=0.9),
            names={m: _metric(m, L) for m in view.trend.get("metric", ())},
        )
    return out


def kpis_html(view: DashboardView, key: str) -> str:
    """One KPI card: its label and its value (the status in its colour)."""
    r = view.kpis.set_index("key").loc[key]
    color = f' style="color:{STATUS_COLORS[r["light"]]}"' if r["light"] else ""
    return (
        f'<div class="simlib-card"><div class="k">{_esc(r["label"])}</div>'
        f'<b class="v"{color}>{_esc(r["text"])}</b></div>'
    )


def children_html(view: DashboardView, currency: str | None = None) -> str:
    """The next level's figures (names, not ids), best attainment first."""
    L, u = view.controls.lang, view.units
    ch = view.children
    if ch.empty:
        return ""
    ch = ch.assign(
        label=_names(ch, L).to_numpy(),
        status_badge=[
            _badge(STATUS_LIGHT.get(s, "grey"), STATUS_NAMES.get(s, (MISSING,) * 2)[L == "zh-CN"])
            for s in ch["status"]
        ],
    ).sort_values("attainment", ascending=False, na_position="last")
    cols = [
        Col("label", "名称", "Name"),
        Col("revenue", "销售额", "Revenue", "amount"),
        Col("target", "目标", "Target", "amount"),
        Col("attainment", "达成率", "Attainment", "pct"),
        Col("pace_attainment", "进度达成率", "Revenue vs pace", "pct"),
        Col("status_badge", "状态", "Status", "html"),
        Col("collection_rate", "回款率", "Collection rate", "pct"),
        Col("win_rate", "赢单率", "Win rate", "pct"),
        Col("qualified_visits", "有效拜访量", "Qualified visits", "count"),
        Col("lead_conversion", "线索转化率", "Lead conversion", "pct"),
    ]
    return f"<h4>{_t('children', L)}</h4>" + table(ch, cols, u, sorted_by=_t("by_attainment", L))


def alerts_html(view: DashboardView, open_people: int = 5) -> str:
    """Active alerts ranked by severity and grouped by person (one fold per person)."""
    return _alerts.alerts_html(view.alerts, view.units, view.as_of, open_people=open_people)


# --------------------------------------------------------------------------- the app

#: Stable CSS classes of the app, for browser tests: key → class.
CSS: dict[str, str] = {
    "root": "simlib-tracking-dashboard",
    "title": "simlib-title",
    "period": "simlib-period",
    "level": "simlib-level",
    "node": "simlib-node",
    "lang": "simlib-lang",
    "drill": "simlib-drill",
    "up": "simlib-up",
    "period_error": "simlib-period-error",
    "node_error": "simlib-node-error",
    "path": "simlib-path",
    "message": "simlib-message",
    "note": "simlib-note-out",
    "pace": "simlib-pace-note",
    "timing": "simlib-timing",
    "kpis": "simlib-kpis",
    **{f"kpi_{k}": f"simlib-kpi-{k.replace('_', '-')}" for k in KPIS},
    "children": "simlib-children-out",
    "alerts": "simlib-alerts-out",
    "wall": "simlib-wall-out",
    "pareto": "simlib-pareto-out",
    "funnel": "simlib-funnel-out",
    "funnel_note": "simlib-funnel-note",
    "trend": "simlib-trend-out",
    # the appeals view
    "tabs": "simlib-tabs",
    "user": "simlib-user",
    "appeals_view": "simlib-appeals-view",
    "appeals_head": "simlib-appeals-head",
    "appeals": "simlib-appeals-out",
    "appeals_form": "simlib-appeals-form",
    "decide_title": "simlib-decide-title",
    "appeal": "simlib-appeal",
    "outcome": "simlib-outcome",
    "outcome_label": "simlib-outcome-label",
    "amount": "simlib-amount",
    "amount_error": "simlib-amount-error",
    "reason": "simlib-reason",
    "reason_error": "simlib-reason-error",
    "review": "simlib-review",
    "decide": "simlib-decide",
    "decide_status": "simlib-decide-status",
}

_APPEAL_OUTPUTS = (
    "user",
    "appeals_head",
    "appeals",
    "decide_title",
    "outcome_label",
    "amount_error",
    "reason_error",
    "decide_status",
)

_CHARTS = ("wall", "funnel", "trend", "pareto")

_APP_CSS = """
.simlib-tracking-dashboard { max-width: 1420px; }
.simlib-tracking-dashboard .simlib-card { min-width: 118px; padding: 6px 12px; }
.simlib-tracking-dashboard .simlib-card .v { font-size: 20px; }
.simlib-tracking-dashboard details.simlib-person { margin: 4px 0; }
.simlib-tracking-dashboard details.simlib-person summary { cursor: pointer; font-weight: 600; }
.simlib-tracking-dashboard .simlib-note, .simlib-pace-note, .simlib-funnel-note
  { color: #555; font-size: 12px; }
.simlib-tracking-dashboard .simlib-table td.txt { max-width: 360px; }
.simlib-tracking-dashboard .simlib-appeals-out .simlib-table td.txt { max-width: 260px; }
.simlib-tracking-dashboard .simlib-appeals-out small { color: #555; }
.simlib-tracking-dashboard .simlib-appeals-out td:nth-child(-n+3),
.simlib-tracking-dashboard .simlib-appeals-out td:nth-child(7),
.simlib-tracking-dashboard .simlib-appeals-out td:nth-child(8) { white-space: nowrap; }
.simlib-tracking-dashboard .simlib-user { color: #555; font-size: 13px; }
.simlib-tracking-dashboard .simlib-decide-status .ok { color: #2e7d32; }
"""


class TrackingDashboard:
    """The ipywidgets app: pick period, level and node, drill down, see KPIs, the status
    wall, the cohort funnel, alerts ranked by severity, the Pareto and trend charts.

    >>> app = TrackingDashboard.open(lang="zh-CN")   # doctest: +SKIP
    >>> app.show()                                   # doctest: +SKIP
    >>> app.controls["node"].value = "T-SH"          # doctest: +SKIP
    """

    def __init__(
        self,
        context: DashboardContext,
        controls: Controls | None = None,
        *,
        draw: bool = True,
        problems: dict[str, str] | None = None,
        user: str = "",
        ledger_url: str | None = None,
        clock=None,
    ):
        self.context = context
        self.user = str(user or "").strip()
        self.ledger_url = ledger_url
        self._clock = clock or (lambda: _dt.datetime.now(_dt.UTC))
        self._ledger = None  # opened on first use, once its file exists (never created here)
        self._appeals_key = None  # (node, lang, generation) the appeals view shows
        self._appeals_gen = 0
        self.appeals: pd.DataFrame | None = None
        self.state = controls or context.default()
        self.draw = draw
        self.view: DashboardView | None = None
        self.problems: dict[str, str] = dict(problems or {})
        self.failed = False
        self._quiet = False
        self._widget = None
        self.last_seconds = 0.0
        self._views: dict = {}  # Controls → DashboardView: a node seen before shows at once
        self._png: dict = {}  # (controls or node, chart) → PNG bytes

    @classmethod
    def app(cls, period: str = "", node: str = "", lang: str = "", **kw):
        """Show the dashboard in a notebook or Voilà page: a progress line while the data
        loads, then the app (see :meth:`open`). Returns the app or None."""
        from simlib.apps.session import app_lang, show_when_ready

        L = app_lang(lang)
        return show_when_ready(lambda: cls.open(period, node, L, **kw), L, "tracking_dashboard")

    @classmethod
    def open(
        cls,
        period: str = "",
        node: str = "",
        lang: str = "",
        source: str = "",
        mapping: str = "",
        demo_seed: int | None = None,
        user: str = "",
        **kw,
    ):
        """The app on the user's export (``source``/``mapping``, else ``simlib app
        --data``, else the demo company), in the page's language
        (:func:`simlib.apps.session.app_lang`), for the person using it
        (:func:`simlib.apps.session.app_user`: ``?user=`` in the address, else ``user``).
        Invalid ``period`` or ``node`` are replaced and said next to their control; data
        that does not open gives a page that says why."""
        from simlib.apps.session import app_lang, app_user, open_data

        L = app_lang(lang)
        kw["user"] = app_user(user)
        try:
            ctx = DashboardContext.from_data(open_data(source, mapping, demo_seed))
        except Exception as e:  # noqa: BLE001 - said on the page, in the user's language
            log.exception("tracking dashboard: the data did not open")
            return _Unopened(L, str(e))
        wanted = Controls(period or period_options(ctx.as_of)[0], "company", node or "", L)
        if node and ctx.known(node):
            wanted = ctx.drill(wanted, node)
        c, problems = repair(wanted, ctx)
        return cls(ctx, c, problems=problems, **kw)

    @classmethod
    def from_demo(
        cls,
        period: str | None = None,
        node: str | None = None,
        lang: str = "en",
        demo_seed: int | None = None,
        **kw,
    ) -> TrackingDashboard:
        ctx = DashboardContext.from_demo(demo_seed)
        c = ctx.default(lang)
        if period:
            c = replace(c, period=period)
        if node:
            c = ctx.drill(c, node)
        return cls(ctx, c, **kw)

    # ---- building
    def build(self):
        if self._widget is not None:
            return self._widget
        import ipywidgets as w

        ctx, s, L = self.context, self.state, self.state.lang
        wide = {"description_width": "64px"}
        periods = period_options(ctx.as_of)
        if s.period not in periods:
            periods = [s.period] + periods
        c: dict[str, Any] = {}
        c["period"] = w.Dropdown(
            options=periods,
            value=s.period,
            description=_t("period", L),
            style=wide,
            layout=w.Layout(width="200px"),
        )
        c["level"] = w.Dropdown(
            options=[(_LEVEL_NAMES[lv][L == "zh-CN"], lv) for lv in LEVELS],
            value=s.level,
            description=_t("level", L),
            style=wide,
            layout=w.Layout(width="190px"),
        )
        c["node"] = w.Dropdown(
            options=ctx.nodes(s.level, L),
            value=s.node,
            description=_t("node", L),
            style=wide,
            layout=w.Layout(width="300px"),
        )
        c["drill"] = w.Dropdown(
            options=[], description=_t("drill", L), style=wide, layout=w.Layout(width="300px")
        )
        c["up"] = w.Button(description=_t("up", L), layout=w.Layout(width="100px"))
        c["lang"] = w.ToggleButtons(
            options=[("English", "en"), ("中文", "zh-CN")], value=L, style={"button_width": "70px"}
        )
        c.update(self._appeal_controls(w, L))
        for k, ctl in c.items():
            ctl.add_class(CSS[k])
        self.controls = c
        o: dict[str, Any] = {}
        for k in (
            "title",
            "path",
            "message",
            "note",
            "pace",
            "timing",
            "children",
            "alerts",
            "period_error",
            "node_error",
            "funnel_note",
            *[f"kpi_{k}" for k in KPIS],
            *_APPEAL_OUTPUTS,
        ):
            o[k] = w.HTML()
        for k in _CHARTS:
            o[k] = w.Image(format="png", layout=w.Layout(width="100%", height="auto"))
        for k, out in o.items():
            out.add_class(CSS[k])
        self.outputs = o
        cards = w.HBox(
            [o[f"kpi_{k}"] for k in KPIS], layout=w.Layout(flex_flow="row wrap", grid_gap="8px")
        )
        cards.add_class(CSS["kpis"])
        bar = w.VBox(
            [
                w.HBox(
                    [
                        w.VBox([c["period"], o["period_error"]]),
                        c["level"],
                        w.VBox([c["node"], o["node_error"]]),
                        c["drill"],
                        c["up"],
                        c["lang"],
                    ],
                    layout=w.Layout(flex_flow="row wrap", align_items="flex-start"),
                ),
            ]
        )

        def col(*items):
            return w.VBox(list(items), layout=w.Layout(width="49.5%"))

        row = {"justify_content": "space-between", "width": "100%"}
        charts = w.VBox(
            [
                w.HBox(
                    [col(o["wall"]), col(o["funnel"], o["funnel_note"])], layout=w.Layout(**row)
                ),
                w.HBox([col(o["trend"]), col(o["pareto"])], layout=w.Layout(**row)),
            ]
        )
        style = w.HTML(f"<style>{PAGE_CSS}{_APP_CSS}</style>")
        overview = w.VBox(
            [o["note"], cards, o["pace"], charts, o["children"], o["alerts"], o["timing"]]
        )
        form = w.VBox(
            [
                o["decide_title"],
                w.HBox([c["appeal"]]),
                w.HBox(
                    [o["outcome_label"], c["outcome"], w.VBox([c["amount"], o["amount_error"]])],
                    layout=w.Layout(flex_flow="row wrap", align_items="flex-start"),
                ),
                w.VBox([c["reason"], o["reason_error"]]),
                w.HBox(
                    [c["review"], c["decide"], o["decide_status"]],
                    layout=w.Layout(align_items="center"),
                ),
            ]
        )
        form.add_class(CSS["appeals_form"])
        self._form = form
        appeals = w.VBox([o["appeals_head"], o["appeals"], form])
        appeals.add_class(CSS["appeals_view"])
        tabs = w.Tab(children=[overview, appeals])
        tabs.add_class(CSS["tabs"])
        self._tabs = tabs
        root = w.VBox([style, o["title"], o["user"], bar, o["path"], o["message"], tabs])
        root.add_class(CSS["root"])
        self._widget = root
        for k in ("period", "level", "node", "lang", "drill"):
            c[k].observe(self._on_change, names="value")
        c["up"].on_click(self._on_up)
        c["outcome"].observe(lambda ch: self._guard(self._on_outcome, ch), names="value")
        c["review"].on_click(lambda b: self._appeal_action(self._on_review))
        c["decide"].on_click(lambda b: self._appeal_action(self._on_decide))
        self._relabel(L)
        problems = self.problems
        self.set_controls(self.state)
        self._say(problems)  # what was repaired when the app opened
        return root

    def show(self):
        """The app's widget (the notebook displays it): title, one line of what it is for,
        the controls and the views."""
        return self.build()

    def _ipython_display_(self):
        from IPython.display import display

        display(self.build())

    # ---- state ↔ widgets
    def set_controls(self, controls: Controls) -> DashboardView | None:
        """Show ``controls`` in the widgets and refresh the outputs."""
        self.state = controls
        if self._widget is None:
            self.view = compute(controls, self.context)
            return self.view
        ctx, c, L = self.context, self.controls, controls.lang
        self._quiet = True
        try:
            if c["period"].value != controls.period:
                c["period"].value = controls.period
            if c["level"].value != controls.level:
                c["level"].value = controls.level
            opts = ctx.nodes(controls.level, L)
            if controls.node not in {n for _, n in opts}:  # someone who left, asked for by id
                opts = opts + [(ctx.label_of(controls.node, L), controls.node)]
            if list(c["node"].options) != opts:
                c["node"].options = opts
            c["node"].value = controls.node
            if c["lang"].value != L:
                c["lang"].value = L
            kids = ctx.children(controls.node)
            c["drill"].options = [(_t("drill_none", L), "")] + ctx._labels(kids, L)
            c["drill"].value = ""
            c["drill"].disabled = not kids
            c["up"].disabled = ctx.parent_of(controls.node) is None
        finally:
            self._quiet = False
        self._say({})
        self._refresh()
        return self.view

    def _say(self, problems: dict[str, str]) -> None:
        """Messages next to the controls they are about (cleared when ``problems`` is empty)."""
        self.problems = dict(problems)
        for k in ("period", "node"):
            msg = problems.get(k)
            self.outputs[f"{k}_error"].value = field_error(msg) if msg else ""

    def _guard(self, fn, *args) -> None:
        """Run a callback; an unexpected error is logged and shown as an apology, with
        every view blanked (never the previous state's numbers)."""
        try:
            fn(*args)
        except Exception:  # noqa: BLE001 - a widget callback must never fail silently
            log.exception("tracking dashboard: a callback failed (state %r)", self.state)
            self._fail()

    def _fail(self) -> None:
        self.failed = True
        self.view = None
        self._blank()
        self.outputs["message"].value = apology(self.state.lang)

    def _blank(self) -> None:
        o = self.outputs
        for k in (
            "path",
            "note",
            "pace",
            "children",
            "alerts",
            "timing",
            "funnel_note",
            *[f"kpi_{k}" for k in KPIS],
            "appeals_head",
            "appeals",
            "decide_status",
        ):
            o[k].value = ""
        for k in _CHARTS:
            o[k].layout.display = "none"
        self._form.layout.display = "none"
        self._appeals_key = None

    def _on_change(self, change) -> None:
        if not self._quiet:
            self._guard(self._change, change)

    def _change(self, change) -> None:
        c, ctx, s = self.controls, self.context, self.state
        owner = change["owner"]
        if owner is c["level"]:
            new = ctx.at_level(s, change["new"])
        elif owner is c["drill"]:
            if not change["new"]:
                return
            new = ctx.drill(s, change["new"])
        elif owner is c["node"]:
            new = replace(s, node=change["new"])
        elif owner is c["lang"]:
            new = replace(s, lang=change["new"])
            self._relabel(new.lang)
        else:
            new = replace(s, period=change["new"])
        self.set_controls(new)

    def _on_up(self, _button=None) -> None:
        self._guard(lambda: self.set_controls(self.context.up(self.state)))

    def _relabel(self, L: str) -> None:
        c = self.controls
        for k in ("period", "level", "node", "drill"):
            c[k].description = _t(k, L)
        c["up"].description = _t("up", L)
        self._quiet = True
        try:
            lv = c["level"].value
            c["level"].options = [(_LEVEL_NAMES[x][L == "zh-CN"], x) for x in LEVELS]
            c["level"].value = lv
        finally:
            self._quiet = False
        self.outputs["title"].value = (
            f"<h2 style='margin:0.2em 0'>{_esc(_t('title', L))}</h2>"
            f"<p style='margin:0 0 0.6em;color:#444'>{_esc(_t('intro', L))}</p>"
        )
        self._relabel_appeals(L)

    def _refresh(self) -> None:
        t0 = time.perf_counter()
        o = self.outputs
        problems = validate(self.state, self.context)
        if problems:  # said next to the control; nothing else shown
            self._say(problems)
            self.view = None
            self._blank()
            o["message"].value = ""
            return
        v = self._views.get(self.state) or compute(self.state, self.context)
        self._views[self.state] = v
        self.view, self.failed = v, False
        # the charts are drawn before any output changes, so the page never shows the new
        # cards over the previous state's charts
        if self.draw:
            s = v.controls
            keys = {
                "wall": (s, "wall"),
                "pareto": (s, "pareto"),
                "funnel": (s, "funnel"),
                "trend": (s.node, s.lang, len(str(v.row["period"])) == 7, "trend"),
            }
            todo = [k for k, key in keys.items() if key not in self._png]
            for k, fig in figures(v, todo, bare=True).items():
                self._png[keys[k]] = figure_png(fig)
            for k, key in keys.items():
                if o[k].value != self._png[key]:
                    o[k].value = self._png[key]
                o[k].layout.display = None
        L = v.controls.lang
        o["message"].value = ""
        o["path"].value = (
            " › ".join(
                f"<b>{_esc(n)}</b>" if i == len(v.path) - 1 else _esc(n)
                for i, (_, _, n) in enumerate(v.path)
            )
            + f" · {_esc(v.controls.period)}"
        )
        o["note"].value = f"<p class='simlib-note'>{_esc(v.note)}</p>" if v.note else ""
        for k in KPIS:
            o[f"kpi_{k}"].value = kpis_html(v, k)
        o["pace"].value = f"<p class='simlib-pace-note'>{_esc(v.pace_note)}</p>"
        o[
            "funnel_note"
        ].value = (
            f"<p class='simlib-funnel-note'>{_esc(_t('funnel_note', L, d=v.as_of.date()))}</p>"
        )
        o["children"].value = children_html(v)
        o["alerts"].value = alerts_html(v)
        self._refresh_appeals()
        self.last_seconds = time.perf_counter() - t0
        o["timing"].value = f"<small>{_esc(_t('as_of', L, d=v.as_of.date()))}</small>"

    # ---- the appeals view (issue 15)
    def _appeal_controls(self, w, L: str) -> dict[str, Any]:
        wide = {"description_width": "90px"}
        return {
            "appeal": w.Dropdown(
                options=[], style=wide, layout=w.Layout(width="640px"), description=""
            ),
            "outcome": w.ToggleButtons(
                options=_appeals.outcome_choices(L),
                value="partly_accepted",
                style={"button_width": "130px"},
                layout=w.Layout(width="420px"),
            ),
            "amount": w.Text(
                value="", style={"description_width": "initial"}, layout=w.Layout(width="300px")
            ),
            "reason": w.Textarea(value="", style=wide, layout=w.Layout(width="640px")),
            "review": w.Button(layout=w.Layout(width="130px")),
            "decide": w.Button(button_style="primary", layout=w.Layout(width="130px")),
        }

    def _appeal_units(self, L: str) -> Units:
        """The appeals view's one unit: yuan to the cent, as on the statements."""
        return Units(L, scale="yuan", currency=self.context.currency)

    def _relabel_appeals(self, L: str) -> None:
        c, o = self.controls, self.outputs
        c["appeal"].description = _t("appeal", L)
        o["outcome_label"].value = (
            f"<span style='display:inline-block;width:86px;text-align:right;"
            f"padding-right:8px'>{_esc(_t('outcome', L))}</span>"
        )
        u = self._appeal_units(L)
        c["amount"].description = _t("amount", L, u=u.label())
        c["amount"].placeholder = _t("amount_hint", L)
        c["reason"].description = _t("reason", L)
        c["reason"].placeholder = _t("reason_hint", L)
        c["review"].description = _t("review", L)
        c["decide"].description = _t("decide", L)
        self._quiet = True
        try:
            v = c["outcome"].value
            c["outcome"].options = _appeals.outcome_choices(L)
            c["outcome"].value = v
        finally:
            self._quiet = False
        o["decide_title"].value = f"<h4>{_esc(_t('decide_title', L))}</h4>"
        o["user"].value = self._user_html(L)
        for k in ("amount_error", "reason_error", "decide_status"):
            o[k].value = ""
        self._set_tab_titles(L)

    def _set_tab_titles(self, L: str) -> None:
        tabs = getattr(self, "_tabs", None)
        if tabs is None:
            return
        f = self.appeals
        n = int(f["is_open"].sum()) if f is not None and len(f) else 0
        appeals = _t("tab_appeals_n", L, n=n) if n else _t("tab_appeals", L)
        tabs.titles = (_t("tab_overview", L), appeals)

    def _people(self):
        """(reps, org) of the data, for the roster."""
        data = self.context.data
        if data is not None:
            return data.reps, data.tables.get("org")
        return self.context.facts.reps, None

    def _ledger_url(self) -> str:
        from simlib.ledger.params import load_appeal_params, resolve_ledger_url

        return resolve_ledger_url(self.ledger_url, load_appeal_params())

    def ledger(self):
        """The ledger, or None while it has not been created (no statement issued yet);
        this page never creates it."""
        if self._ledger is None:
            from simlib.ledger import open_ledger
            from simlib.ledger.params import ledger_exists

            url = self._ledger_url()
            if not ledger_exists(url):
                return None
            reps, org = self._people()
            self._ledger = open_ledger(reps, org, url=url)
        return self._ledger

    def roster(self):
        """The people and roles of the data (the ledger's roster when it is open)."""
        if self._ledger is not None:
            return self._ledger.roster
        from simlib.ledger import Roster
        from simlib.ledger.params import load_appeal_params

        reps, org = self._people()
        return Roster.from_tables(reps, org, admins=load_appeal_params().admins)

    def person(self):
        """``(person, "")`` for the signed-in user, ``(None, message)`` when the name is
        not known, ``(None, "")`` without a user."""
        from simlib.ledger import LedgerError

        if not self.user:
            return None, ""
        try:
            return self.roster().resolve(self.user), ""
        except LedgerError as e:
            return None, e.message(self.state.lang)

    def _user_html(self, L: str) -> str:
        p, msg = self.person()
        if msg:
            return field_error(msg)
        if p is None:
            return ""
        return f"<p class='simlib-signed-in'>{_esc(_appeals.signed_in_text(p, L))}</p>"

    def today(self) -> _dt.date:
        """Today in the ledger's time zone (deadlines count in it)."""
        led = self._ledger
        now = self._clock()
        return led.local_date(now) if led is not None else now.astimezone(_SHANGHAI).date()

    def _refresh_appeals(self, force: bool = False) -> None:
        """The appeals of the people under the drilled node that the user may see."""
        s = self.state
        key = (s.node, s.lang, self._appeals_gen)
        if key == self._appeals_key and not force:
            return
        try:
            self._show_appeals()
        except Exception:  # noqa: BLE001 - the ledger unreadable: said in the appeals view only
            log.exception("tracking dashboard: the appeals could not be read (user %r)", self.user)
            self.appeals = None
            o = self.outputs
            o["appeals_head"].value = apology(s.lang)
            o["appeals"].value = ""
            self._form.layout.display = "none"
            self._set_tab_titles(s.lang)
            return
        self._appeals_key = key

    def _show_appeals(self) -> None:
        s, ctx, o, c = self.state, self.context, self.outputs, self.controls
        L = s.lang
        node_name = ctx.name_of(s.node, L) if ctx.known(s.node) else ""
        led = self.ledger()
        p, msg = self.person()
        head = [f"<h3>{_esc(_t('appeals_title', L, node=node_name))}</h3>"]
        if led is None:
            self.appeals = None
            roster = self.roster()
            boss = next((q for q in roster.people.values() if q.role == "director"), None)
            who = boss.display(L) if boss is not None else "WHO"
            head.append(f"<p class='simlib-no-ledger'>{_esc(_t('no_ledger', L, who=who))}</p>")
            o["appeals_head"].value = "".join(head)
            o["appeals"].value = ""
            self._form.layout.display = "none"
            self._set_tab_titles(L)
            return
        today = self.today()
        frame = _appeals.appeal_frame(
            led,
            today=today,
            viewer=p,  # None: what a director sees, read-only
            reps=ctx.facts.members(s.node) if ctx.known(s.node) else None,
            lang=L,
        )
        self.appeals = frame
        head.append(
            f"<p class='simlib-appeals-intro'>"
            f"{_esc(_t('appeals_intro', L, node=node_name, n=led.decision_working_days, d=today))}"
            f"</p><p class='simlib-appeals-summary'><b>"
            f"{_esc(_appeals.summary_text(frame, L))}</b></p>"
        )
        if p is None:
            head.append(f"<p class='simlib-read-only'>{_esc(_t('read_only', L))}</p>")
        o["appeals_head"].value = "".join(head)
        o["appeals"].value = _appeals.appeals_html(frame, self._appeal_units(L), led.roster)
        # the form: for a signed-in person (the ledger says whether they may decide)
        self._form.layout.display = None if p is not None else "none"
        choices = _appeals.appeal_choices(frame, L)
        self._quiet = True
        try:
            keep = c["appeal"].value
            c["appeal"].options = choices or [(_t("no_open", L), None)]
            ids = [i for _, i in choices]
            c["appeal"].value = keep if keep in ids else (ids[0] if ids else None)
        finally:
            self._quiet = False
        for k in ("review", "decide", "appeal"):
            c[k].disabled = not choices
        self._enable_amount()
        self._set_tab_titles(L)

    def _on_outcome(self, _change=None) -> None:
        self._enable_amount()
        self.outputs["amount_error"].value = ""

    def _enable_amount(self) -> None:
        """The amount is read for an accepted or partly accepted appeal only."""
        c = self.controls
        c["amount"].disabled = c["outcome"].value == "rejected" or c["decide"].disabled

    def _status(self, ok: bool, text: str) -> None:
        cls = "ok" if ok else ""
        self.outputs["decide_status"].value = (
            f"<span class='{cls}'>{_esc(text)}</span>" if ok else field_error(text)
        )

    def _appeal_action(self, action) -> None:
        """Run a form action as the signed-in person: a refusal of the ledger is said next
        to the button in the user's language; an unexpected error is logged and
        apologised for; the table is read again either way (another manager may have
        decided in the meantime)."""
        from simlib.ledger import LedgerError

        L = self.state.lang
        o = self.outputs
        for k in ("amount_error", "reason_error", "decide_status"):
            o[k].value = ""
        try:
            action()
        except LedgerError as e:
            self._status(False, e.message(L))
        except Exception:  # noqa: BLE001 - a widget callback must never fail silently
            log.exception("tracking dashboard: an appeal action failed (user %r)", self.user)
            o["decide_status"].value = apology(L)
        self._appeals_gen += 1
        try:
            self._refresh_appeals()
        except Exception:  # noqa: BLE001
            log.exception("tracking dashboard: the appeals could not be read again")

    def _chosen(self):
        """(person, appeal id), or None with the reason said next to the button."""
        p, msg = self.person()
        aid = self.controls["appeal"].value
        if p is None or self._ledger is None:
            self._status(False, msg or _t("read_only", self.state.lang))
            return None
        if aid is None:
            self._status(False, _t("pick_appeal", self.state.lang))
            return None
        return p, int(aid)

    def _on_review(self) -> None:
        got = self._chosen()
        if got is None:
            return
        p, aid = got
        a = self._ledger.start_review(p, aid)
        self._status(True, _t("reviewing", self.state.lang, id=a.id, due=a.decision_due))

    def _on_decide(self) -> None:
        got = self._chosen()
        if got is None:
            return
        p, aid = got
        L, c, o = self.state.lang, self.controls, self.outputs
        units = self._appeal_units(L)
        cents, problems = _appeals.check_decision(
            c["outcome"].value, c["amount"].value, c["reason"].value, units
        )
        if problems:
            o["amount_error"].value = (
                field_error(problems["amount"]) if "amount" in problems else ""
            )
            o["reason_error"].value = (
                field_error(problems["reason"]) if "reason" in problems else ""
            )
            if "outcome" in problems:
                self._status(False, problems["outcome"])
            return
        led = self._ledger
        a = led.decide(p, aid, c["outcome"].value, cents, c["reason"].value)
        state = _appeals.state_label(a.state, L)
        if a.reissued_statement_id is not None:
            st = led.statement(a.reissued_statement_id)
            text_ = _t(
                "decided_reissued",
                L,
                id=a.id,
                state=state,
                period=st.period,
                v=st.version,
                a=units.amount(a.cents / 100, unit=True, sign=True),
                p=units.amount(st.payable_cents / 100, unit=True),
            )
        else:
            text_ = _t("decided", L, id=a.id, state=state)
        self._status(True, text_)
        self._quiet = True
        try:
            c["reason"].value = ""
            c["amount"].value = ""
        finally:
            self._quiet = False

    def close(self) -> None:
        """Let the ledger's connections go."""
        if self._ledger is not None:
            self._ledger.close()
            self._ledger = None


class _Unopened:
    """What :meth:`TrackingDashboard.open` gives when the data does not open: the page
    says so, in the user's language, with the loader's message (it names the file and
    the column)."""

    def __init__(self, lang: str, message: str):
        self.lang, self.message = lang, message
        self.failed = True

    def show(self):
        import ipywidgets as w

        L = self.lang
        return w.VBox(
            [
                w.HTML(f"<h2>{_esc(_t('title', L))}</h2>"),
                w.HTML(field_error(_t("open_failed", L, msg=self.message))),
            ]
        )

    def _ipython_display_(self):
        from IPython.display import display

        display(self.show())
