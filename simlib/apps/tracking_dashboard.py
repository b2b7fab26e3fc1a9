"""The tracking dashboard, and the views the team-review templates show (SPEC R6-R8, R16, R18).

Three layers, each usable on its own:

1. :class:`Controls`, a frozen record of the control values: ``period`` (``2026-11``,
   ``2026-Q4``, ``2026``), ``level`` (company / region / team / rep), ``node`` (an org
   node or rep id at that level) and ``lang`` (``en`` / ``zh-CN``).
2. :func:`compute` ``(controls, context) -> DashboardView``: a pure function of the
   controls and a :class:`DashboardContext` (the :class:`simlib.tracking.Facts`
   prepared once, the org tree, today's alerts checked once). Every number comes from
   :mod:`simlib.tracking` (``metrics``, ``target_wall``, ``alerts``, ``pareto_customers``,
   ``trend``); nothing is re-implemented here. :func:`figures` draws a view.
3. :class:`TrackingDashboard`, the ipywidgets app: period, level, node and language
   controls plus a drill-down (into a child node, or up to the parent), every control
   and output with a stable CSS class ``simlib-...`` for browser tests. ipywidgets and
   matplotlib are imported only when the app is built.

The review templates in ``notebooks/reports`` call the report views at the end of this
module, each a pure function of its parameters returning an object whose methods give
one displayable section per notebook cell: :func:`weekly_review`,
:func:`monthly_review`, :func:`rep_pack`.

Examples
--------
>>> from simlib.apps.tracking_dashboard import Controls, DashboardContext, compute
>>> ctx = DashboardContext.from_demo()                                   # doctest: +SKIP
>>> view = compute(Controls("2026-11", "team", "T-SH"), ctx)             # doctest: +SKIP
>>> view.kpis.set_index("kpi").at["revenue", "value"]                    # doctest: +SKIP
"""

from __future__ import annotations

import html
import math
import time
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from simlib import tracking
from simlib.memo import memo_on
from simlib.tracking import text
from simlib.tracking.facts import LEVELS, Facts

__all__ = [
    "Controls",
    "DashboardContext",
    "DashboardView",
    "compute",
    "figures",
    "period_options",
    "KPIS",
    "CSS",
    "TrackingDashboard",
    "load_facts",
    "WeeklyReview",
    "weekly_review",
    "MonthlyReview",
    "monthly_review",
    "RepPack",
    "rep_pack",
]

LANGS = ("en", "zh-CN")

#: The KPI cards: key → (metrics column, English label, Chinese label).
KPIS: dict[str, tuple[str, str, str]] = {
    "revenue": ("revenue", "Revenue", "销售额"),
    "target": ("target", "Target", "目标"),
    "attainment": ("attainment", "Attainment", "达成率"),
    "pace": ("pace_attainment", "Attainment of pace", "进度达成率"),
    "status": ("status", "Status", "状态"),
    "collection_rate": ("collection_rate", "Collection rate", "回款率"),
    "win_rate": ("win_rate", "Win rate", "赢单率"),
    "new_customers": ("new_customers", "New customers", "新客户数"),
    "qualified_visits": ("qualified_visits", "Qualified visits", "有效拜访量"),
    "lead_conversion": ("lead_conversion", "Lead conversion", "线索转化率"),
    "nps": ("nps", "NPS", "客户净推荐值"),
}

#: Funnel stages: metrics column → (English, Chinese).
FUNNEL: dict[str, tuple[str, str]] = {
    "leads": ("New leads", "新线索"),
    "qualified_leads": ("Qualified leads", "合格线索"),
    "leads_converted": ("Converted to opportunity", "转为商机"),
    "proposals": ("Proposals", "方案提交"),
    "deals_won": ("Deals won", "成交"),
}

_STATUS = {
    "ahead": ("ahead of pace", "超进度"),
    "on_pace": ("on pace", "符合进度"),
    "behind": ("behind pace", "落后进度"),
    "not_started": ("not started", "未开始"),
    "no_target": ("no target", "无目标"),
}
_LEVEL_NAMES = {
    "company": ("Company", "公司"),
    "region": ("Region", "大区"),
    "team": ("Team", "团队"),
    "rep": ("Rep", "销售"),
}

_WORDS = {
    "title": ("Sales tracking dashboard", "销售跟踪看板"),
    "period": ("Period", "周期"),
    "level": ("Level", "层级"),
    "node": ("Node", "节点"),
    "lang": ("Language", "语言"),
    "drill": ("Drill into", "下钻"),
    "up": ("Up", "上一级"),
    "children": ("Breakdown", "下级明细"),
    "alerts": ("Active alerts", "当前预警"),
    "no_alerts": ("No active alert.", "无当前预警。"),
    "alerts_note": (
        "Alerts active on {d} (rules of params/alerts.yaml, checked weekly).",
        "截至{d}仍有效的预警（params/alerts.yaml 规则，每周检查）。",
    ),
    "wall": ("Target wall", "目标墙"),
    "pareto": ("Customer Pareto", "客户帕累托"),
    "funnel": ("Funnel", "销售漏斗"),
    "trend": ("Revenue trend", "销售额趋势"),
    "name": ("Name", "名称"),
    "rep": ("Rep", "销售"),
    "rule": ("Rule", "规则"),
    "raised": ("Raised", "触发日"),
    "evidence": ("Evidence", "依据"),
    "diagnosis": ("Diagnosis", "诊断"),
    "intervention": ("Intervention", "建议措施"),
    "computed": ("computed in {s:.0f} ms", "计算耗时 {s:.0f} 毫秒"),
    "as_of": ("data to {d}", "数据截至{d}"),
}


def _w(key: str, lang: str) -> str:
    en, zh = _WORDS[key]
    return zh if lang == "zh-CN" else en


def _check_lang(lang: str) -> None:
    if lang not in LANGS:
        raise ValueError(f"lang must be 'en' or 'zh-CN'; got {lang!r}")


