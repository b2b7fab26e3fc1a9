"""The target workshop's allocation as people read it: the tables, the headline, the
wall, the SMART failures and the funnel check (SPEC R1-R5, R18).

Used by the workshop app (:mod:`simlib.apps.target_workshop`) and the director's
handout template (``notebooks/reports/target_workshop_summary.ipynb``) alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from simlib import present
from simlib.display import Markdown
from simlib.i18n import escape as _esc
from simlib.i18n import escape_md as _md
from simlib.i18n import plain_text_for_plot as _plot_text
from simlib.i18n import translator
from simlib.plots import target_wall
from simlib.present import Col, Units
from simlib.targets import Allocation
from simlib.targets.scenario import compare_scenarios, policy_overrides

__all__ = [
    "LEVELS",
    "WorkshopSummary",
    "workshop_summary",
    "WALL_METRICS",
    "allocation_html",
    "allocation_table",
    "bound_keys",
    "compare_html",
    "funnel_html",
    "funnel_summary",
    "gap_html",
    "headline_cards",
    "headline_items",
    "notes_html",
    "policy_text",
    "quarter_html",
    "ramp_html",
    "risk_html",
    "smart_html",
    "units_for",
    "compare_allocations",
    "funnel_check",
    "gap_table",
    "headline",
    "headline_markdown",
    "quarter_split",
    "smart_failures",
    "wall_data",
    "wall_figure",
]

LEVELS = ("company", "region", "team", "rep")
WALL_METRICS = ("last_year", "probability", "forecast")

_WALL_TITLE = {
    ("last_year", "en"): "Target wall: base-year bookings vs new target",
    ("last_year", "zh-CN"): "目标墙：基准年成交 / 新目标",
    ("probability", "en"): "Target wall: probability of attainment",
    ("probability", "zh-CN"): "目标墙：达成概率",
    ("forecast", "en"): "Target wall: forecast (P50) vs target",
    ("forecast", "zh-CN"): "目标墙：预测中位数 / 目标",
}


def _subtree(alloc: Allocation, under: str | None) -> set[str] | None:
    """``under`` and every node below it (None: everything)."""
    if not under:
        return None
    nodes = alloc.nodes
    if under not in set(nodes["node_id"]):
        raise ValueError(f"{under!r} is not a node of the allocation")
    keep = {under}
    frontier = [under]
    parent = nodes["parent_id"].to_numpy(dtype=object)
    ids = nodes["node_id"].to_numpy(dtype=object)
    while frontier:
        kids = [i for i, p in zip(ids, parent) if p in frontier]
        keep.update(kids)
        frontier = kids
    return keep


def _display_name(df: pd.DataFrame, lang: str) -> list[str]:
    if lang == "zh-CN" and "name_zh" in df.columns:
        return [z if isinstance(z, str) and z else n for z, n in zip(df["name_zh"], df["name"])]
    return df["name"].tolist()


def allocation_table(
    alloc: Allocation,
    levels: Sequence[str] = ("company", "region", "team"),
    under: str | None = None,
) -> pd.DataFrame:
    """The allocation table (:meth:`Allocation.to_frame`) for ``levels``, optionally only
    the nodes at or below ``under`` (a region or team id)."""
    df = alloc.to_frame()
    df = df[df["level"].isin(list(levels))]
    keep = _subtree(alloc, under)
    if keep is not None:
        df = df[df["node_id"].isin(keep)]
    return df.reset_index(drop=True)


def headline(alloc: Allocation) -> dict[str, float]:
    """The numbers a room looks at first.

    company_target, last_year, growth, p_company_forecast (pipeline as it stands),
    p_company_if_reps_on_quota, over_assignment_total, uplift_for_confidence,
    rep_quota_total, smart_failures / smart_targets (targets failing a letter),
    leads_short_months (team-months whose required leads exceed the marketing floor).
    """
    r = alloc.risk.set_index("measure")["value"]
    root = alloc.nodes.iloc[0]
    smart = alloc.smart
    ft = alloc.funnel_teams
    return {
        "company_target": float(alloc.company_target),
        "last_year": float(root["last_year"]),
        "growth": float(root["growth"]),
        "p_company_forecast": float(r["p_company_forecast"]),
        "p_company_if_reps_on_quota": float(r["p_company_if_reps_on_quota"]),
        "over_assignment_total": float(r["over_assignment_total"]),
        "uplift_for_confidence": float(r["uplift_for_confidence"]),
        "rep_quota_total": float(r["rep_quota_total"]),
        "smart_failures": int((smart["fails"] != "").sum()),
        "smart_targets": int(len(smart)),
        "leads_short_months": int(ft["above_floor"].sum()) if len(ft) else 0,
    }


def headline_markdown(alloc: Allocation, lang: str = "en") -> Markdown:
    """The handout's first line: the scenario's name and year, the company target and
    its growth on the base year (the scenario's name escaped: it is text from a file)."""
    h = headline(alloc)
    s = alloc.scenario
    if lang == "zh-CN":
        figure = f"公司目标 {h['company_target'] / 1e4:,.0f}万（较基准年 {h['growth']:+.1%}）"
    else:
        figure = f"company target {h['company_target']:,.0f} ({h['growth']:+.1%} on the base year)"
    return Markdown(f"**{_md(s.name)}** — {_md(s.year)}: {figure}")


def gap_table(
    alloc: Allocation,
    levels: Sequence[str] = ("company", "region", "team"),
    under: str | None = None,
) -> pd.DataFrame:
    """Top-down vs bottom-up, per node.

    ``top_down`` is the cascade's number, ``target`` the final one (the consensus with
    the commits when the scenario has commits), ``bottom_up`` the simulated median
    (P50) of what the pipeline and run-rate deliver; ``gap = target − bottom_up`` (>0:
    the target asks more than the forecast), ``gap_pct = gap / bottom_up``.
    """
    n = alloc.nodes
    n = n[n["level"].isin(list(levels))]
    keep = _subtree(alloc, under)
    if keep is not None:
        n = n[n["node_id"].isin(keep)]
    out = (
        n[["level", "node_id", "name", "name_zh", "top_down", "target", "p50", "p_attain"]]
        .rename(columns={"p50": "bottom_up"})
        .reset_index(drop=True)
    )
    out["gap"] = out["target"] - out["bottom_up"]
    out["gap_pct"] = np.divide(
        out["gap"].to_numpy(float),
        out["bottom_up"].to_numpy(float),
        out=np.full(len(out), np.nan),
        where=out["bottom_up"].to_numpy(float) > 0,
    )
    return out


def smart_failures(
    alloc: Allocation, lang: str = "en", levels: Sequence[str] = LEVELS
) -> pd.DataFrame:
    """Targets failing a SMART letter: owner, level, period, amount, p_attain, fails, why."""
    s = alloc.smart
    s = s[(s["fails"] != "") & s["level"].isin(list(levels))]
    why = "why_zh" if lang == "zh-CN" else "why_en"
    return (
        s[["owner_id", "level", "period", "amount", "p_attain", "fails", why]]
        .rename(columns={why: "why"})
        .reset_index(drop=True)
    )


def quarter_split(
    alloc: Allocation, levels: Sequence[str] = ("company", "region", "team")
) -> pd.DataFrame:
    """Each node's year and quarters, with each quarter's share of the year."""
    df = allocation_table(alloc, levels)
    out = df[["level", "node_id", "name", "name_zh", "target", "Q1", "Q2", "Q3", "Q4"]].copy()
    for q in ("Q1", "Q2", "Q3", "Q4"):
        out[f"{q}_share"] = out[q] / out["target"]
    return out


def funnel_check(alloc: Allocation) -> pd.DataFrame:
    """Marketing-lead check per team: months needing more qualified leads than the
    floor, the peak month's leads and the year's total."""
    ft = alloc.funnel_teams
    if not len(ft):
        return pd.DataFrame(
            columns=["team_id", "months_above_floor", "peak_leads", "lead_floor", "leads_year"]
        )
    g = ft.groupby("team_id", sort=True)
    return pd.DataFrame(
        {
            "months_above_floor": g["above_floor"].sum().astype(int),
            "peak_leads": g["leads_required"].max(),
            "lead_floor": g["lead_floor"].max(),
            "leads_year": g["leads_required"].sum(),
        }
    ).reset_index()


def wall_data(
    alloc: Allocation, metric: str = "last_year", under: str | None = None, lang: str = "en"
) -> pd.DataFrame:
    """The target wall's bars: the teams (or a region's teams, or a team's reps).

    metric ``last_year``: base-year bookings against the new target (how much of it
    was already done last year); ``probability``: the probability of attainment
    (bar = p); ``forecast``: simulated P50 against the target.
    Columns: node_id, name, actual, target.
    """
    if metric not in WALL_METRICS:
        raise ValueError(f"metric must be one of {', '.join(WALL_METRICS)}; got {metric!r}")
    n = alloc.nodes
    level = "team"
    if under:
        lv = n.loc[n["node_id"] == under, "level"]
        if lv.empty:
            raise ValueError(f"{under!r} is not a node of the allocation")
        level = "rep" if lv.iloc[0] in ("team", "rep") else "team"
        if lv.iloc[0] == "rep":
            under = n.loc[n["node_id"] == under, "parent_id"].iloc[0]
    rows = n[n["level"] == level]
    keep = _subtree(alloc, under)
    if keep is not None:
        rows = rows[rows["node_id"].isin(keep)]
    if metric == "last_year":
        actual, target = rows["last_year"].to_numpy(float), rows["target"].to_numpy(float)
    elif metric == "probability":
        actual, target = rows["p_attain"].to_numpy(float), np.ones(len(rows))
    else:
        actual, target = rows["p50"].to_numpy(float), rows["target"].to_numpy(float)
    return pd.DataFrame(
        {
            "node_id": rows["node_id"].to_numpy(),
            "name": _display_name(rows, lang),
            "actual": np.nan_to_num(actual),
            "target": target,
        }
    )


#: What the wall's colours mean per metric (the probability mode's come from the plot).
_WALL_LEGEND = {
    "last_year": {
        "green": ("base year already at the new target", "基准年已达到新目标"),
        "amber": ("needs up to +25% growth", "需增长不超过 25%"),
        "red": ("needs more than +25% growth", "需增长超过 25%"),
    },
    "forecast": {
        "green": ("forecast covers the target", "预测可覆盖目标"),
        "amber": ("forecast 80–100% of target", "预测为目标的 80–100%"),
        "red": ("forecast below 80% of target", "预测低于目标的 80%"),
    },
}
_WALL_XLABEL = {
    "last_year": ("Base-year bookings as % of the new target", "基准年成交占新目标的比例（%）"),
    "probability": ("Probability of attainment (%)", "达成概率（%）"),
    "forecast": ("Forecast (P50) as % of target", "预测中位数占目标的比例（%）"),
}


def wall_figure(
    alloc: Allocation,
    metric: str = "last_year",
    under: str | None = None,
    lang: str = "en",
    ax=None,
):
    """:func:`simlib.plots.target_wall` of :func:`wall_data`: axis title and scale per
    metric (probability 0–100%; the others as % of target, the axis extended to the
    longest bar), a legend saying what each colour means, names (not ids) on the bars."""
    d = wall_data(alloc, metric, under, lang)
    labels = [_plot_text(n) for n in d["name"]]
    zh = lang == "zh-CN"
    en_x, zh_x = _WALL_XLABEL[metric]
    kw: dict = {"xlabel": zh_x if zh else en_x}
    if metric == "probability":
        att = alloc.scenario.attainability
        kw.update(mode="probability", bands=(att.low, att.high))
    else:
        legend = _WALL_LEGEND[metric]
        kw.update(
            mode="attainment",
            amber_from=0.8,
            legend_labels={k: v[1] if zh else v[0] for k, v in legend.items()},
        )
    title = _WALL_TITLE[(metric, lang)]
    if under:
        names = dict(zip(alloc.nodes["node_id"], _display_name(alloc.nodes, lang)))
        title = f"{title} · {_plot_text(names.get(under, under))}"
    return target_wall(labels, d["actual"], d["target"], title=title, lang=lang, ax=ax, **kw)


def compare_allocations(
    a: Allocation, b: Allocation, levels: Sequence[str] = ("company", "region", "team")
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two allocations side by side: (per-node targets and probabilities, changed
    parameters), both from :func:`simlib.targets.scenario.compare_scenarios`."""
    nodes = compare_scenarios(a, b)
    nodes = nodes[nodes["level"].isin(list(levels))].reset_index(drop=True)
    params = compare_scenarios(a.scenario, b.scenario)
    params = params[params["changed"] & ~params["path"].isin(["name", "description"])]
    return nodes, params.drop(columns="changed").reset_index(drop=True)


# --------------------------------------------------------------------------- for people

_t = translator(
    {
        "company": ("Company", "公司"),
        "region": ("Region", "区域"),
        "team": ("Team", "团队"),
        "rep": ("Rep", "销售"),
        "free": ("", ""),
        "floor": ("held at the growth floor", "按增长下限"),
        "cap": ("held at the growth cap", "按增长上限"),
        "locked": ("locked", "锁定"),
        "no_history": (
            "no comparable year: floor and cap not applied",
            "无可比基准年，未应用增长上下限",
        ),
        "peers": (
            "no comparable year: bounded by its peers' last year",
            "无可比基准年，按同级平均的基准年限增长",
        ),
        "peers_floor": (
            "no comparable year: held at the floor on its peers' last year",
            "无可比基准年，按同级平均基准年的增长下限",
        ),
        "peers_cap": (
            "no comparable year: held at the cap on its peers' last year",
            "无可比基准年，按同级平均基准年的增长上限",
        ),
        "new": ("new: no base year", "新人，无基准年"),
        "target": ("Company target", "公司目标"),
        "target_v": ("{amount} ({growth} on the base year)", "{amount}（较基准年 {growth}）"),
        "p_forecast": ("Chance of the company number (pipeline)", "公司达成概率（按管道预测）"),
        "p_quota": ("Chance if every rep makes quota", "公司达成概率（销售均达配额）"),
        "over": ("Over-assignment (rep quotas vs company)", "超配（销售配额合计 / 公司目标）"),
        "smart": ("Targets failing SMART", "未通过 SMART 的目标"),
        "smart_v": ("{n} of {m}", "{n} / {m}"),
        "p_low": ("below {lo}: out of reach", "低于 {lo}：难以达成"),
        "p_high": ("above {hi}: little stretch", "高于 {hi}：缺乏挑战"),
        "p_ok": (
            "between {lo} and {hi}: stretching but reachable",
            "介于 {lo} 与 {hi}：有挑战且可达成",
        ),
        "by_p": ("probability of attainment", "达成概率"),
        "by_gap": ("gap", "差距"),
        "no_fails": ("Every target passes the SMART checks.", "全部目标通过 SMART 检查。"),
        "no_notes": ("No notes.", "无备注。"),
        "policy": (
            "Changes to the standing policy (params/targets.yaml): ",
            "相对常设规则（params/targets.yaml）的改动：",
        ),
        "fair": (
            "Fair quotas: every parent's children share one probability of attainment.",
            "公平配额：同一上级下的各单位达成概率相同。",
        ),
        "risk": (
            "On the pipeline as it stands, the chance that the company reaches {target} is "
            "<b>{p}</b> ({band}). If every rep makes quota it is <b>{pq}</b>. The reps' quotas "
            "add up to {quota}, {over} over the company number; {conf} confidence needs "
            "an over-assignment of {need}.",
            "按当前管道预测，公司达成 {target} 的概率为 <b>{p}</b>（{band}）。若每位销售都完成"
            "配额，概率为 <b>{pq}</b>。销售配额合计 {quota}，比公司目标高 {over}；要有 {conf} "
            "的把握达成公司目标，需超配 {need}。",
        ),
        "funnel": (
            "To win the year's number the reps need about <b>{visits}</b> customer visits, "
            "giving <b>{proposals}</b> proposals and <b>{deals}</b> won deals; marketing must "
            "deliver <b>{leads}</b> qualified leads (the floor is {floor} a team a month). "
            "{short}",
            "为完成全年目标，销售约需 <b>{visits}</b> 次客户拜访，形成 <b>{proposals}</b> 份方案，"
            "赢得 <b>{deals}</b> 单；市场部需提供 <b>{leads}</b> 条合格线索（下限为每团队每月 "
            "{floor} 条）。{short}",
        ),
        "short": (
            "{n} team-months need more leads than the floor.",
            "有 {n} 个团队月所需线索超过下限。",
        ),
        "not_short": ("The floor covers every team-month.", "所有团队月的线索均在下限之内。"),
        "visits": ("Visits", "客户拜访"),
        "proposals": ("Proposals", "方案"),
        "deals": ("Won deals", "赢单"),
    }
)

#: (key, zh header, en header)
_H = {
    "name": ("名称", "Name"),
    "level": ("层级", "Level"),
    "last_year": ("基准年成交", "Base year"),
    "target": ("目标", "Target"),
    "growth": ("增长", "Growth"),
    "bound": ("约束", "Held by"),
    "p_attain": ("达成概率", "Probability"),
    "top_down": ("自上而下", "Top-down"),
    "bottom_up": ("预测中位数", "Forecast (P50)"),
    "gap": ("差距", "Gap"),
    "gap_pct": ("差距占预测", "Gap vs forecast"),
    "period": ("期间", "Period"),
    "fails": ("未通过", "Fails"),
    "why": ("原因", "Why"),
    "year": ("全年", "Year"),
    "leads": ("所需合格线索", "Qualified leads needed"),
    "months_short": ("线索超下限月数", "Months above the lead floor"),
}


def _col(key: str, kind: str = "text", **kw) -> Col:
    zh, en = _H[key]
    return Col(key, zh, en, kind, **kw)


def units_for(alloc: Allocation, lang: str) -> Units:
    """The page's amount unit: 万 (zh-CN) or millions (English) of the scenario's currency."""
    return Units(lang, currency=getattr(alloc.scenario, "currency", "CNY"))


def _names(alloc: Allocation, lang: str) -> dict[str, str]:
    return dict(zip(alloc.nodes["node_id"], _display_name(alloc.nodes, lang)))


def _p_status(p: float, low: float, high: float) -> str:
    if present.is_missing(p):
        return "grey"
    return "red" if p < low else ("amber" if p > high else "green")


def _p_badge(p: float, low: float, high: float) -> str:
    if present.is_missing(p):
        return present.MISSING
    return (
        f'<span style="color:{present.status_color(_p_status(p, low, high))};'
        f'font-weight:600">{present.pct(p)}</span>'
    )


def headline_items(alloc: Allocation, lang: str = "en") -> list[tuple[str, str, str, str]]:
    """The headline as ``(key, label, value, status)``: company target with its growth,
    the two probabilities (coloured by the SMART "A" band), over-assignment, SMART."""
    h = headline(alloc)
    u = units_for(alloc, lang)
    att = alloc.scenario.attainability
    target = _t(
        "target_v",
        lang,
        amount=u.amount(h["company_target"], unit=True),
        growth=present.pct(h["growth"], sign=True),
    )
    return [
        ("company_target", _t("target", lang), target, ""),
        (
            "probability",
            _t("p_forecast", lang),
            present.pct(h["p_company_forecast"]),
            _p_status(h["p_company_forecast"], att.low, att.high),
        ),
        (
            "probability_quota",
            _t("p_quota", lang),
            present.pct(h["p_company_if_reps_on_quota"]),
            _p_status(h["p_company_if_reps_on_quota"], att.low, att.high),
        ),
        (
            "over_assignment",
            _t("over", lang),
            present.pct(h["over_assignment_total"], sign=True),
            "",
        ),
        (
            "smart",
            _t("smart", lang),
            _t("smart_v", lang, n=h["smart_failures"], m=h["smart_targets"]),
            "red" if h["smart_failures"] else "green",
        ),
    ]


def headline_cards(alloc: Allocation, lang: str = "en") -> present.HTML:
    """:func:`headline_items` as :func:`simlib.present.cards` (each card has the CSS class
    ``simlib-card-KEY``)."""
    items = headline_items(alloc, lang)
    return present.cards(
        [(k, v) for _, k, v, _s in items],
        status=[s for *_, s in items],
        keys=[key for key, *_ in items],
    )


def _frame(alloc: Allocation, levels: Sequence[str], under: str | None, lang: str) -> pd.DataFrame:
    df = allocation_table(alloc, levels, under)
    names = _display_name(df, lang)
    pad = {"company": 0, "region": 1, "team": 2, "rep": 3}
    df = df.assign(
        name=[
            f'<span style="padding-left:{12 * pad.get(lv, 0)}px">{_esc(n)}</span>'
            for lv, n in zip(df["level"], names)
        ],
        level_text=[_t(lv, lang) for lv in df["level"]],
    )
    return df


def bound_keys(alloc: Allocation, frame: pd.DataFrame) -> list[str]:
    """What held each row's target: ``floor``, ``cap``, ``locked``; ``no_history`` for a
    node without a comparable base year (the growth floor and cap do not apply to it, so
    +500% is possible and must be said), or ``peers`` when the scenario bounds such nodes
    by their peers (``growth.no_history: peers``) and the bound does not bind; ``free``
    otherwise."""
    comparable = dict(zip(alloc.nodes["node_id"], alloc.nodes["comparable"].astype(bool)))
    peers = alloc.scenario.growth.no_history == "peers"
    out = []
    for n, st in zip(frame["node_id"], frame["status"]):
        known = comparable.get(n, True)
        if st in ("floor", "cap"):
            out.append(st if known or not peers else f"peers_{st}")
        elif st == "locked":
            out.append(st)
        else:
            out.append("free" if known else ("peers" if peers else "no_history"))
    return out


def allocation_html(
    alloc: Allocation,
    levels: Sequence[str] = ("company", "region", "team"),
    under: str | None = None,
    lang: str = "en",
    *,
    quarters: bool = True,
    top: int | None = None,
) -> present.HTML:
    """The allocation table for people: names indented by level, base year and target
    in the page's unit, growth %, what held a target (growth floor, cap, lock), the
    quarters, and the probability coloured by the SMART "A" band."""
    u = units_for(alloc, lang)
    att = alloc.scenario.attainability
    df = _frame(alloc, levels, under, lang)
    df["bound"] = [_t(b, lang) for b in bound_keys(alloc, df)]
    df["growth_text"] = [
        _t("new", lang) if not ly and present.is_missing(g) else present.pct(g, sign=True)
        for ly, g in zip(df["last_year"], df["growth"])
    ]
    df["p_html"] = [_p_badge(p, att.low, att.high) for p in df["p_attain"]]
    cols = [
        _col("name", "html"),
        Col("level_text", *_H["level"]),
        _col("last_year", "amount"),
        _col("target", "amount"),
        Col("growth_text", *_H["growth"], kind="pct", fmt=str),
        _col("bound"),
    ]
    if quarters:
        cols += [Col(q, q, q, "amount") for q in ("Q1", "Q2", "Q3", "Q4")]
    cols.append(Col("p_html", *_H["p_attain"], kind="html"))
    return present.table(df, cols, u, top=top)


def quarter_html(
    alloc: Allocation, levels: Sequence[str] = ("company", "region", "team"), lang: str = "en"
) -> present.HTML:
    """Each node's year and quarters in the page's unit; the caption gives the company's
    quarter shares."""
    u = units_for(alloc, lang)
    df = _frame(alloc, levels, None, lang)
    q = quarter_split(alloc, ("company",)).iloc[0]
    shares = " · ".join(f"{k} {present.pct(q[f'{k}_share'])}" for k in ("Q1", "Q2", "Q3", "Q4"))
    cap = ("全公司季度占比：" if u.zh else "Company, share of the year: ") + shares
    cols = [_col("name", "html"), Col("target", *_H["year"], kind="amount")]
    cols += [Col(k, k, k, "amount") for k in ("Q1", "Q2", "Q3", "Q4")]
    return present.table(df, cols, u, caption=cap)


def gap_html(
    alloc: Allocation,
    levels: Sequence[str] = ("company", "region", "team"),
    under: str | None = None,
    lang: str = "en",
) -> present.HTML:
    """:func:`gap_table` for people."""
    u = units_for(alloc, lang)
    att = alloc.scenario.attainability
    g = gap_table(alloc, levels, under)
    pad = {"company": 0, "region": 1, "team": 2, "rep": 3}
    g = g.assign(
        name=[
            f'<span style="padding-left:{12 * pad.get(lv, 0)}px">{_esc(n)}</span>'
            for lv, n in zip(g["level"], _display_name(g, lang))
        ],
        p_html=[_p_badge(p, att.low, att.high) for p in g["p_attain"]],
    )
    cols = [
        _col("name", "html"),
        _col("top_down", "amount"),
        _col("target", "amount"),
        _col("bottom_up", "amount"),
        Col("gap", *_H["gap"], kind="amount", fmt=lambda v: u.amount(v, sign=True)),
        Col("gap_pct", *_H["gap_pct"], kind="pct", fmt=lambda v: present.pct(v, sign=True)),
        Col("p_html", *_H["p_attain"], kind="html"),
    ]
    return present.table(g, cols, u)


def ramp_html(alloc: Allocation, data, lang: str = "en", ramp=None) -> present.HTML:
    """The reps still ramping in the target year: each quarter's target beside what a hire
    books at the ramp the company's own hires show (:mod:`simlib.targets.ramp`), and the
    plan's assumption, so a director sees a new hire's quarters before agreeing them."""
    from simlib.targets.ramp import observed_ramp, ramp_reps

    ramp = ramp if ramp is not None else observed_ramp(data, alloc.history.as_of)
    rows = ramp_reps(alloc, data, ramp)
    zh = lang == "zh-CN"
    months = alloc.scenario.ramp_months
    n = len(ramp.hires)
    first3 = ramp.curve["smoothed"].iloc[:3].mean() if len(ramp.curve) else float("nan")
    if n == 0:
        said = (
            "数据中没有新入职销售的前几个月，无法测算实际爬坡。"
            if zh
            else "No rep's first months are in the data: the ramp cannot be measured."
        )
    elif ramp.months_to_full is None:
        said = (
            f"数据中的 {n} 位新入职销售前三个月的成交约为老销售的 {present.pct(first3, 0)}，"
            f"尚未看到爬坡完成；方案的产能按入职 {months} 个月达到满产计算。"
            if zh
            else f"The {n} reps hired inside the data booked about {present.pct(first3, 0)} "
            "of a tenured rep in their first three months and have not yet reached the "
            f"tenured level; the plan's capacity assumes full productivity after {months} "
            "months (ramp_months)."
        )
    else:
        said = (
            f"数据中的 {n} 位新入职销售前三个月的成交约为老销售的 {present.pct(first3, 0)}，"
            f"约入职第 {ramp.months_to_full + 1} 个月达到老销售的 90%；方案的产能按入职 "
            f"{months} 个月达到满产计算。“按爬坡预期”= 实际爬坡比例 × 本团队老销售该季度的"
            "平均目标。"
            if zh
            else f"The {n} reps hired inside the data booked about {present.pct(first3, 0)} "
            "of a tenured rep in their first three months and reached 90% in about month "
            f"{ramp.months_to_full + 1}; the plan's capacity assumes full productivity after "
            f"{months} months (ramp_months). Expected = the observed ramp × the quarter's "
            "mean target of the team's tenured reps."
        )
    if rows.empty:
        none = (
            "目标年度内没有仍在爬坡的销售。"
            if zh
            else "No rep is still ramping in the target year."
        )
        return present.HTML(f"<p>{_esc(said)}</p><p>{_esc(none)}</p>")
    u = units_for(alloc, lang)
    names = dict(zip(alloc.nodes["node_id"], _display_name(alloc.nodes, lang)))
    shown = rows.assign(
        rep=_display_name(rows, lang),
        team=[names.get(t, t) for t in rows["team_id"]],
        hired=[str(d) for d in rows["hire_date"]],
    )
    for q in range(1, 5):
        shown[f"Q{q}"] = [
            f"{_esc(u.amount(t))} / {_esc(u.amount(e) if e == e else present.MISSING)}"
            f"<br><small>{_esc(present.pct(o, 0) if o == o else present.MISSING)}</small>"
            for t, e, o in zip(
                shown[f"target_Q{q}"], shown[f"expected_Q{q}"], shown[f"observed_Q{q}"]
            )
        ]
    cols = [
        Col("rep", "销售", "Rep"),
        Col("team", "团队", "Team"),
        Col("hired", "入职日期", "Hired"),
        Col("months_in", "已入职（月）", "Months in", kind="count"),
        Col("booked_90d", "近90天成交", "Won, last 90 days", kind="amount"),
        *[
            Col(f"Q{q}", f"Q{q}（{u.label()}）", f"Q{q} ({u.label()})", kind="html")
            for q in range(1, 5)
        ],
    ]
    key = (
        "每个季度：目标 / 按实际爬坡的预期，下方为爬坡比例。"
        if zh
        else "Each quarter: target / expected at the observed ramp, the ramp share below."
    )
    return present.HTML(f"<p>{_esc(said)} {_esc(key)}</p>" + present.table(shown, cols, u))


def smart_html(
    alloc: Allocation,
    lang: str = "en",
    levels: Sequence[str] = LEVELS,
    *,
    under: str | None = None,
    top: int | None = None,
) -> present.HTML:
    """The targets failing a SMART letter, with the reason in words: company first, then
    regions, teams and reps, each by probability (``top``: the first N, "top N of M")."""
    u = units_for(alloc, lang)
    att = alloc.scenario.attainability
    f = smart_failures(alloc, lang, levels)
    keep = _subtree(alloc, under)
    if keep is not None:
        f = f[f["owner_id"].isin(keep)]
    if not len(f):
        return present.HTML(f"<p>{_esc(_t('no_fails', lang))}</p>")
    names = _names(alloc, lang)
    order = {lv: i for i, lv in enumerate(LEVELS)}
    f = f.assign(_o=f["level"].map(order)).sort_values(["_o", "p_attain", "period"])
    f = f.assign(
        name=[names.get(i, i) for i in f["owner_id"]],
        level_text=[_t(lv, lang) for lv in f["level"]],
        p_html=[_p_badge(p, att.low, att.high) for p in f["p_attain"]],
    )
    cols = [
        Col("name", *_H["name"]),
        Col("level_text", *_H["level"]),
        _col("period"),
        Col("amount", *_H["target"], kind="amount"),
        Col("p_html", *_H["p_attain"], kind="html"),
        _col("why"),
    ]
    by = "层级、达成概率" if u.zh else "level, then probability"
    return present.table(f.reset_index(drop=True), cols, u, top=top, sorted_by=by)


def risk_html(alloc: Allocation, lang: str = "en") -> present.HTML:
    """The risk that the company misses its number, in words."""
    h = headline(alloc)
    u = units_for(alloc, lang)
    att = alloc.scenario.attainability
    lo, hi = present.pct(att.low, 0), present.pct(att.high, 0)
    st = _p_status(h["p_company_forecast"], att.low, att.high)
    band = _t({"red": "p_low", "amber": "p_high"}.get(st, "p_ok"), lang, lo=lo, hi=hi)
    text = _t(
        "risk",
        lang,
        target=_esc(u.amount(h["company_target"], unit=True)),
        p=present.pct(h["p_company_forecast"]),
        band=_esc(band),
        pq=present.pct(h["p_company_if_reps_on_quota"]),
        quota=_esc(u.amount(h["rep_quota_total"], unit=True)),
        over=present.pct(h["over_assignment_total"], sign=True),
        conf=present.pct(att.company_confidence, 0),
        need=present.pct(h["uplift_for_confidence"]),
    )
    return present.HTML(f"<p>{text}</p>")


def funnel_summary(alloc: Allocation) -> pd.DataFrame:
    """The reverse funnel per team, for the year: target, visits, proposals and won deals
    needed (each step narrower than the one before), qualified leads needed, and the
    months whose leads exceed the marketing floor."""
    fr = alloc.funnel_reps
    cols = ["visits_target", "proposals_target", "deals_target", "leads_target"]
    if not len(fr):
        return pd.DataFrame(columns=["team_id", "revenue", *cols, "months_above_floor"])
    g = fr.groupby("team_id", sort=True)[["revenue", *cols]].sum().reset_index()
    fc = funnel_check(alloc).set_index("team_id")
    g["leads_target"] = [
        int(alloc.funnel_teams.loc[alloc.funnel_teams["team_id"] == t, "leads_required"].sum())
        for t in g["team_id"]
    ]
    g["months_above_floor"] = [int(fc["months_above_floor"].get(t, 0)) for t in g["team_id"]]
    return g


def funnel_html(alloc: Allocation, lang: str = "en") -> present.HTML:
    """The reverse funnel in words, as narrowing bars (visits → proposals → won deals),
    and per team."""
    u = units_for(alloc, lang)
    f = funnel_summary(alloc)
    if not len(f):
        return present.HTML("")
    tot = {k: int(f[f"{k}_target"].sum()) for k in ("visits", "proposals", "deals", "leads")}
    short = int(f["months_above_floor"].sum())
    floor = int(alloc.scenario.funnel.marketing_lead_floor)
    text = _t(
        "funnel",
        lang,
        visits=present.count(tot["visits"]),
        proposals=present.count(tot["proposals"]),
        deals=present.count(tot["deals"]),
        leads=present.count(tot["leads"]),
        floor=floor,
        short=_esc(_t("short", lang, n=short) if short else _t("not_short", lang)),
    )
    top = max(tot["visits"], 1)
    bars = "".join(
        f'<div style="display:flex;align-items:center;gap:8px;margin:2px 0">'
        f'<div style="width:90px;text-align:right;font-size:13px">{_esc(_t(k, lang))}</div>'
        f'<div style="width:{max(2, round(360 * tot[k] / top))}px;height:16px;'
        f'background:#78909c;margin-left:{round(180 * (1 - tot[k] / top))}px"></div>'
        f'<div style="font-size:13px">{present.count(tot[k])}</div></div>'
        for k in ("visits", "proposals", "deals")
    )
    names = _names(alloc, lang)
    f = f.assign(name=[names.get(t, t) for t in f["team_id"]])
    cols = [
        Col("name", *_H["name"]),
        Col("revenue", *_H["target"], kind="amount"),
        Col("visits_target", "客户拜访", "Visits", "count"),
        Col("proposals_target", "方案", "Proposals", "count"),
        Col("deals_target", "赢单", "Won deals", "count"),
        Col("leads_target", *_H["leads"], kind="count"),
        Col("months_above_floor", *_H["months_short"], kind="count"),
    ]
    return present.HTML(
        f"<p>{text}</p><div class='simlib-funnel'>{bars}</div>" + present.table(f, cols, u)
    )


_NOTE_ZH = (("fair quotas:", "fair"),)


def notes_html(alloc: Allocation, lang: str = "en") -> present.HTML:
    """The scenario's description and the engine's notes ("No notes." when none)."""
    items = []
    desc = (alloc.scenario.description or "").strip()
    if desc:
        items.append(desc)
    policy = policy_text(alloc.scenario, lang)
    if policy:
        items.append(policy)
    for n in alloc.notes:
        if n.startswith("fair quotas:"):
            items.append(_t("fair", lang))
        else:
            items.append(n)
    if not items:
        return present.HTML(f"<p>{_esc(_t('no_notes', lang))}</p>")
    return present.HTML("<ul>" + "".join(f"<li>{_esc(x)}</li>" for x in items) + "</ul>")


def compare_html(a: Allocation, b: Allocation, lang: str = "en", other: str = "") -> present.HTML:
    """Two allocations side by side for people: each region's and team's target in both
    and the difference (amount and %), then the settings that differ, in words."""
    u = units_for(a, lang)
    nodes, params = compare_allocations(a, b)
    names = _names(a, lang)
    names.update({k: v for k, v in _names(b, lang).items() if k not in names})
    pad = {"company": 0, "region": 1, "team": 2, "rep": 3}
    nodes = nodes.assign(
        name=[
            f'<span style="padding-left:{12 * pad.get(lv, 0)}px">{_esc(names.get(i, i))}</span>'
            for i, lv in zip(nodes["node_id"], nodes["level"])
        ]
    )
    zh = u.zh
    b_name = other or ("对比情景" if zh else "other")
    cols = [
        _col("name", "html"),
        Col("target_a", "当前目标", "Target now", "amount"),
        Col("target_b", f"{b_name} 目标", f"Target in {b_name}", "amount"),
        Col("difference", "差额", "Difference", "amount", fmt=lambda v: u.amount(v, sign=True)),
        Col(
            "difference_pct",
            "差额 %",
            "Difference %",
            "pct",
            fmt=lambda v: present.pct(v, sign=True),
        ),
        Col("p_attain_a", "当前达成概率", "Probability now", "pct"),
        Col("p_attain_b", f"{b_name} 达成概率", f"Probability in {b_name}", "pct"),
    ]
    out = present.table(nodes, cols, u)
    if len(params):
        rows = "".join(
            f"<li>{_esc(_setting_name(p, lang))}: {_esc(_setting_value(p, x, lang))} → "
            f"{_esc(_setting_value(p, y, lang))}</li>"
            for p, x, y in zip(params["path"], params["a"], params["b"])
        )
        head = "不同的设置" if zh else "Settings that differ"
        out = present.HTML(out + f"<p><b>{_esc(head)}</b></p><ul>{rows}</ul>")
    return out


#: scenario setting path → (en, zh-CN) for people
_SETTINGS = {
    "company_target": ("Company target", "公司目标"),
    "company_growth": ("Company growth", "公司增长"),
    "growth.floor": ("Growth floor", "增长下限"),
    "growth.cap": ("Growth cap", "增长上限"),
    "uplift.region": ("Uplift, regions", "区域超配"),
    "uplift.team": ("Uplift, teams", "团队超配"),
    "uplift.rep": ("Uplift, reps", "个人超配"),
    "methods.historical": ("Weight of history", "历史权重"),
    "methods.potential": ("Weight of potential", "潜力权重"),
    "methods.equal": ("Weight of equal split", "平均权重"),
    "methods.capacity": ("Weight of capacity", "产能权重"),
    "focus_region": ("Focus region", "重点区域"),
    "focus_weight": ("Focus weight", "重点权重"),
    "seasonality": ("Seasonality", "季节性"),
    "fair_quotas": ("Fair quotas", "公平配额"),
}
_PCT_SETTINGS = {
    "company_growth",
    "growth.floor",
    "growth.cap",
    "uplift.region",
    "uplift.team",
    "uplift.rep",
}


def _setting_name(path: str, lang: str) -> str:
    en, zh = _SETTINGS.get(path, (path, path))
    return zh if lang == "zh-CN" else en


def policy_text(scenario, lang: str = "en") -> str:
    """One sentence: what ``scenario`` changes in the standing policy
    (``params/targets.yaml``), in words; ``""`` when it changes nothing."""
    parts = []
    for path, theirs, ours in policy_overrides(scenario):
        if path == "company_number":
            (k0, v0), (k1, v1) = next(iter(theirs.items())), next(iter(ours.items()))
            parts.append(
                f"{_setting_name(k0, lang)} {_setting_value(k0, v0, lang)} → "
                + (f"{_setting_name(k1, lang)} " if k1 != k0 else "")
                + _setting_value(k1, v1, lang)
            )
            continue
        was, now = _setting_value(path, theirs, lang), _setting_value(path, ours, lang)
        parts.append(f"{_setting_name(path, lang)} {was} → {now}")
    if not parts:
        return ""
    sep = "；" if lang == "zh-CN" else "; "
    return _t("policy", lang) + sep.join(parts)


def _setting_value(path: str, v, lang: str) -> str:
    if present.is_missing(v) or v == "":
        return present.MISSING
    if isinstance(v, bool):
        return ("是" if v else "否") if lang == "zh-CN" else ("yes" if v else "no")
    if path in _PCT_SETTINGS:
        return present.pct(v, sign=True)
    if path == "focus_weight" or path.startswith("methods."):
        return present.pct(v)
    if path == "company_target":
        return Units(lang).amount(v, unit=True)
    return str(v)


# --------------------------------------------------------------------------- the handout

_S = translator(
    {
        "title": ("Target workshop summary", "目标研讨会摘要"),
        "scenario": ("Scenario {name}, targets for {year}", "情景 {name}，{year} 年目标"),
        "trials": (
            "probabilities from {n} Monte Carlo trials (seed {seed})",
            "达成概率基于 {n} 次蒙特卡洛模拟（随机种子 {seed}）",
        ),
        "allocation": ("Targets by region and team", "按区域和团队分解的目标"),
        "quarters": ("Quarter split", "季度拆分"),
        "smart": ("Targets failing the SMART checks", "未通过 SMART 检查的目标"),
        "risk": ("Risk to the company number", "公司目标的风险"),
        "funnel": ("What the targets take", "完成目标所需的过程量"),
        "notes": ("Decisions and notes", "决定与说明"),
        "ramp": ("Reps still ramping", "仍在爬坡的新销售"),
        "smart_count": (
            "{n} of {m} targets (year, quarters and months of every level) fail a letter; "
            "regions and teams are listed here, reps in the team review packs.",
            "共 {m} 个目标（各层级的全年、季度与月度目标）中有 {n} 个未通过；"
            "此处列出区域和团队，销售个人见各团队评审资料。",
        ),
    }
)


@dataclass(frozen=True)
class WorkshopSummary:
    """The director's handout of one scenario: each method is one section of the page
    (safe HTML through :mod:`simlib.present`, or a figure)."""

    alloc: Allocation
    lang: str = "en"
    data: object = None

    def _h(self, key: str) -> str:
        return f"<h2>{_esc(_S(key, self.lang))}</h2>"

    def header(self) -> present.HTML:
        """Title, scenario, year, trials; then the headline cards."""
        s, L = self.alloc.scenario, self.lang
        sim = s.simulation
        return present.HTML(
            f"<h1>{_esc(_S('title', L))}</h1>"
            f"<p>{_esc(_S('scenario', L, name=s.name or '—', year=s.year))} · "
            f"{_esc(_S('trials', L, n=f'{sim.n_trials:,}', seed=sim.seed))}</p>"
            + headline_cards(self.alloc, L)
        )

    def allocation(self) -> present.HTML:
        return present.HTML(
            self._h("allocation")
            + allocation_html(self.alloc, ("company", "region", "team"), None, self.lang)
        )

    def wall(self, metric: str = "last_year"):
        return wall_figure(self.alloc, metric, lang=self.lang)

    def quarters(self) -> present.HTML:
        return present.HTML(self._h("quarters") + quarter_html(self.alloc, lang=self.lang))

    def smart(self) -> present.HTML:
        h = headline(self.alloc)
        note = _S("smart_count", self.lang, n=h["smart_failures"], m=h["smart_targets"])
        body = smart_html(self.alloc, self.lang, ("company", "region", "team"))
        return present.HTML(self._h("smart") + f"<p>{_esc(note)}</p>" + body)

    def risk(self) -> present.HTML:
        return present.HTML(self._h("risk") + risk_html(self.alloc, self.lang))

    def funnel(self) -> present.HTML:
        return present.HTML(self._h("funnel") + funnel_html(self.alloc, self.lang))

    def ramp(self) -> present.HTML:
        """The reps still ramping: targets beside the company's observed ramp."""
        if self.data is None:
            return present.HTML("")
        return present.HTML(self._h("ramp") + ramp_html(self.alloc, self.data, self.lang))

    def notes(self) -> present.HTML:
        return present.HTML(self._h("notes") + notes_html(self.alloc, self.lang))


def workshop_summary(
    scenario: str = "baseline_2027",
    lang: str = "en",
    *,
    n_trials: int | None = None,
    seed: int | None = None,
    data=None,
) -> WorkshopSummary:
    """The handout of ``scenario`` (a name in ``params/scenarios`` or a file) on ``data``."""
    from simlib.targets import TargetCache, run_scenario
    from simlib.targets.scenario import load_scenario

    if data is None:
        raise ValueError("workshop_summary needs the data (load_source(source, mapping))")
    s = load_scenario(scenario)
    sim = {k: v for k, v in (("n_trials", n_trials), ("seed", seed)) if v is not None}
    if sim:
        src = s.source
        s = s.model_copy(update={"simulation": s.simulation.model_copy(update=sim)})
        s._source = src
    return WorkshopSummary(run_scenario(s, data, cache=TargetCache(data)), lang, data)
