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
    fc.header()        # the node's name, period, as-of date, trials, seed; headline cards
    fc.headline()      # quota, P10/P50/P90, P(>= 80/100/120% of quota)
    fc.breakdown()     # the same per child node (names, not ids)
    fc.figure()        # attainment ranges (P10-P90, P50) of the node and its children
    fc.distribution()  # the node's bookings over the trials
    fc.method()        # how the forecast was made

Every amount on the page is in one unit (:class:`simlib.present.Units`: 万元 in zh-CN,
¥M in English); shares are %; the sections are safe HTML.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from simlib import present
from simlib.company import default_currency
from simlib.i18n import check_lang as _check_lang
from simlib.i18n import escape as _esc
from simlib.i18n import plain_text_for_plot as _plot_text
from simlib.i18n import translator
from simlib.periods import parse_period
from simlib.pipeline import LOOKBACK_DAYS
from simlib.plots import use_cjk_font
from simlib.present import MISSING, Units, status_color
from simlib.simulate import simulate
from simlib.views.calibration import calibration_lines
from simlib.views.statement import amount_axis, period_label

__all__ = ["ForecastReport", "forecast_report", "scope_levels", "FRACTIONS"]

#: Attainment levels reported: P(bookings >= f x quota).
FRACTIONS = (0.8, 1.0, 1.2)
_P_COLS = {0.8: "p_ge_80", 1.0: "p_attain", 1.2: "p_ge_120"}

#: What a forecast of a node lists below it (see the module docstring).
_BELOW = {"company": ("region", "team"), "region": ("team", "rep"), "team": ("rep",), "rep": ()}

_TEXT: dict[str, tuple[str, str]] = {
    "title": ("Attainment forecast", "业绩达成预测"),
    "as_of": ("data as of {d}", "数据截至 {d}"),
    "trials": ("{n} Monte Carlo trials, seed {seed}", "蒙特卡洛模拟 {n} 次，随机种子 {seed}"),
    "headline": ("Forecast of bookings in {p}", "{p}成交额预测"),
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
    "p_ge": ("P(≥ {f} of quota)", "达成 {f} 的概率"),
    "p_quota": ("Chance of reaching quota", "达成指标的概率"),
    "level": ("Level", "层级"),
    "name": ("Name", "名称"),
    "no_quota": (
        "No quota for {p}: no probability of reaching it.",
        "{p}无指标，无法计算达成概率。",
    ),
    "note_breakdown": (
        "Children do not add up to the parent in P10/P50/P90: quantiles of a sum are not "
        "sums of quantiles.",
        "分位数不可相加：下级的 P10/P50/P90 之和不等于上级的对应值。",
    ),
    "method": ("How this forecast is made", "预测方法"),
    "ranges": ("Attainment ranges", "达成率区间"),
    "distribution": ("Spread of the outcome", "结果分布"),
    "fig_title": (
        "{name}: attainment {p}, P10–P90 and P50",
        "{name}：{p}达成率（P10–P90 与 P50）",
    ),
    "fig_x": ("Attainment (bookings / quota)", "达成率（成交额 / 指标）"),
    "fig_range": ("P10–P90 range", "P10–P90 区间"),
    "fig_green": ("P50 at or above quota", "P50 达到指标"),
    "fig_amber": ("P50 at 80–100% of quota", "P50 为指标的 80%–100%"),
    "fig_red": ("P50 below 80% of quota", "P50 低于指标的 80%"),
    "dist_title": (
        "{name}: bookings in {p} over {n} trials",
        "{name}：{p}成交额分布（{n} 次模拟）",
    ),
    "dist_x": ("Bookings", "成交额"),
    "dist_y": ("Share of trials", "模拟占比"),
    "dist_quota": ("Quota (100%; dashed 80% and 120%)", "指标（100%；虚线为 80% 与 120%）"),
    "dist_p": ("P10 / P50 / P90", "P10 / P50 / P90"),
}

_LEVELS = {
    "company": ("Company", "公司"),
    "region": ("Region", "大区"),
    "team": ("Team", "团队"),
    "rep": ("Rep", "销售"),
}


_t = translator(_TEXT)