def _esc(s: Any) -> str:
    return html.escape(str(s))


def load_facts(demo_seed: int | None = None, *, source: str = "", mapping: str = "") -> Facts:
    """The company's facts, prepared once per dataset (see :func:`simlib.data.load_source`;
    no ``source``: the demo company, ``demo_seed=None`` the shipped one)."""
    from simlib.data import load_source

    data = load_source(source, mapping, demo_seed)
    # One company at a time, kept while its data is unchanged (load_source returns the
    # same object then): a report batch renders many documents in one kernel.
    key = (demo_seed,) if not source else (source, mapping, id(data))
    if key not in _FACTS:
        _FACTS.clear()
        _FACTS[key] = (data, tracking.prepare(data))
    return _FACTS[key][1]


_FACTS: dict = {}


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

    ``alerts`` (the active alerts of the whole company on ``facts.as_of``, about two
    seconds to check) is computed on first use and kept; so is each node's trend.
    """

    facts: Facts
    currency: str = "CNY"
    _alerts: pd.DataFrame | None = field(default=None, repr=False)
    _trend: dict = field(default_factory=dict, repr=False)

    @classmethod
    def from_facts(cls, facts, *, currency: str | None = None) -> DashboardContext:
        return cls(tracking.prepare(facts), currency or text.company_currency())

    @classmethod
    def from_demo(cls, demo_seed: int | None = None) -> DashboardContext:
        return cls.from_facts(load_facts(demo_seed))

    # ---- the org tree
    @property
    def as_of(self) -> pd.Timestamp:
        return self.facts.as_of

    def _node_table(self) -> pd.DataFrame:
        return self.facts.nodes.drop_duplicates("node_id").set_index("node_id")

    def level_of(self, node: str) -> str:
        return str(self._node_table().at[node, "level"])

    def name_of(self, node: str, lang: str = "en") -> str:
        n = self._node_table().loc[node]
        return (
            str(n["name_zh"])
            if lang == "zh-CN" and isinstance(n["name_zh"], str)
            else str(n["name"])
        )

    def parent_of(self, node: str) -> str | None:
        p = self._node_table().at[node, "parent_id"]
        return p if isinstance(p, str) and p else None

    def nodes(self, level: str, lang: str = "en") -> list[tuple[str, str]]:
        """``(label, node_id)`` options of a level; reps who left are not offered."""
        nt = self.facts.nodes.drop_duplicates("node_id")
        nt = nt[nt["level"] == level]
        if level == "rep":
            gone = self.facts.reps.loc[self.facts.reps["leave_date"].notna(), "rep_id"]
            nt = nt[~nt["node_id"].isin(set(gone))]
        col = "name_zh" if lang == "zh-CN" else "name"
        return [
            (f"{r[col] if isinstance(r[col], str) else r['name']} ({r['node_id']})", r["node_id"])
            for _, r in nt.sort_values("node_id").iterrows()
        ]

    def children(self, node: str) -> list[str]:
        nt = self.facts.nodes.drop_duplicates("node_id")
        kids = nt[nt["parent_id"] == node]
        if self.level_of(node) == "team":
            gone = set(self.facts.reps.loc[self.facts.reps["leave_date"].notna(), "rep_id"])
            kids = kids[~kids["node_id"].isin(gone)]
        return sorted(kids["node_id"])

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
            kids = self.children(cur)
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
        if self._alerts is None:
            self._alerts = tracking.alerts(self.facts)
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


# --------------------------------------------------------------------------- the pure view


@dataclass(frozen=True)
class DashboardView:
    """Everything the dashboard shows for one set of controls (tables, no widgets).

    Attributes
    ----------
    controls : Controls
    path : list of (node_id, level, name)
        Breadcrumb, company first.
    row : Series
        The node's row of :func:`simlib.tracking.metrics` (the engine's numbers).
    kpis : DataFrame
        ``key, kpi, label, value, text``: one card per :data:`KPIS` entry.
    children : DataFrame
        The next level's :func:`~simlib.tracking.metrics` rows within the node (empty for a rep).
    wall : DataFrame
        :func:`~simlib.tracking.target_wall` rows: the node's teams (company, region),
        the team and its reps (team), the rep (rep).
    alerts : DataFrame
        Active alerts of reps at or below the node, with evidence in ``lang``.
    pareto : simlib.tracking.Pareto
    funnel : DataFrame
        ``stage, label, label_zh, count, step_conversion``.
    trend : DataFrame
        :func:`~simlib.tracking.trend` of revenue for the node (weeks for a month,
        months for a quarter or year).
    seconds : float
        Time :func:`compute` took.
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
    as_of: pd.Timestamp = None
    seconds: float = 0.0

    def kpi_text(self, key: str) -> str:
        return str(self.kpis.set_index("key").at[key, "text"])


def _kpi_text(col: str, v, lang: str, currency: str) -> str:
    if col == "status":
        return _STATUS.get(v, (v, v))[lang == "zh-CN"]
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if col == "target":
        return text.money(v, lang, currency)
    if col in ("new_customers", "qualified_visits"):
        return f"{v:,.0f}"
    return text.value(col, v, lang, currency)


def _alerts_view(a: pd.DataFrame, lang: str) -> pd.DataFrame:
    zh = lang == "zh-CN"
    cols = ["rep_id", "name", "team_id", "rule_id", "raised_on", "weeks_active", "classification"]
    out = a[cols].copy()
    out["evidence"] = a["evidence_zh" if zh else "evidence"].to_numpy()
    out["diagnosis"] = a["diagnosis_zh" if zh else "diagnosis"].to_numpy()
    out["intervention"] = a["intervention_zh" if zh else "intervention"].to_numpy()
    return out.reset_index(drop=True)


_WALL_COLS = [
    "level",
    "node_id",
    "name",
    "name_zh",
    "team_id",
    "team_name",
    "revenue",
    "target",
    "expected",
    "attainment",
    "pace_attainment",
    "pace",
    "status",
]


