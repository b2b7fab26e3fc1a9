"""The quarterly attainment forecast of one org node, ready for a report (SPEC R21).

The numbers come from :func:`simlib.simulate.simulate` (the same call ``simlib demo``
makes for its forecast): the model is calibrated from the company's own closed
history as of ``as_of`` and the trials are rolled up the org tree. This module only
chooses what a reader of one node may see and lays it out:

- a rep's forecast shows that rep only;
- a team's shows the team and its reps (the manager's view);
- a region's shows the region, its teams and their reps;
- the company's shows the company, its regions and their teams (the director's view).

Used by ``notebooks/reports/attainment_forecast.ipynb``::

    fc = forecast_report("T-SH", "2026-Q4", lang="zh-CN", n_trials=10_000)
    fc.header()        # node, period, as-of date, trials, seed
    fc.headline()      # quota, P10/P50/P90, P(>= 80/100/120% of quota)
    fc.breakdown()     # the same per child node
    fc.figure()        # attainment ranges (P10-P90, P50) of the node and its children
    fc.method()        # how the forecast was made
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from simlib.display import Markdown
from simlib.i18n import check_lang as _check_lang
from simlib.i18n import escape_md as _md
from simlib.i18n import plain_text_for_plot as _plot_text
from simlib.i18n import translator
from simlib.periods import parse_period
from simlib.pipeline import LOOKBACK_DAYS
from simlib.plots import use_cjk_font
from simlib.plots.commission import _money_axis
from simlib.simulate import simulate
from simlib.tracking import text
from simlib.views.statement import Section, period_label

__all__ = ["ForecastReport", "forecast_report", "scope_levels", "FRACTIONS"]

#: Attainment levels reported: P(bookings >= f x quota).
FRACTIONS = (0.8, 1.0, 1.2)
_P_COLS = {0.8: "p_ge_80", 1.0: "p_attain", 1.2: "p_ge_120"}

#: What a forecast of a node lists below it (see the module docstring).
_BELOW = {"company": ("region", "team"), "region": ("team", "rep"), "team": ("rep",), "rep": ()}

_TEXT: dict[str, tuple[str, str]] = {
    "title": ("Attainment forecast", "业绩达成预测"),
    "as_of": ("as of", "截至"),
    "trials": ("{n:,} Monte Carlo trials, seed {seed}", "蒙特卡洛模拟 {n:,} 次，随机种子 {seed}"),
    "headline": ("Forecast of bookings in {p}", "{p} 成交额预测"),
    "breakdown": ("Breakdown", "下级明细"),
    "no_breakdown": ("A rep's forecast shows that rep only.", "个人预测仅显示本人。"),
    "item": ("Item", "项目"),
    "value": ("Value", "数值"),
    "quota": ("Quota", "指标"),
    "booked": ("Booked so far", "已成交"),
    "mean": ("Mean", "均值"),
    "p10": ("P10 (9 in 10 trials above)", "P10（九成情形高于此）"),
    "p50": ("P50 (median)", "P50（中位数）"),
    "p90": ("P90 (1 in 10 trials above)", "P90（一成情形高于此）"),
    "att50": ("Attainment at P50", "P50 达成率"),
    "p_ge": ("P(≥ {f:.0%} of quota)", "达成 {f:.0%} 的概率"),
    "level": ("Level", "层级"),
    "id": ("ID", "编号"),
    "name": ("Name", "名称"),
    "no_quota": (
        "No quota for {p}: no probability of reaching it.",
        "{p} 无指标，无法计算达成概率。",
    ),
    "note_breakdown": (
        "Children do not add up to the parent in P10/P50/P90: quantiles of a sum are not "
        "sums of quantiles.",
        "分位数不可相加：下级的 P10/P50/P90 之和不等于上级的对应值。",
    ),
    "method": ("How this forecast is made", "预测方法"),
    "fig_title": (
        "{name}: attainment {p}, P10–P90 and P50",
        "{name}：{p} 达成率（P10–P90 与 P50）",
    ),
    "fig_x": ("Attainment (bookings / quota)", "达成率（成交额 / 指标）"),
    "dist_title": (
        "{name}: bookings in {p} over {n:,} trials",
        "{name}：{p} 成交额分布（{n:,} 次模拟）",
    ),
    "dist_x": ("Bookings", "成交额"),
    "dist_y": ("Share of trials", "模拟占比"),
}

_LEVELS = {
    "company": ("company", "公司"),
    "region": ("region", "大区"),
    "team": ("team", "团队"),
    "rep": ("rep", "销售"),
}


_t = translator(_TEXT)


def _pct(x) -> str:
    return "–" if x is None or x != x else text.pct(x)


def scope_levels(level: str) -> tuple[str, ...]:
    """The levels a forecast of a node at ``level`` lists below it."""
    if level not in _BELOW:
        raise ValueError(f"level must be one of {', '.join(_BELOW)}; got {level!r}")
    return _BELOW[level]


def _descendants(nodes: pd.DataFrame, node: str) -> list[str]:
    """Every node below ``node`` (depth first, children in id order)."""
    kids = nodes.groupby("parent_id")["node_id"].apply(lambda s: sorted(s)).to_dict()
    out, stack = [], list(reversed(kids.get(node, [])))
    while stack:
        n = stack.pop()
        out.append(n)
        stack.extend(reversed(kids.get(n, [])))
    return out


@dataclass(frozen=True)
class ForecastReport:
    """One node's forecast: its summary row, the rows below it a reader may see, and
    its trials (for the distribution). Nothing outside the node is kept."""

    node: str
    name: str
    level: str
    period: str
    as_of: pd.Timestamp
    n_trials: int
    seed: int
    lang: str
    currency: str
    row: pd.Series = field(repr=False)  # the node's row of SimulationResult.summary
    rows: pd.DataFrame = field(repr=False)  # the rows below it, in reading order
    trials: np.ndarray = field(repr=False)  # the node's bookings in every trial
    facts: dict = field(repr=False, default_factory=dict)  # calibration facts of the node's reps
    company: str = ""

    # ---- numbers
    def money(self, x) -> str:
        return text.money(x, self.lang, self.currency)

    @property
    def has_quota(self) -> bool:
        q = self.row["quota"]
        return bool(q == q and q > 0)

    # ---- sections
    def header(self) -> Markdown:
        """Title, node, period, as-of date, trials and seed."""
        L = self.lang
        lvl = _LEVELS[self.level][L == "zh-CN"]
        company = f"{_md(self.company)} · " if self.company else ""
        return Markdown(
            f"# {_t('title', L)} — {_md(self.name)} ({_md(self.node)})\n\n"
            f"{company}{lvl} · **{period_label(self.period, L)}** · {_t('as_of', L)} "
            f"{self.as_of.date()} · {_t('trials', L, n=self.n_trials, seed=self.seed)}"
        )

    def headline(self) -> Section:
        """Quota, what is booked, P10/P50/P90 and the attainment probabilities."""
        L, r = self.lang, self.row
        rows = [
            (_t("quota", L), self.money(r["quota"]) if self.has_quota else "–"),
            (_t("booked", L), self.money(self.facts.get("booked", np.nan))),
            (_t("p10", L), self.money(r["p10"])),
            (_t("p50", L), self.money(r["p50"])),
            (_t("p90", L), self.money(r["p90"])),
            (_t("mean", L), self.money(r["mean"])),
            (_t("att50", L), _pct(r["p50"] / r["quota"]) if self.has_quota else "–"),
        ]
        rows += [(_t("p_ge", L, f=f), _pct(r[_P_COLS[f]])) for f in FRACTIONS]
        note = "" if self.has_quota else _t("no_quota", L, p=self.period)
        return Section(
            _t("headline", L, p=period_label(self.period, L)),
            pd.DataFrame(rows, columns=[_t("item", L), _t("value", L)]),
            note,
        )

    def table(self) -> pd.DataFrame:
        """The breakdown as plain numbers (for checks and exports)."""
        cols = ["level", "node_id", "name", "name_zh", "quota", "mean", "p10", "p50", "p90"]
        return self.rows[cols + [_P_COLS[f] for f in FRACTIONS]].reset_index(drop=True)

    def breakdown(self) -> Section:
        """The node's children (and theirs, per :func:`scope_levels`), same figures."""
        L, zh = self.lang, self.lang == "zh-CN"
        if self.rows.empty:
            return Section(_t("breakdown", L), pd.DataFrame(), _t("no_breakdown", L))
        r = self.rows
        names = r["name_zh"].where(r["name_zh"].notna(), r["name"]) if zh else r["name"]
        indent = np.where(r["level"] == self.rows["level"].iloc[0], "", "\u2003")
        shown = pd.DataFrame(
            {
                _t("level", L): [_LEVELS[x][zh] for x in r["level"]],
                _t("id", L): r["node_id"].to_numpy(),
                _t("name", L): [i + str(n) for i, n in zip(indent, names)],
                _t("quota", L): [self.money(q) if q == q else "–" for q in r["quota"]],
                "P10": [self.money(x) for x in r["p10"]],
                "P50": [self.money(x) for x in r["p50"]],
                "P90": [self.money(x) for x in r["p90"]],
                _t("att50", L): [
                    _pct(p / q) if q == q and q > 0 else "–" for p, q in zip(r["p50"], r["quota"])
                ],
                **{_t("p_ge", L, f=f): [_pct(x) for x in r[_P_COLS[f]]] for f in FRACTIONS},
            }
        )
        return Section(_t("breakdown", L), shown, _t("note_breakdown", L))

    def figure(self):
        """Attainment ranges: P10–P90 bar and P50 dot for the node and each row below
        it (with a quota), against 80/100/120% lines."""
        from matplotlib.figure import Figure

        use_cjk_font()
        zh = self.lang == "zh-CN"
        rows = pd.concat([self.row.to_frame().T, self.rows], ignore_index=True)
        rows = rows[rows["quota"].astype(float) > 0]
        names = [
            _plot_text(b if zh and isinstance(b, str) else a)
            for a, b in zip(rows["name"], rows["name_zh"])
        ]
        q = rows["quota"].astype(float).to_numpy()
        lo, mid, hi = (rows[c].astype(float).to_numpy() / q for c in ("p10", "p50", "p90"))
        n = len(rows)
        fig = Figure(figsize=(8, 0.32 * n + 1.4))
        ax = fig.add_subplot()
        y = np.arange(n)[::-1]
        colors = np.where(mid >= 1.0, "#2e7d32", np.where(mid >= 0.8, "#f9a825", "#c62828"))
        ax.barh(y, hi - lo, left=lo, height=0.55, color=colors, alpha=0.45)
        ax.scatter(mid, y, color=colors, zorder=3, s=22)
        for f in FRACTIONS:
            ax.axvline(f, color="black", lw=0.9 if f == 1.0 else 0.5, ls="-" if f == 1.0 else ":")
        ax.set_yticks(y, names, fontsize=8)
        # The node and (when two levels are listed) the first level below it in bold.
        bold = {self.level} | (
            {scope_levels(self.level)[0]} if len(scope_levels(self.level)) > 1 else set()
        )
        for tick, lv in zip(ax.get_yticklabels(), rows["level"]):
            tick.set_fontweight("bold" if lv in bold else "normal")
        ax.set_xlabel(_t("fig_x", self.lang))
        ax.xaxis.set_major_formatter(_percent_formatter())
        ax.set_title(
            _t(
                "fig_title",
                self.lang,
                name=_plot_text(self.name),
                p=period_label(self.period, self.lang),
            ),
            fontsize=10,
        )
        fig.subplots_adjust(
            left=0.25,
            right=0.97,
            top=1 - 0.45 / fig.get_figheight(),
            bottom=0.75 / fig.get_figheight(),
        )
        return fig

    def distribution(self):
        """The node's bookings over the trials, with P10/P50/P90 and the quota lines."""
        from matplotlib.figure import Figure

        use_cjk_font()
        L = self.lang
        fig = Figure(figsize=(8, 3.2))
        ax = fig.add_subplot()
        x = self.trials
        w = np.full(len(x), 1.0 / max(len(x), 1))
        ax.hist(x, bins=min(60, max(10, len(x) // 50)), weights=w, color="#90a4ae")
        for c, ls in (("p10", ":"), ("p50", "-"), ("p90", ":")):
            ax.axvline(self.row[c], color="#37474f", ls=ls, lw=1)
            ax.text(self.row[c], ax.get_ylim()[1] * 0.95, c.upper(), fontsize=7, ha="center")
        if self.has_quota:
            for f in FRACTIONS:
                ax.axvline(
                    f * self.row["quota"],
                    color="#c62828",
                    lw=1.2 if f == 1.0 else 0.6,
                    ls="-" if f == 1.0 else "--",
                )

        _money_axis(ax.xaxis)
        ax.yaxis.set_major_formatter(_percent_formatter())
        ax.set_xlabel(_t("dist_x", L) + f" ({self.currency})")
        ax.set_ylabel(_t("dist_y", L))
        ax.set_title(
            _t(
                "dist_title",
                L,
                name=_plot_text(self.name),
                p=period_label(self.period, L),
                n=self.n_trials,
            ),
            fontsize=10,
        )
        fig.subplots_adjust(left=0.1, right=0.97, top=0.88, bottom=0.18)
        return fig

    def method(self) -> Markdown:
        """How the forecast was made, with the calibration's figures for this node."""
        L, f = self.lang, self.facts
        m = self.money
        if L == "zh-CN":
            items = [
                f"数据截至 {self.as_of.date()}："
                f"只使用当日及之前已知的商机历史（回看 {f['lookback_days']} 天）。",
                f"在途商机 {f['open_deals']:,} 个，金额 {m(f['open_amount'])}；"
                f"按阶段、产品线×客户类型"
                f"（向阶段平均收缩）及销售个人系数估计赢单率，"
                f"按阶段、预计成交日位置、是否推迟过和商机年龄"
                f"估计在 {period_label(self.period, L)} 内成交的概率，"
                f"期望贡献 {m(f['open_expected'])}。",
                f"新增商机：按每位销售的历史到达率（含季节性与过度离散）、"
                f"赢单率、成交周期和历史成交额"
                f"抽样模拟；窗口季节系数 {f['season']:.2f}，"
                f"市场共同因子对数标准差 {f['market_shock']:.2f}。",
                f"已成交 {m(f['booked'])} 直接计入。"
                f"每次模拟把销售的结果逐级汇总到团队、大区和公司。",
                f"同一随机种子（{self.seed}）得到完全相同的结果。",
            ]
        else:
            items = [
                f"Data to {self.as_of.date()}: only the deal history known on that day is used "
                f"(looking back {f['lookback_days']} days).",
                f"{f['open_deals']:,} open deals worth {m(f['open_amount'])}: each deal's chance "
                "of being won comes from its stage and segment (product line × customer type, "
                "shrunk toward the stage rate) and its rep's record; its chance of closing inside "
                f"{self.period} from the stage, where its expected close date sits, past slips "
                f"and its age. Expected contribution {m(f['open_expected'])}.",
                "New deals: each rep's past arrival rate (seasonal, overdispersed), win rate, "
                "cycle time and deal sizes drawn from their won history. Season factor of the "
                f"window {f['season']:.2f}; common market factor log-sd {f['market_shock']:.2f}.",
                f"Already booked: {m(f['booked'])}, counted as is. Each trial adds reps up to "
                "teams, regions and the company.",
                f"The same seed ({self.seed}) gives exactly the same figures.",
            ]
        return Markdown(f"### {_t('method', L)}\n\n" + "\n".join(f"- {x}" for x in items))

    def __repr__(self) -> str:
        r = self.row
        return (
            f"ForecastReport({self.node} {self.period} as of {self.as_of.date()}, "
            f"{self.n_trials:,} trials: "
            f"P50={r['p50']:,.0f}, P(≥quota)={_pct(r['p_attain'])})"
        )


def _percent_formatter():
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda v, _pos: f"{v:.0%}")


def forecast_report(
    node: str = "CO",
    period: str = "2026-Q4",
    as_of: str | None = "",
    *,
    n_trials: int = 10_000,
    seed: int = 0,
    lang: str = "en",
    data,
    result=None,
) -> ForecastReport:
    """Forecast bookings of ``node`` in ``period`` (from ``data``).

    Parameters
    ----------
    node : str
        The company id, a region, a team or a rep id.
    period : str
        ``2026-Q4`` (or any period :func:`simlib.periods.parse_period` reads).
    as_of : str, optional
        The forecast date; ``""`` or None: the data's last day.
    n_trials, seed
        Monte Carlo trials and their seed (see :func:`simlib.simulate.simulate`).
    result : SimulationResult, optional
        A simulation already run for this period and date (the whole company); it is
        used as is.
    """
    _check_lang(lang)
    window = parse_period(period)
    t = pd.Timestamp(data.as_of) if not as_of else pd.Timestamp(as_of)
    if result is None:
        result = simulate(data, window, t, n_trials=n_trials, seed=seed)
    s = result.summary
    ids = list(s["node_id"])
    if node not in ids:
        known = ", ".join(s.loc[s["level"] != "rep", "node_id"])
        raise ValueError(f"no node {node!r} in the forecast; nodes: {known} or a rep id")
    row = s.set_index("node_id").loc[node]
    row = pd.concat([pd.Series({"node_id": node}), row])
    level = str(row["level"])
    below = set(scope_levels(level))
    order = _descendants(s, node)
    rows = s.set_index("node_id").loc[order].reset_index()
    rows = rows[rows["level"].isin(below)].reset_index(drop=True)

    # Calibration figures of the node's reps only.
    cal = result.calibration
    reps = [node] if level == "rep" else [n for n in order if n in set(result.rep_ids)]
    deals = cal.deals[cal.deals["owner_id"].isin(reps)]
    booked = float(cal.reps.loc[cal.reps["rep_id"].isin(reps), "booked"].fillna(0.0).sum())
    facts = dict(
        open_deals=len(deals),
        open_amount=float(deals["amount"].sum()),
        open_expected=float((deals["amount"] * deals["p"]).sum()),
        booked=booked,
        season=float(cal.season),
        market_shock=float(cal.market_shock),
        lookback_days=LOOKBACK_DAYS,
    )
    zh = lang == "zh-CN"
    name = row["name_zh"] if zh and isinstance(row["name_zh"], str) else row["name"]
    company = ""
    top = s[s["level"] == "company"]
    if len(top) and node != top["node_id"].iloc[0]:
        c = top.iloc[0]
        company = c["name_zh"] if zh and isinstance(c["name_zh"], str) else c["name"]
    return ForecastReport(
        node=node,
        name=str(name),
        level=level,
        period=window.label,
        as_of=cal.as_of,
        n_trials=result.n_trials,
        seed=result.seed,
        lang=lang,
        currency=text.company_currency(),
        row=row,
        rows=rows,
        trials=np.asarray(result.node_trials(node)),
        facts=facts,
        company=str(company),
    )