def _pct(x, decimals: int = 1) -> str:
    return present.pct(x, decimals)


def _status(att: float) -> str:
    """Status of an attainment at P50: green at or above quota, amber from 80%, red below."""
    if att != att:
        return "grey"
    return "green" if att >= 1.0 else ("amber" if att >= 0.8 else "red")


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
    its trials (for the distribution). Nothing outside the node is kept.

    Every section is safe HTML through :mod:`simlib.present` (or a figure), in one unit
    per page: 万元 in zh-CN, ¥M in English.
    """

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
    @property
    def units(self) -> Units:
        """The page's unit: 万元 in zh-CN, ¥M in English."""
        return Units(self.lang, currency=self.currency)

    def money(self, x) -> str:
        """An amount in the page's unit, with it (``42,437.8万元`` / ``¥424.38M``)."""
        return self.units.amount(x, unit=True)

    @property
    def has_quota(self) -> bool:
        q = self.row["quota"]
        return bool(q == q and q > 0)

    def _h2(self, key: str, **kw) -> str:
        return f"<h2>{_esc(_t(key, self.lang, **kw))}</h2>"

    # ---- sections
    def header(self) -> present.HTML:
        """Title (the node's name), company, level, period, as-of date, trials and seed;
        then the headline cards."""
        L, r = self.lang, self.row
        lvl = _LEVELS[self.level][L == "zh-CN"]
        meta = [x for x in (self.company, lvl, period_label(self.period, L)) if x]
        meta += [
            _t("as_of", L, d=self.as_of.date()),
            _t("trials", L, n=present.count(self.n_trials), seed=self.seed),
        ]
        cards = [(_t("quota", L), self.money(r["quota"]) if self.has_quota else MISSING)]
        cards += [(_t("p50", L), self.money(r["p50"]))]
        status = ["", ""]
        if self.has_quota:
            att = float(r["p50"]) / float(r["quota"])
            cards += [(_t("att50", L), _pct(att)), (_t("p_quota", L), _pct(r["p_attain"]))]
            status += [_status(att), ""]
        return present.HTML(
            f"<h1>{_esc(_t('title', L))} — {_esc(self.name)}</h1>"
            f"<p>{' · '.join(_esc(x) for x in meta)}</p>" + present.cards(cards, status=status)
        )

    def headline_frame(self) -> pd.DataFrame:
        """The headline as (item, value) rows, values formatted in the page's unit."""
        L, r = self.lang, self.row
        rows = [
            (_t("quota", L), self.money(r["quota"]) if self.has_quota else MISSING),
            (_t("booked", L), self.money(self.facts.get("booked", np.nan))),
            (_t("p10", L), self.money(r["p10"])),
            (_t("p50", L), self.money(r["p50"])),
            (_t("p90", L), self.money(r["p90"])),
            (_t("mean", L), self.money(r["mean"])),
            (_t("att50", L), _pct(r["p50"] / r["quota"]) if self.has_quota else MISSING),
        ]
        rows += [(_t("p_ge", L, f=_pct(f, 0)), _pct(r[_P_COLS[f]])) for f in FRACTIONS]
        return pd.DataFrame(rows, columns=["item", "value"])

    def headline(self) -> present.HTML:
        """Quota, what is booked, P10/P50/P90 and the attainment probabilities."""
        L = self.lang
        cols = [
            present.Col("item", "项目", "Item"),
            present.Col("value", "数值", "Value", kind="number", fmt=str),
        ]
        table = present.table(self.headline_frame(), cols, self.units)
        note = "" if self.has_quota else f"<p>{_esc(_t('no_quota', L, p=self.period))}</p>"
        return present.HTML(self._h2("headline", p=period_label(self.period, L)) + table + note)

    def table(self) -> pd.DataFrame:
        """The breakdown as plain numbers (for checks and exports)."""
        cols = ["level", "node_id", "name", "name_zh", "quota", "mean", "p10", "p50", "p90"]
        return self.rows[cols + [_P_COLS[f] for f in FRACTIONS]].reset_index(drop=True)

    def breakdown(self) -> present.HTML:
        """The node's children (and theirs, per :func:`scope_levels`), same figures, by
        name (no ids), amounts in the page's unit."""
        L, zh = self.lang, self.lang == "zh-CN"
        if self.rows.empty:
            return present.HTML(self._h2("breakdown") + f"<p>{_esc(_t('no_breakdown', L))}</p>")
        r = self.rows
        names = r["name_zh"].where(r["name_zh"].notna(), r["name"]) if zh else r["name"]
        first = r["level"].iloc[0]
        indent = ["" if lv == first else "\u2003" for lv in r["level"]]
        q = r["quota"].astype(float)
        frame = pd.DataFrame(
            {
                "level": [_LEVELS[x][zh] for x in r["level"]],
                "name": [i + str(n) for i, n in zip(indent, names)],
                "quota": q.where(q > 0),
                "p10": r["p10"].astype(float),
                "p50": r["p50"].astype(float),
                "p90": r["p90"].astype(float),
                "att50": (r["p50"].astype(float) / q.where(q > 0)),
                **{_P_COLS[f]: r[_P_COLS[f]].astype(float) for f in FRACTIONS},
            }
        )
        cols = [
            present.Col("level", "层级", "Level"),
            present.Col("name", "名称", "Name"),
            present.Col("quota", "指标", "Quota", kind="amount"),
            present.Col("p10", "P10", "P10", kind="amount"),
            present.Col("p50", "P50", "P50", kind="amount"),
            present.Col("p90", "P90", "P90", kind="amount"),
            present.Col("att50", "P50 达成率", "Attainment at P50", kind="pct"),
        ]
        cols += [
            present.Col(
                _P_COLS[f],
                _TEXT["p_ge"][1].format(f=_pct(f, 0)),
                _TEXT["p_ge"][0].format(f=_pct(f, 0)),
                kind="pct",
            )
            for f in FRACTIONS
        ]
        bold = {_LEVELS[first][zh]} if len(set(r["level"])) > 1 else set()
        table = present.table(
            frame, cols, self.units, row_class=lambda rec: "total" if rec["level"] in bold else ""
        )
        return present.HTML(
            self._h2("breakdown") + table + f"<p>{_esc(_t('note_breakdown', L))}</p>"
        )

    def figure(self):
        """Attainment ranges: P10–P90 bar and P50 dot for the node and each row below
        it (with a quota), against 80/100/120% lines, coloured by the P50's status."""
        from matplotlib.figure import Figure
        from matplotlib.lines import Line2D
        from matplotlib.patches import Patch

        use_cjk_font()
        L, zh = self.lang, self.lang == "zh-CN"
        rows = pd.concat([self.row.to_frame().T, self.rows], ignore_index=True)
        rows = rows[rows["quota"].astype(float) > 0]
        names = [
            _plot_text(b if zh and isinstance(b, str) else a)
            for a, b in zip(rows["name"], rows["name_zh"])
        ]
        q = rows["quota"].astype(float).to_numpy()
        lo, mid, hi = (rows[c].astype(float).to_numpy() / q for c in ("p10", "p50", "p90"))
        n = len(rows)
        fig = Figure(figsize=(10, 0.34 * n + 1.9), dpi=100)  # not pyplot: shown once
        ax = fig.add_subplot()
        if n == 0:
            ax.set_axis_off()
            ax.text(0.5, 0.5, _t("no_quota", L, p=period_label(self.period, L)), ha="center")
            return fig
        y = np.arange(n)[::-1]
        colors = [status_color(_status(m)) for m in mid]
        ax.barh(y, hi - lo, left=lo, height=0.55, color=colors, alpha=0.45)
        ax.scatter(mid, y, color=colors, zorder=3, s=26)
        for f in FRACTIONS:
            ax.axvline(f, color="black", lw=0.9 if f == 1.0 else 0.5, ls="-" if f == 1.0 else ":")
        ax.set_yticks(y, names, fontsize=9)
        # The node and (when two levels are listed) the first level below it in bold.
        bold = {self.level} | (
            {scope_levels(self.level)[0]} if len(scope_levels(self.level)) > 1 else set()
        )
        for tick, lv in zip(ax.get_yticklabels(), rows["level"]):
            tick.set_fontweight("bold" if lv in bold else "normal")
        if len(bold) > 1:  # a faint line above each group (a region and its teams)
            for yy, lv in zip(y[1:], list(rows["level"])[1:]):
                if lv in bold:
                    ax.axhline(yy + 0.5, color="#bdbdbd", lw=0.6)
        ax.set_xlabel(_t("fig_x", L))
        ax.xaxis.set_major_formatter(_percent_formatter())
        ax.set_title(
            _t("fig_title", L, name=_plot_text(self.name), p=period_label(self.period, L)),
            fontsize=11,
            loc="left",
        )
        ax.spines[["top", "right"]].set_visible(False)
        legend = [Patch(color="#9e9e9e", alpha=0.45, label=_t("fig_range", L))] + [
            Line2D([], [], marker="o", ls="", color=status_color(s), label=_t(f"fig_{s}", L))
            for s in ("green", "amber", "red")
        ]
        fig.legend(handles=legend, loc="lower center", ncol=4, fontsize=8, frameon=False)
        h = fig.get_figheight()
        fig.subplots_adjust(left=0.2, right=0.97, top=1 - 0.45 / h, bottom=1.05 / h)
        return fig

    def distribution(self):
        """The node's bookings over the trials (in the page's unit), with P10/P50/P90
        and the quota lines."""
        from matplotlib.figure import Figure
        from matplotlib.lines import Line2D

        use_cjk_font()
        L, u = self.lang, self.units
        fig = Figure(figsize=(10, 3.6), dpi=100)  # not pyplot: shown once
        ax = fig.add_subplot()
        x = np.asarray(self.trials, dtype=float)
        w = np.full(len(x), 1.0 / max(len(x), 1))
        ax.hist(x, bins=min(60, max(10, len(x) // 50)), weights=w, color="#90a4ae")
        on_top = ax.get_xaxis_transform()  # x in data, y in axes: labels above the plot
        for c, ls in (("p10", ":"), ("p50", "-"), ("p90", ":")):
            ax.axvline(self.row[c], color="#37474f", ls=ls, lw=1)
            ax.text(self.row[c], 1.01, c.upper(), fontsize=8, ha="center", transform=on_top)
        handles = [Line2D([], [], color="#37474f", lw=1, label=_t("dist_p", L))]
        if self.has_quota:
            for f in FRACTIONS:
                ax.axvline(
                    f * self.row["quota"],
                    color=status_color("red"),
                    lw=1.2 if f == 1.0 else 0.6,
                    ls="-" if f == 1.0 else "--",
                )
            quota = Line2D([], [], color=status_color("red"), lw=1.2, label=_t("dist_quota", L))
            handles.append(quota)
        amount_axis(ax, u, "x", zh=_TEXT["dist_x"][1], en=_TEXT["dist_x"][0])
        ax.yaxis.set_major_formatter(_percent_formatter())
        ax.set_ylabel(_t("dist_y", L))
        ax.spines[["top", "right"]].set_visible(False)
        fig.legend(
            handles=handles,
            fontsize=8,
            loc="upper right",
            ncol=2,
            frameon=False,
            bbox_to_anchor=(0.97, 1.0),
        )
        ax.set_title(
            _t(
                "dist_title",
                L,
                name=_plot_text(self.name),
                p=period_label(self.period, L),
                n=present.count(self.n_trials),
            ),
            fontsize=11,
            loc="left",
            pad=16,  # above the P10/P50/P90 labels
        )
        fig.subplots_adjust(left=0.08, right=0.97, top=0.83, bottom=0.17)
        return fig

    def method(self) -> present.HTML:
        """How the forecast was made, with the calibration's figures for this node."""
        L, f = self.lang, self.facts
        m = self.money
        p = period_label(self.period, L)
        if f.get("calibration"):
            if L == "zh-CN":
                head = (
                    f"在途商机 {present.count(f['open_deals'])} 个，金额 {m(f['open_amount'])}，"
                    f"期望在{p}内贡献 {m(f['open_expected'])}；已成交 {m(f['booked'])} 直接计入。"
                    "导出数据没有阶段历史：按商机年龄估计赢单与成交时间，方法如下。"
                )
                tail = f"同一随机种子（{self.seed}）得到完全相同的结果。"
            else:
                head = (
                    f"{present.count(f['open_deals'])} open deals worth {m(f['open_amount'])}, "
                    f"expected to contribute {m(f['open_expected'])} inside {p}; already "
                    f"booked {m(f['booked'])}, counted as is. The export has no stage "
                    "history: chances and timing come from each deal's age, as follows."
                )
                tail = f"The same seed ({self.seed}) gives exactly the same figures."
            items = [head, *f["calibration"], tail]
            body = "".join(f"<li>{_esc(x)}</li>" for x in items)
            return present.HTML(self._h2("method") + f"<ul>{body}</ul>")
        if L == "zh-CN":
            items = [
                f"数据截至 {self.as_of.date()}："
                f"只使用当日及之前已知的商机历史（回看 {f['lookback_days']} 天）。",
                f"在途商机 {present.count(f['open_deals'])} 个，金额 {m(f['open_amount'])}；"
                f"按阶段、产品线×客户类型"
                f"（向阶段平均收缩）及销售个人系数估计赢单率，"
                f"按阶段、预计成交日位置、是否推迟过和商机年龄"
                f"估计在{p}内成交的概率，"
                f"期望贡献 {m(f['open_expected'])}。",
                f"新增商机：按每位销售的历史到达率（含季节性与过度离散）、"
                f"赢单率、成交周期和历史成交额"
                f"抽样模拟；窗口季节系数 {present.number(f['season'], 2)}，"
                f"市场共同因子对数标准差 {present.number(f['market_shock'], 2)}。",
                f"已成交 {m(f['booked'])} 直接计入。"
                f"每次模拟把销售的结果逐级汇总到团队、大区和公司。",
                f"同一随机种子（{self.seed}）得到完全相同的结果。",
            ]
        else:
            items = [
                f"Data to {self.as_of.date()}: only the deal history known on that day is used "
                f"(looking back {f['lookback_days']} days).",
                f"{present.count(f['open_deals'])} open deals worth {m(f['open_amount'])}: "
                "each deal's chance of being won comes from its stage and segment (product "
                "line × customer type, shrunk toward the stage rate) and its rep's record; its "
                f"chance of closing inside {p} from the stage, where its expected close date "
                f"sits, past slips and its age. Expected contribution {m(f['open_expected'])}.",
                "New deals: each rep's past arrival rate (seasonal, overdispersed), win rate, "
                "cycle time and deal sizes drawn from their won history. Season factor of the "
                f"window {present.number(f['season'], 2)}; common market factor log-sd "
                f"{present.number(f['market_shock'], 2)}.",
                f"Already booked: {m(f['booked'])}, counted as is. Each trial adds reps up to "
                "teams, regions and the company.",
                f"The same seed ({self.seed}) gives exactly the same figures.",
            ]
        body = "".join(f"<li>{_esc(x)}</li>" for x in items)
        return present.HTML(self._h2("method") + f"<ul>{body}</ul>")

    def __repr__(self) -> str:
        r = self.row
        return (
            f"ForecastReport({self.node} {self.period} as of {self.as_of.date()}, "
            f"{self.n_trials:,} trials: "
            f"P50={r['p50']:,.0f}, P(≥quota)={_pct(r['p_attain'])})"
        )


def _percent_formatter():
    """Ticks of a share as %, with the decimals their spacing needs (2.5% apart: 2.5%)."""
    from matplotlib.ticker import Formatter

    class _Pct(Formatter):
        def __call__(self, v, pos=None):
            locs = sorted(100 * float(x) for x in getattr(self, "locs", ()))
            steps = [b - a for a, b in zip(locs, locs[1:]) if b > a]
            step = min(steps) if steps else 1.0
            decimals = min(2, max(0, -math.floor(math.log10(step) + 1e-9)))
            return present.pct(v, decimals)

    return _Pct()


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
        # a plain export (no stage history) is calibrated differently: say how
        calibration=(
            calibration_lines(cal, lang, data=data) if cal.explain.get("path") == "snapshot" else []
        ),
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
        currency=default_currency(),
        row=row,
        rows=rows,
        trials=np.asarray(result.node_trials(node)),
        facts=facts,
        company=str(company),
    )