def _wall(teams: pd.DataFrame | None, reps: pd.DataFrame | None) -> pd.DataFrame:
    """:func:`simlib.tracking.target_wall`'s frame from metrics rows already at hand."""
    parts = []
    if teams is not None:
        teams = teams.assign(team_id=teams["node_id"], team_name=teams["name"])
        parts.append(teams.sort_values("attainment", ascending=False)[_WALL_COLS])
    if reps is not None:
        reps = reps[reps["target"].notna() | (reps["revenue"] > 0)]
        reps = reps.assign(team_id=reps["parent_id"], team_name=np.nan)
        parts.append(reps.sort_values("attainment", ascending=False)[_WALL_COLS])
    out = pd.concat(parts, ignore_index=True).rename(columns={"revenue": "actual"})
    if teams is not None and reps is not None and len(teams) == 1:
        out["team_name"] = teams["name"].iloc[0]
    out["order"] = np.arange(len(out))
    return out


def compute(controls: Controls, context: DashboardContext) -> DashboardView:
    """The dashboard for one set of controls: a pure function of ``controls`` and ``context``."""
    t0 = time.perf_counter()
    f, L, c = context.facts, controls.lang, controls
    node = c.node or context.nodes(c.level)[0][1]
    if context.level_of(node) != c.level:
        raise ValueError(f"node {node!r} is a {context.level_of(node)}, not a {c.level}")
    m = tracking.metrics(f, c.period, level=c.level, within=node)
    row = m[m["node_id"] == node].iloc[0]
    kp = []
    for key, (col, en, zh) in KPIS.items():
        v = row[col]
        kp.append(
            dict(
                key=key,
                kpi=col,
                label=zh if L == "zh-CN" else en,
                value=v,
                text=_kpi_text(col, v, L, context.currency),
            )
        )
    kpis = pd.DataFrame(kp)
    if c.level != "rep":
        child = LEVELS[LEVELS.index(c.level) + 1]
        children = tracking.metrics(f, c.period, level=child, within=node)
        children = children[children["node_id"] != node].reset_index(drop=True)
    else:
        children = m.iloc[0:0]
    # the target wall's rows are metrics rows already computed (as tracking.target_wall
    # builds them): the teams of a company or region, a team and its reps, a rep
    if c.level == "company":
        wall = _wall(tracking.metrics(f, c.period, level="team", within=node), None)
    elif c.level == "region":
        wall = _wall(children, None)
    elif c.level == "team":
        wall = _wall(m[m["node_id"] == node], children)
    else:
        wall = _wall(None, m[m["node_id"] == node])
    members = set(f.members(node))
    al = context.alerts
    alerts = _alerts_view(al[al["rep_id"].isin(members)], L)
    pareto = tracking.pareto_customers(f, c.period, within=node)
    counts = [float(row[s]) for s in FUNNEL]
    prev = [np.nan] + counts[:-1]
    funnel = pd.DataFrame(
        {
            "stage": list(FUNNEL),
            "label": [v[0] for v in FUNNEL.values()],
            "label_zh": [v[1] for v in FUNNEL.values()],
            "count": counts,
            "step_conversion": [x / p if p and p > 0 else np.nan for x, p in zip(counts, prev)],
        }
    )
    freq = "week" if len(str(row["period"])) == 7 else "month"
    trend = context.trend(node, c.level, freq)
    path = [(n, context.level_of(n), context.name_of(n, L)) for n in context.path(node)]
    title = f"{context.name_of(node, L)} · {row['period']}"
    return DashboardView(
        controls=replace(c, node=node),
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
        as_of=f.as_of,
        seconds=time.perf_counter() - t0,
    )


def figures(
    view: DashboardView, which=("wall", "pareto", "funnel", "trend"), *, bare: bool = False
) -> dict[str, Any]:
    """The view's matplotlib figures: ``wall``, ``pareto``, ``funnel``, ``trend``.

    ``bare=True`` draws on pyplot-free figures with fixed margins (what the app turns
    into PNGs: faster, and nothing is left open); the default gives pyplot figures
    with a tight layout, for a notebook cell.
    """
    from simlib.plots import target_wall
    from simlib.plots_tracking import funnel_chart, new_axes, pareto_chart, trend_chart

    L = view.controls.lang
    w = view.wall

    def ax(width, height, **kw):
        return new_axes(width, height, **kw) if bare else None

    out = {}
    if "wall" in which:
        names = w["name_zh" if L == "zh-CN" else "name"].fillna(w["name"])
        names = [
            ("  " if lv == "rep" and view.controls.level == "team" else "") + str(n)
            for lv, n in zip(w["level"], names)
        ]
        h = 0.35 * len(names) + 1.2
        out["wall"] = target_wall(
            names,
            w["actual"],
            w["target"],
            w["pace"],
            lang=L,
            title=f"{_w('wall', L)} · {view.title}",
            ax=ax(6, h, left=0.25, right=0.97, bottom=0.8 / h, top=1 - 0.4 / h),
        )
    if "pareto" in which:
        out["pareto"] = pareto_chart(
            view.pareto.table,
            share=view.pareto.share,
            lang=L,
            ax=ax(6, 3.2, left=0.13, right=0.87, top=0.88),
        )
    if "funnel" in which:
        out["funnel"] = funnel_chart(
            view.funnel,
            lang=L,
            title=f"{_w('funnel', L)} · {view.title}",
            ax=ax(6, 3.2, left=0.28, right=0.97),
        )
    if "trend" in which:
        out["trend"] = trend_chart(
            view.trend,
            lang=L,
            title=f"{_w('trend', L)} · {view.path[-1][2]}",
            ax=ax(6, 3.2, left=0.13, right=0.97, bottom=0.25),
        )
    return out


