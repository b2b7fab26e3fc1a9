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

import math
import time
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from simlib import tracking
from simlib.i18n import check_lang as _check_lang
from simlib.i18n import escape as _esc
from simlib.i18n import plain_text_for_plot as _plot_text
from simlib.plots import target_wall
from simlib.plots.tracking import figure_png, funnel_chart, new_axes, pareto_chart, trend_chart
from simlib.tracking import text
from simlib.tracking.facts import LEVELS, Facts
from simlib.views.team_review import _STATUS, _alerts_view, _table_html, _w, load_facts

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
]


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

_LEVEL_NAMES = {
    "company": ("Company", "公司"),
    "region": ("Region", "大区"),
    "team": ("Team", "团队"),
    "rep": ("Rep", "销售"),
}


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
    L = view.controls.lang
    w = view.wall

    def ax(width, height, **kw):
        return new_axes(width, height, **kw) if bare else None

    out = {}
    if "wall" in which:
        names = w["name_zh" if L == "zh-CN" else "name"].fillna(w["name"])
        names = [
            ("  " if lv == "rep" and view.controls.level == "team" else "") + _plot_text(n)
            for lv, n in zip(w["level"], names)
        ]
        h = 0.35 * len(names) + 1.2
        out["wall"] = target_wall(
            names,
            w["actual"],
            w["target"],
            w["pace"],
            lang=L,
            title=_plot_text(f"{_w('wall', L)} · {view.title}"),
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
            names={m: text.metric_name(m, L) for m in view.trend.get("metric", ())},
        )
    return out


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
    >>> app.controls["node"].value = "T-SH"      # doctest: +SKIP
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