def _table_html(
    df: pd.DataFrame, lang: str, currency: str, money_cols=(), pct_cols=(), names=None
) -> str:
    if df.empty:
        return ""
    out = df.copy()
    for col in money_cols:
        if col in out:
            out[col] = [text.money(v, lang, currency) for v in out[col]]
    for col in pct_cols:
        if col in out:
            out[col] = ["–" if v != v else text.pct(v) for v in out[col]]
    if "status" in out:
        out["status"] = [_STATUS.get(s, (s, s))[lang == "zh-CN"] for s in out["status"]]
    for col in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[col]):
            out[col] = out[col].dt.strftime("%Y-%m-%d")
    if names:
        out = out.rename(columns=names)
    return out.to_html(index=False, escape=True, border=0, na_rep="–")


def children_html(view: DashboardView, currency: str = "CNY") -> str:
    L = view.controls.lang
    ch = view.children
    if ch.empty:
        return ""
    cols = [
        "node_id",
        "name_zh" if L == "zh-CN" else "name",
        "revenue",
        "target",
        "attainment",
        "pace_attainment",
        "status",
        "collection_rate",
        "win_rate",
        "qualified_visits",
        "lead_conversion",
    ]
    return f"<h4>{_w('children', L)}</h4>" + _table_html(
        ch[cols],
        L,
        currency,
        money_cols=("revenue", "target"),
        pct_cols=(
            "attainment",
            "pace_attainment",
            "collection_rate",
            "win_rate",
            "lead_conversion",
        ),
    )


def alerts_html(view: DashboardView) -> str:
    L = view.controls.lang
    a = view.alerts
    note = f"<p><small>{_esc(_w('alerts_note', L).format(d=view.as_of.date()))}</small></p>"
    if a.empty:
        return f"<h4>{_w('alerts', L)}</h4>{note}<p>{_w('no_alerts', L)}</p>"
    cols = ["rep_id", "name", "rule_id", "raised_on", "evidence", "diagnosis", "intervention"]
    names = {
        "name": _w("rep", L),
        "rule_id": _w("rule", L),
        "raised_on": _w("raised", L),
        "evidence": _w("evidence", L),
        "diagnosis": _w("diagnosis", L),
        "intervention": _w("intervention", L),
    }
    return f"<h4>{_w('alerts', L)} ({len(a)})</h4>{note}" + _table_html(
        a[cols], L, "CNY", names=names
    )


# --------------------------------------------------------------------------- the app

#: Stable CSS classes of the app, for browser tests: key → class.
CSS: dict[str, str] = {
    "root": "simlib-tracking-dashboard",
    "period": "simlib-period",
    "level": "simlib-level",
    "node": "simlib-node",
    "lang": "simlib-lang",
    "drill": "simlib-drill",
    "up": "simlib-up",
    "path": "simlib-path",
    "message": "simlib-message",
    "timing": "simlib-timing",
    "kpis": "simlib-kpis",
    **{f"kpi_{k}": f"simlib-kpi-{k.replace('_', '-')}" for k in KPIS},
    "children": "simlib-children-out",
    "alerts": "simlib-alerts-out",
    "wall": "simlib-wall-out",
    "pareto": "simlib-pareto-out",
    "funnel": "simlib-funnel-out",
    "trend": "simlib-trend-out",
}


class TrackingDashboard:
    """The ipywidgets app: pick period, level and node, drill down, see KPIs, the target
    wall, alerts with evidence, the Pareto, funnel and trend charts.

    >>> app = TrackingDashboard.from_demo()      # doctest: +SKIP
    >>> app.show()                               # doctest: +SKIP
    >>> app.controls["node"].value = "T-SH"      # what a click does; the outputs follow
    """

    def __init__(
        self, context: DashboardContext, controls: Controls | None = None, *, draw: bool = True
    ):
        self.context = context
        self.state = controls or context.default()
        self.draw = draw
        self.view: DashboardView | None = None
        self._quiet = False
        self._widget = None
        self.last_seconds = 0.0
        self._views: dict = {}  # Controls → DashboardView: a node seen before shows at once
        self._png: dict = {}  # (controls or node, chart) → PNG bytes

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
        wide = {"description_width": "70px"}
        periods = period_options(ctx.as_of)
        if s.period not in periods:
            periods = [s.period] + periods
        c: dict[str, Any] = {}
        c["period"] = w.Dropdown(
            options=periods, value=s.period, description=_w("period", L), style=wide
        )
        c["level"] = w.Dropdown(
            options=[(_LEVEL_NAMES[lv][L == "zh-CN"], lv) for lv in LEVELS],
            value=s.level,
            description=_w("level", L),
            style=wide,
        )
        c["node"] = w.Dropdown(
            options=ctx.nodes(s.level, L), value=s.node, description=_w("node", L), style=wide
        )
        c["lang"] = w.ToggleButtons(
            options=[("English", "en"), ("中文", "zh-CN")],
            value=L,
            description=_w("lang", L),
            style=wide,
        )
        c["drill"] = w.Dropdown(options=[], description=_w("drill", L), style=wide)
        c["up"] = w.Button(description=_w("up", L), icon="arrow-up", layout=w.Layout(width="90px"))
        for k, ctl in c.items():
            ctl.add_class(CSS[k])
        self.controls = c
        o: dict[str, Any] = {}
        for k in ("path", "message", "timing", "children", "alerts", *[f"kpi_{k}" for k in KPIS]):
            o[k] = w.HTML()
        for k in ("wall", "pareto", "funnel", "trend"):
            o[k] = w.Image(format="png", layout=w.Layout(max_width="100%"))
        for k, out in o.items():
            out.add_class(CSS[k])
        self.outputs = o
        cards = w.HBox(
            [o[f"kpi_{k}"] for k in KPIS],
            layout=w.Layout(flex_flow="row wrap", justify_content="space-between"),
        )
        cards.add_class(CSS["kpis"])
        bar = w.VBox(
            [w.HBox([c["period"], c["level"], c["node"]]), w.HBox([c["drill"], c["up"], c["lang"]])]
        )
        charts = w.VBox([w.HBox([o["wall"], o["funnel"]]), w.HBox([o["pareto"], o["trend"]])])
        self._title = w.HTML(f"<h3>{_w('title', L)}</h3>")
        root = w.VBox(
            [
                self._title,
                bar,
                o["path"],
                o["message"],
                cards,
                o["children"],
                charts,
                o["alerts"],
                o["timing"],
            ]
        )
        root.add_class(CSS["root"])
        self._widget = root
        for k in ("period", "level", "node", "lang", "drill"):
            c[k].observe(self._on_change, names="value")
        c["up"].on_click(self._on_up)
        self.set_controls(self.state)
        return root

    def show(self):
        """The app's widget (the notebook displays it)."""
        return self.build()

    def _ipython_display_(self):
        from IPython.display import display

        display(self.build())

    # ---- state ↔ widgets
    def set_controls(self, controls: Controls) -> DashboardView:
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
            if list(c["node"].options) != opts:
                c["node"].options = opts
            c["node"].value = controls.node
            if c["lang"].value != L:
                c["lang"].value = L
            kids = ctx.children(controls.node)
            c["drill"].options = [("—", "")] + [(f"{ctx.name_of(k, L)} ({k})", k) for k in kids]
            c["drill"].value = ""
            c["drill"].disabled = not kids
            c["up"].disabled = ctx.parent_of(controls.node) is None
        finally:
            self._quiet = False
        self._refresh()
        return self.view

    def _on_change(self, change) -> None:
        if self._quiet:
            return
        c, ctx, s = self.controls, self.context, self.state
        try:
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
        except Exception as e:  # never a silent failure in an observer: say it in the app
            self.outputs[
                "message"
            ].value = f"<div style='color:#b71c1c'>{type(e).__name__}: {_esc(e)}</div>"

    def _on_up(self, _button=None) -> None:
        self.set_controls(self.context.up(self.state))

    def _relabel(self, L: str) -> None:
        c = self.controls
        for k in ("period", "level", "node", "lang", "drill"):
            c[k].description = _w(k, L)
        c["up"].description = _w("up", L)
        self._quiet = True
        try:
            lv = c["level"].value
            c["level"].options = [(_LEVEL_NAMES[x][L == "zh-CN"], x) for x in LEVELS]
            c["level"].value = lv
        finally:
            self._quiet = False
        self._title.value = f"<h3>{_w('title', L)}</h3>"

    def _refresh(self) -> None:
        t0 = time.perf_counter()
        o = self.outputs
        try:
            v = self._views.get(self.state) or compute(self.state, self.context)
            self._views[self.state] = v
        except Exception as e:
            o["message"].value = f"<div style='color:#b71c1c'>{type(e).__name__}: {_esc(e)}</div>"
            return
        self.view = v
        L = v.controls.lang
        o["message"].value = ""
        o["path"].value = (
            " › ".join(
                f"<b>{_esc(n)}</b>" if i == len(v.path) - 1 else _esc(n)
                for i, (_, _, n) in enumerate(v.path)
            )
            + f" · {_esc(v.controls.period)}"
        )
        for r in v.kpis.itertuples():
            o[f"kpi_{r.key}"].value = (
                f"<div><small>{_esc(r.label)}</small><br>"
                f"<b style='font-size:1.3em'>{_esc(r.text)}</b></div>"
            )
        o["children"].value = children_html(v, self.context.currency)
        o["alerts"].value = alerts_html(v)
        if self.draw:
            from simlib.plots_tracking import figure_png

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
        self.last_seconds = time.perf_counter() - t0
        o["timing"].value = (
            f"<small>{_w('as_of', L).format(d=v.as_of.date())} · "
            f"{_w('computed', L).format(s=1000 * self.last_seconds)}</small>"
        )


# --------------------------------------------------------------------------- report views


from simlib.display import Markdown  # noqa: E402  (re-exported for the templates)


class Table:
    """A titled table that displays as HTML in a notebook and as text elsewhere."""

    def __init__(
        self, title: str, frame: pd.DataFrame, html_text: str | None = None, note: str = ""
    ):
        self.title, self.frame, self._html, self.note = title, frame, html_text, note

    def _repr_html_(self) -> str:
        body = (
            self._html
            if self._html is not None
            else self.frame.to_html(index=False, border=0, na_rep="–")
        )
        note = f"<p>{_esc(self.note)}</p>" if self.note else ""
        return f"<h3>{_esc(self.title)}</h3>{body}{note}"

    def __repr__(self) -> str:
        return "\n".join(x for x in (self.title, self.frame.to_string(index=False), self.note) if x)


def _week_of(f: Facts, week_ending) -> tuple[str, pd.Timestamp, pd.Timestamp]:
    t = pd.Timestamp(week_ending).normalize()
    if t > f.as_of:
        raise ValueError(f"week_ending {t.date()} is after the data's last day {f.as_of.date()}")
    weeks = f.calendar.working_weeks(t - pd.Timedelta(days=21), t + pd.Timedelta(days=6))
    wk = weeks[(weeks["start"] <= t) & (weeks["end"] >= t)].iloc[-1]
    return str(wk["week"]), pd.Timestamp(wk["start"]), t


@dataclass(frozen=True)
class WeeklyReview:
    """A team's week: each rep's progress against pace, the week's activity, alerts."""

    team: str
    team_name: str
    week: str
    start: pd.Timestamp
    as_of: pd.Timestamp
    period: str
    lang: str
    progress: pd.DataFrame = field(repr=False)
    week_metrics: pd.DataFrame = field(repr=False)
    alerts: pd.DataFrame = field(repr=False)
    currency: str = "CNY"

    def header(self) -> Markdown:
        if self.lang == "zh-CN":
            return Markdown(
                f"# {self.team_name} 周例会 — {self.week}\n\n"
                f"本周 {self.start.date()} 至 {self.as_of.date()}；进度按 {self.period} 截至"
                f" {self.as_of.date()} 的工作日计算。"
            )
        return Markdown(
            f"# {self.team_name} weekly review — {self.week}\n\n"
            f"Week {self.start.date()} to {self.as_of.date()}; pace is {self.period} to "
            f"{self.as_of.date()} by working days."
        )

    def progress_table(self) -> Table:
        L, zh = self.lang, self.lang == "zh-CN"
        p = self.progress
        cols = [
            "node_id",
            "name_zh" if zh else "name",
            "actual",
            "target",
            "expected",
            "attainment",
            "pace_attainment",
            "status",
        ]
        names = (
            {
                "node_id": "编号",
                "name_zh": "姓名",
                "actual": "实际",
                "target": "目标",
                "expected": "进度目标",
                "attainment": "达成率",
                "pace_attainment": "进度达成率",
                "status": "状态",
            }
            if zh
            else {"node_id": "id", "actual": "revenue", "expected": "pace target"}
        )
        h = _table_html(
            p[cols],
            L,
            self.currency,
            money_cols=("actual", "target", "expected"),
            pct_cols=("attainment", "pace_attainment"),
            names=names,
        )
        title = (
            f"{self.period} 进度（截至{self.as_of.date()}）"
            if zh
            else f"Progress against pace, {self.period} to {self.as_of.date()}"
        )
        return Table(title, p[cols], h)

    def wall(self):
        from simlib.plots import target_wall

        p, zh = self.progress, self.lang == "zh-CN"
        names = p["name_zh" if zh else "name"].fillna(p["name"])
        return target_wall(
            list(names),
            p["actual"],
            p["target"],
            p["pace"],
            lang=self.lang,
            title=f"{self.team_name} {self.period}",
        )

    def week_table(self) -> Table:
        L, zh = self.lang, self.lang == "zh-CN"
        m = self.week_metrics
        cols = [
            "node_id",
            "name_zh" if zh else "name",
            "revenue",
            "deals_won",
            "visits",
            "qualified_visits",
            "leads",
            "proposals",
        ]
        names = {c: text.metric_name(c, L) for c in cols[2:]}
        names.update({"node_id": "编号" if zh else "id", "name_zh": "姓名"})
        h = _table_html(m[cols], L, self.currency, money_cols=("revenue",), names=names)
        return Table(f"本周（{self.week}）" if zh else f"This week ({self.week})", m[cols], h)

    def alerts_table(self) -> Table:
        L, zh = self.lang, self.lang == "zh-CN"
        a = (
            _alerts_view(self.alerts, L)
            if len(self.alerts)
            else pd.DataFrame(
                columns=[
                    "rep_id",
                    "name",
                    "rule_id",
                    "raised_on",
                    "evidence",
                    "diagnosis",
                    "intervention",
                ]
            )
        )
        cols = ["rep_id", "name", "rule_id", "raised_on", "evidence", "diagnosis", "intervention"]
        names = {
            "name": _w("rep", L),
            "rule_id": _w("rule", L),
            "raised_on": _w("raised", L),
            "evidence": _w("evidence", L),
            "diagnosis": _w("diagnosis", L),
            "intervention": _w("intervention", L),
        }
        h = _table_html(a[cols], L, self.currency, names=names) or f"<p>{_w('no_alerts', L)}</p>"
        return Table(
            f"预警（截至{self.as_of.date()}）" if zh else f"Alerts active on {self.as_of.date()}",
            a[cols],
            h,
        )


def weekly_review(facts: Facts, team: str, week_ending, lang: str = "en") -> WeeklyReview:
    """A team's weekly review to ``week_ending``: pace is the month to that day."""
    _check_lang(lang)
    f = tracking.prepare(facts)
    week, start, t = _week_of(f, week_ending)
    period = f"{t.year}-{t.month:02d}"
    wall = tracking.target_wall(f, period, within=team, as_of=t)
    wm = tracking.metrics(f, (start, t), level="rep", within=team, as_of=t)
    # The company's alerts once per kernel, then this team's (the same rows as within=team).
    everyone = memo_on(f, ("alerts", t), lambda: tracking.alerts(f, t))
    al = everyone[everyone["team_id"] == team].reset_index(drop=True)
    names = f.nodes.drop_duplicates("node_id").set_index("node_id")
    tn = names.at[team, "name_zh" if lang == "zh-CN" else "name"]
    return WeeklyReview(
        team=team,
        team_name=str(tn),
        week=week,
        start=start,
        as_of=t,
        period=period,
        lang=lang,
        progress=wall.reset_index(drop=True),
        week_metrics=wm,
        alerts=al,
        currency=text.company_currency(),
    )


@dataclass(frozen=True)
class MonthlyReview:
    """A team's month: the gap to plan decomposed (:func:`simlib.tracking.deviation`)."""

    deviation: Any
    team_name: str
    lang: str
    row: pd.Series = field(repr=False)
    currency: str = "CNY"

    def header(self) -> Markdown:
        d, zh = self.deviation, self.lang == "zh-CN"
        m = lambda x: text.money(x, self.lang, self.currency)  # noqa: E731
        if zh:
            return Markdown(
                f"# {self.team_name} 月度复盘 — {d.period}\n\n"
                f"计划（截至{d.as_of.date()}）**{m(d.plan)}**，实际 **{m(d.actual)}**，"
                f"差额 **{m(d.gap)}**。计划结构取自 {d.baseline[0].date()} 至 "
                f"{d.baseline[1].date()} 的成交。"
            )
        return Markdown(
            f"# {self.team_name} monthly review — {d.period}\n\n"
            f"Plan (to {d.as_of.date()}) **{m(d.plan)}**, actual **{m(d.actual)}**, "
            f"gap **{m(d.gap)}**. The plan's composition comes from the deals won "
            f"{d.baseline[0].date()} to {d.baseline[1].date()}."
        )

    def decomposition(self) -> Table:
        d, zh = self.deviation, self.lang == "zh-CN"
        from simlib.tracking.reviews import _EFFECT_NAMES, _GROUP_NAMES

        t = d.table.copy()
        groups = {**{g: v[zh] for g, v in _GROUP_NAMES.items()}, "total": "合计" if zh else "total"}
        t["customer_group"] = t["customer_group"].map(groups)
        shown = t.copy()
        for col in ("plan", "actual", "volume", "price", "mix", "gap"):
            shown[col] = [f"{v:,.2f}" for v in t[col]]
        names = {
            "customer_group": "客户类别" if zh else "customer group",
            "plan": "计划" if zh else "plan",
            "actual": "实际" if zh else "actual",
            **{e: v[zh] for e, v in _EFFECT_NAMES.items()},
            "gap": "差额" if zh else "gap",
        }
        shown = shown.rename(columns=names)
        note = (
            "每行：数量 + 单价 + 结构 = 差额；新客户 + 老客户 = 合计（精确到分）。"
            if zh
            else "Each row: volume + price + mix = gap; new + existing = total (to the cent)."
        )
        return Table(
            "偏差分解" if zh else "Gap to plan, decomposed",
            shown,
            shown.to_html(index=False, border=0),
            note,
        )

    def check(self) -> Markdown:
        """Run :meth:`Deviation.check` and say so, with the sums in cents."""
        d, zh = self.deviation, self.lang == "zh-CN"
        d.check()
        t = d.table.set_index("customer_group")
        lines = []
        for g, r in t.iterrows():
            lines.append(
                f"- {g}: {r['volume']:,.2f} + {r['price']:,.2f} + {r['mix']:,.2f} = "
                f"{r['volume'] + r['price'] + r['mix']:,.2f} (gap {r['gap']:,.2f})"
            )
        head = (
            "**核对通过**：各项之和与差额完全一致（分）。"
            if zh
            else "**Check passed**: every sum holds to the cent."
        )
        return Markdown(head + "\n\n" + "\n".join(lines))

    def segments(self) -> Table:
        zh = self.lang == "zh-CN"
        s = self.deviation.segments
        cols = [
            "customer_group",
            "segment",
            "plan_revenue",
            "actual_revenue",
            "plan_deals",
            "actual_deals",
            "plan_avg_deal",
            "actual_avg_deal",
        ]
        shown = s[cols].copy()
        for c in ("plan_revenue", "actual_revenue", "plan_avg_deal", "actual_avg_deal"):
            shown[c] = ["–" if v != v else f"{v:,.0f}" for v in shown[c]]
        shown["plan_deals"] = [f"{v:.1f}" for v in shown["plan_deals"]]
        return Table(
            "按产品线" if zh else "By product line", shown, shown.to_html(index=False, border=0)
        )

    def actions(self) -> Markdown:
        a, zh = self.deviation.actions, self.lang == "zh-CN"
        col = "action_zh" if zh else "action"
        items = [f"- {x}" for x in a[col]] or ["- 无明显缺口" if zh else "- no material shortfall"]
        return Markdown(("## 建议措施\n\n" if zh else "## Proposed actions\n\n") + "\n".join(items))

    def figure(self):
        """A waterfall of the total gap: plan → volume → price → mix → actual."""
        import matplotlib.pyplot as plt

        from simlib.plots import use_cjk_font
        from simlib.tracking.reviews import _EFFECT_NAMES

        use_cjk_font()
        d, zh = self.deviation, self.lang == "zh-CN"
        tot = d.table.set_index("customer_group").loc["total"]
        steps = [("计划" if zh else "plan", d.plan, 0.0)]
        base = d.plan
        for e in ("volume", "price", "mix"):
            steps.append((_EFFECT_NAMES[e][zh], tot[e], base))
            base += tot[e]
        steps.append(("实际" if zh else "actual", d.actual, 0.0))
        fig, ax = plt.subplots(figsize=(7, 3.2))
        for i, (lab, v, b) in enumerate(steps):
            color = "#607d8b" if i in (0, len(steps) - 1) else ("#2e7d32" if v >= 0 else "#c62828")
            bottom = b if v >= 0 or i in (0, len(steps) - 1) else b + v
            ax.bar(i, abs(v), bottom=bottom, color=color)
            ax.text(
                i,
                bottom + abs(v),
                text.money(v, self.lang, self.currency),
                ha="center",
                va="bottom",
                fontsize=8,
            )
        ax.set_xticks(range(len(steps)), [s[0] for s in steps])
        ax.set_title(f"{self.team_name} {d.period}", fontsize=10)
        fig.tight_layout()
        return fig


def monthly_review(facts: Facts, team: str, month: str, lang: str = "en") -> MonthlyReview:
    """A team's monthly review: :func:`simlib.tracking.deviation` and the month's metrics."""
    _check_lang(lang)
    f = tracking.prepare(facts)
    dev = tracking.deviation(f, team, month)
    m = tracking.metrics(
        f,
        month,
        level=f.nodes.drop_duplicates("node_id").set_index("node_id").at[team, "level"],
        within=team,
    )
    names = f.nodes.drop_duplicates("node_id").set_index("node_id")
    tn = names.at[team, "name_zh" if lang == "zh-CN" else "name"]
    return MonthlyReview(
        deviation=dev,
        team_name=str(tn),
        lang=lang,
        row=m[m["node_id"] == team].iloc[0],
        currency=text.company_currency(),
    )


@dataclass(frozen=True)
class RepPack:
    """One rep's review pack: only the rep's own row, team averages, anonymised rank, and
    the rep's own pay (:meth:`pay`: the team only as total, average and rank).

    Every text is scrubbed of other people's names (a mentor named in a support offer
    becomes "a top seller of the team"), and nothing per other rep is kept.
    """

    rep_id: str
    name: str
    lang: str
    period: str
    summary: pd.Series = field(repr=False)
    kpis: pd.DataFrame = field(repr=False)
    honours: pd.DataFrame = field(repr=False)
    explanation: str = ""
    markdown: str = ""
    pay_section: Any = field(default=None, repr=False)  # simlib.reports.commission_summary.RepPay

    def header(self) -> Markdown:
        zh = self.lang == "zh-CN"
        s = self.summary
        if zh:
            return Markdown(
                f"# {self.name} ({self.rep_id}) — {self.period} 个人评估\n\n"
                f"综合得分 **{s['score']:.1f}**；全公司第 {int(s['rank'])}/{int(s['reps'])} 名，"
                f"团队第 {int(s['team_rank'])}/{int(s['team_size'])} 名（前 "
                f"{s['percentile_top']:.0%}）。"
            )
        return Markdown(
            f"# {self.name} ({self.rep_id}) — review {self.period}\n\n"
            f"Score **{s['score']:.1f}**; rank {int(s['rank'])} of {int(s['reps'])} in the "
            f"company, {int(s['team_rank'])} of {int(s['team_size'])} in the team (top "
            f"{s['percentile_top']:.0%})."
        )

    def scorecard(self) -> Table:
        zh = self.lang == "zh-CN"
        k = self.kpis
        names = (
            {
                "label": "指标",
                "value": "本人",
                "target": "目标",
                "team_value": "团队平均",
                "ratio": "达成",
                "weight": "权重",
                "contribution": "得分",
            }
            if zh
            else {
                "label": "KPI",
                "value": "you",
                "team_value": "team average",
                "ratio": "vs target",
                "contribution": "points",
            }
        )
        return Table(
            "个人计分卡（仅本人与团队平均）" if zh else "Scorecard (you and the team average only)",
            k,
            k.rename(columns=names).to_html(index=False, border=0, na_rep="–"),
        )

    def explain(self) -> Markdown:
        return Markdown("```\n" + self.explanation + "\n```")

    def honours_list(self) -> Markdown:
        zh = self.lang == "zh-CN"
        h = self.honours
        if h.empty:
            return Markdown("## 荣誉\n\n- 本期无" if zh else "## Honours\n\n- none this period")
        items = [
            f"- **{r['award_name_zh' if zh else 'award_name']}** "
            f"({'全公司' if zh and r['scope'] == 'company' else r['scope']}): "
            f"{r['reason_zh' if zh else 'reason']}"
            for _, r in h.iterrows()
        ]
        return Markdown(("## 荣誉\n\n" if zh else "## Honours\n\n") + "\n".join(items))

    def review(self) -> Markdown:
        return Markdown(self.markdown)

    def pay(self):
        """The rep's own commission for the plan period containing the review period,
        with the team only as total, average and the rep's rank (see
        :func:`simlib.reports.commission_summary.rep_pay`)."""
        if self.pay_section is None:
            zh = self.lang == "zh-CN"
            return Markdown(
                "## 提成\n\n- 未指定提成方案" if zh else "## Pay\n\n- no commission plan given"
            )
        return self.pay_section


def _scrub(s: str, others: list[str], lang: str) -> str:
    """Replace other people's names in ``s`` by a neutral phrase."""
    word = "团队销冠" if lang == "zh-CN" else "a top seller of the team"
    for n in sorted({o for o in others if isinstance(o, str) and o}, key=len, reverse=True):
        s = s.replace(n, word)
    return s.replace("a top seller (a top seller of the team)", "a top seller of the team").replace(
        "销冠团队销冠", "团队销冠"
    )


def rep_pack(
    facts: Facts, rep_id: str, period: str, lang: str = "en", *, plan: str | None = "tiered_cn"
) -> RepPack:
    """One rep's scorecard, honours and review content (strengths, gaps with data, next
    targets, support), and their own pay under ``plan`` (None: no pay section), with no
    other rep's figures or names."""
    from simlib import scorecard as sc

    _check_lang(lang)
    f = tracking.prepare(facts)
    card = memo_on(f, ("scorecard", period), lambda: sc.scorecard(f, period))
    tab = card.table.set_index("rep_id")
    if rep_id not in tab.index:
        raise ValueError(f"{rep_id!r} has no scorecard for {card.period}")
    row = tab.loc[rep_id]
    others = f.reps.loc[f.reps["rep_id"] != rep_id, ["name", "name_zh"]].to_numpy().ravel().tolist()
    summary = pd.Series(
        {
            "score": float(row["score"]),
            "rank": int(row["rank"]),
            "reps": len(tab),
            "team_rank": int(row["team_rank"]),
            "team_size": int(row["team_size"]),
            "percentile_top": 1.0 - float(row["percentile"]) + 1.0 / len(tab),
            "team_id": row["team_id"],
        }
    )
    d = card.detail[card.detail["rep_id"] == rep_id]
    zh = lang == "zh-CN"
    cur = text.company_currency()
    kpis = pd.DataFrame(
        {
            "label": d["label_zh" if zh else "label"].to_numpy(),
            "value": [text.value(k, v, lang, cur) for k, v in zip(d["kpi"], d["value"])],
            "target": [text.value(k, v, lang, cur) for k, v in zip(d["kpi"], d["target"])],
            "team_value": [text.value(k, v, lang, cur) for k, v in zip(d["kpi"], d["team_value"])],
            "ratio": ["–" if v != v else text.pct(v, 0) for v in d["ratio"]],
            "weight": [text.pct(v, 1) for v in d["effective_weight"]],
            "contribution": [f"{v:.1f}" for v in d["contribution"]],
        }
    )
    hon = memo_on(f, ("honours", period), lambda: sc.honours(f, period, card=card))
    hon = hon[hon["rep_id"] == rep_id].reset_index(drop=True)
    pack = sc.review_pack(f, rep_id, period, card=card)
    md = _scrub(pack.to_markdown(lang), others, lang)
    expl = _scrub(card.explain(rep_id, lang), others, lang)
    name = pack.name_zh if zh and pack.name_zh else pack.name
    pay = None
    if plan is not None:
        from simlib.reports.commission_summary import rep_pay

        pay = rep_pay(f, rep_id, card.period, plan, lang=lang)
    return RepPack(
        rep_id=rep_id,
        name=name,
        lang=lang,
        period=card.period,
        summary=summary,
        kpis=kpis,
        honours=hon,
        explanation=expl,
        markdown=md,
        pay_section=pay,
    )
