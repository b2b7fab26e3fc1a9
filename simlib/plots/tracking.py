"""Tracking figures: the status wall, the customer Pareto chart, the cohort funnel and
the trend chart.

Each function takes the tidy frame that :mod:`simlib.tracking` (or
:func:`simlib.apps.tracking_dashboard.compute`) returns and draws it; nothing is
computed here beyond what a chart needs (a cumulative share, a step conversion).
Amount axes are in the page's :class:`simlib.present.Units` (万 in zh-CN, M in English;
never a ``1e7`` offset); colours that mean a status come from
:data:`simlib.present.STATUS_COLORS` and are explained in a legend. matplotlib is
imported lazily and a CJK font is put first (:func:`simlib.plots.use_cjk_font`), so
Chinese labels render as glyphs.

>>> from simlib import tracking                                          # doctest: +SKIP
>>> p = tracking.pareto_customers(data, "2026-Q4", within="T-SH")        # doctest: +SKIP
>>> pareto_chart(p.table, share=p.share, lang="zh-CN")                   # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np

from simlib.i18n import plain_text_for_plot as _plot_text
from simlib.i18n import translator
from simlib.plots import use_cjk_font
from simlib.present import STATUS_COLORS, Units, number, pct

__all__ = [
    "status_wall",
    "pareto_chart",
    "funnel_chart",
    "trend_chart",
    "figure_png",
    "new_axes",
    "WIDTH",
]

#: Width of a dashboard chart in inches: two side by side fill a 1440 px wide screen.
WIDTH = 6.9

#: Longest bar drawn on the status wall (a longer one is cut with its value printed).
WALL_MAX = 2.0

_t = translator(
    {
        "revenue": ("Revenue", "销售额"),
        "cum": ("Cumulative share of revenue", "累计销售额占比"),
        "customers": ("Customers, largest first", "客户（按销售额降序）"),
        "pareto": (
            "Customer Pareto: {k} of {n} customers make {s} of revenue",
            "客户帕累托：{n}家客户中{k}家贡献{s}的销售额",
        ),
        "core": ("Core customers (the first {s} of revenue)", "核心客户（贡献前{s}销售额）"),
        "other": ("Other customers", "其他客户"),
        "line": ("Cumulative share", "累计占比"),
        "funnel": ("Funnel", "销售漏斗"),
        "trend": ("Trend", "趋势"),
        "running": ("So far (period not finished)", "至今（周期未结束）"),
        "previous": (
            "Previous period, same working days",
            "上一周期同期（相同工作日数）",
        ),
        "empty": ("No data", "无数据"),
        "attainment": ("Attainment of the period's target", "本期目标达成率"),
        "pace": ("Pace: share of working days elapsed", "进度：已过工作日占比"),
        "target": ("Target (100%)", "目标（100%）"),
        "no_target": ("no target", "无目标"),
        "of_leads": ("{p} of leads", "占线索{p}"),
    }
)


def _empty(ax, lang, text=None):
    ax.text(
        0.5,
        0.5,
        _plot_text(text) if text else _t("empty", lang),
        ha="center",
        va="center",
        transform=ax.transAxes,
        color="#666666",
    )
    ax.set_xticks([])
    ax.set_yticks([])
    for side in ("top", "right", "bottom", "left"):
        ax.spines[side].set_visible(False)


def _amount_axis(ax, units: Units, which: str = "y", *, zh: str, en: str) -> None:
    """:meth:`Units.format_axis`, with as many decimals as the tick step needs (a rep's
    weekly revenue of ¥0.5M reads 0.5, not 0 and 1 twice); never an offset."""
    from matplotlib.ticker import FuncFormatter

    units.format_axis(ax, which, zh=zh, en=en)
    axis = ax.yaxis if which == "y" else ax.xaxis

    def fmt(v, _pos=None):
        ticks = axis.get_majorticklocs()
        step = float(np.min(np.diff(ticks))) / units.divisor if len(ticks) > 1 else 1.0
        d = 0 if step >= 1 else 1 if step >= 0.1 else 2
        return number(v / units.divisor, d)

    axis.set_major_formatter(FuncFormatter(fmt))


def _axes(ax, width, height):
    from matplotlib.figure import Figure

    use_cjk_font()
    if ax is None:  # not through pyplot: a notebook shows the returned figure once
        ax = Figure(figsize=(width, height), dpi=100).add_subplot()
        return ax, True
    return ax, False


def status_wall(
    names,
    attainment,
    pace,
    lights,
    *,
    lang: str = "en",
    legend_labels: dict[str, str] | None = None,
    title: str | None = None,
    empty: str | None = None,
    ax=None,
):
    """One bar per node: attainment of the period's target, coloured by its status.

    Parameters
    ----------
    names : sequence of str
    attainment : array_like
        Revenue / target (NaN: no target; drawn as an empty row saying so).
    pace : array_like
        The share of the period's working days elapsed: a black tick on each bar.
    lights : sequence of str
        ``green``, ``amber``, ``red`` or ``grey`` per bar (:data:`STATUS_COLORS`), the
        same light the status text beside it has.
    legend_labels : dict
        light → what it means (the status words), shown in the legend.
    """
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    from matplotlib.ticker import FuncFormatter

    n = len(names)
    ax, own = _axes(ax, WIDTH, 0.34 * max(n, 1) + 1.6)
    if n == 0:
        _empty(ax, lang, empty)
        if title:
            ax.set_title(_plot_text(title), fontsize=10, loc="left")
        return ax.figure
    att = np.asarray(attainment, dtype=float)
    has = ~np.isnan(att)
    shown = np.minimum(np.where(has, att, 0.0), WALL_MAX)
    y = np.arange(n)[::-1]
    colors = [STATUS_COLORS.get(lt, STATUS_COLORS["grey"]) for lt in lights]
    ax.barh(y, np.ones(n), color="#eeeeee", height=0.62)
    ax.barh(y, shown, color=colors, height=0.62)
    ax.scatter(np.asarray(pace, float), y, marker="|", s=220, color="black", zorder=3)
    xmax = max(1.15, float(np.nanmax(shown, initial=0.0)) * 1.15)
    for yi, a, s, ok in zip(y, att, shown, has):
        label = pct(a, 0) + (" ▸" if a > s + 1e-12 else "") if ok else _t("no_target", lang)
        ax.text(s + 0.01 * xmax, yi, label, va="center", fontsize=8)
    ax.axvline(1.0, color="#555555", lw=0.8, ls="--")
    ax.set_yticks(y, [_plot_text(x) for x in names], fontsize=9)
    ax.set_ylim(-0.6, n - 0.4)
    ax.set_xlim(0, xmax)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p=None: pct(v, 0)))
    ax.set_xlabel(_t("attainment", lang))
    labels = legend_labels or {}
    present = [lt for lt in ("green", "amber", "red", "grey") if lt in labels]
    handles = [Patch(color=STATUS_COLORS[lt], label=_plot_text(labels[lt])) for lt in present]
    handles.append(
        Line2D([], [], color="black", marker="|", ls="none", ms=12, label=_t("pace", lang))
    )
    ax.legend(
        handles=handles,
        loc="lower left",
        bbox_to_anchor=(0.0, 1.0),
        ncol=3,
        frameon=False,
        fontsize=8,
        handlelength=1.2,
        borderaxespad=0.3,
    )
    if title:
        ax.set_title(_plot_text(title), fontsize=10, loc="left", pad=34)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    if own:
        ax.figure.tight_layout()
    return ax.figure


def pareto_chart(
    table,
    *,
    share: float = 0.8,
    lang: str = "en",
    units: Units | None = None,
    max_customers: int = 400,
    title: str | None = None,
    ax=None,
):
    """Bars of each customer's revenue (largest first) and the cumulative share line.

    Parameters
    ----------
    table : DataFrame
        :attr:`simlib.tracking.Pareto.table` (``revenue, cum_share, core``).
    share : float
        The line drawn across (the 80 of 80/20); core customers are drawn darker.
    units : Units
        The page's amount unit (default: the language's).
    max_customers : int
        Draw at most this many bars (the cumulative line still counts every customer).
    """
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    from matplotlib.ticker import FuncFormatter

    units = units or Units(lang)
    ax, own = _axes(ax, WIDTH, 3.4)
    n = len(table)
    if n == 0:
        _empty(ax, lang)
        return ax.figure
    shown = table.iloc[:max_customers]
    x = np.arange(len(shown))
    core = shown["core"].to_numpy(dtype=bool)
    dark, light = "#1565c0", "#90caf9"
    ax.bar(x, shown["revenue"].to_numpy(float), color=np.where(core, dark, light))
    _amount_axis(ax, units, "y", zh="销售额", en="Revenue")
    ax.set_xlabel(_t("customers", lang))
    ax.set_xticks([])
    ax2 = ax.twinx()
    ax2.plot(x, shown["cum_share"].to_numpy(float), color="#6a1b9a", marker=".", lw=1.2)
    ax2.axhline(share, color="#555555", lw=0.8, ls="--")
    ax2.set_ylim(0, 1.05)
    ax2.yaxis.set_major_formatter(FuncFormatter(lambda v, _p=None: pct(v, 0)))
    ax2.set_ylabel(_t("cum", lang))
    k = int(table["core"].sum())
    s = pct(share, 0)
    ax.set_title(
        _plot_text(title) if title is not None else _t("pareto", lang, k=k, n=n, s=s),
        fontsize=10,
        loc="left",
    )
    ax2.legend(
        handles=[
            Patch(color=dark, label=_t("core", lang, s=s)),
            Patch(color=light, label=_t("other", lang)),
            Line2D([], [], color="#6a1b9a", marker=".", label=_t("line", lang)),
        ],
        loc="center right",
        fontsize=8,
        frameon=False,
    )
    if own:  # a caller that passes ``ax`` lays out its own figure
        ax.figure.tight_layout()
    return ax.figure


def funnel_chart(funnel, *, lang: str = "en", title: str | None = None, ax=None):
    """Horizontal funnel bars (the first stage longest), each labelled with its count,
    its share of the stage before and of the first stage.

    Parameters
    ----------
    funnel : DataFrame
        ``stage, label, label_zh, count, step_conversion`` top stage first
        (:func:`simlib.tracking.funnel_steps`: every stage a subset of the one before).
    """
    ax, own = _axes(ax, WIDTH, 0.5 * max(len(funnel), 1) + 1.2)
    counts = funnel["count"].to_numpy(float) if len(funnel) else np.zeros(0)
    if len(funnel) == 0 or counts[0] <= 0:
        _empty(ax, lang)
        ax.set_title(
            _plot_text(title) if title is not None else _t("funnel", lang), fontsize=10, loc="left"
        )
        return ax.figure
    labels = [_plot_text(x) for x in funnel["label_zh" if lang == "zh-CN" else "label"]]
    y = np.arange(len(counts))[::-1]
    top = max(float(counts[0]), 1.0)
    ax.barh(y, counts, color="#26a69a", height=0.7)
    for i, (yi, c, conv) in enumerate(zip(y, counts, funnel["step_conversion"].to_numpy(float))):
        text = f"{c:,.0f}"
        if i > 0 and not np.isnan(conv):
            text += f"  ({pct(conv, 0)} · {_t('of_leads', lang, p=pct(c / top, 1))})"
        ax.text(c + 0.01 * top, yi, text, ha="left", va="center", fontsize=9)
    ax.set_yticks(y, labels)
    ax.set_xticks([])
    ax.set_xlim(0, top * 1.5)
    for side in ("top", "right", "bottom"):
        ax.spines[side].set_visible(False)
    ax.set_title(
        _plot_text(title) if title is not None else _t("funnel", lang), fontsize=10, loc="left"
    )
    if own:  # a caller that passes ``ax`` lays out its own figure
        ax.figure.tight_layout()
    return ax.figure


def trend_chart(
    trend,
    *,
    lang: str = "en",
    title: str | None = None,
    ax=None,
    names=None,
    units: Units | None = None,
    money=("revenue",),
):
    """A line per metric over the buckets of :func:`simlib.tracking.trend` (one node).

    ``names`` maps a metric to the name shown in the legend (default: the metric).
    Metrics in ``money`` are drawn in the page's ``units`` (the y axis says which).

    The unfinished last bucket is drawn hollow, with the previous bucket's value over the
    same number of working days (``previous_to_date``) as a grey tick for like-for-like.
    """
    from matplotlib.lines import Line2D

    units = units or Units(lang)
    names = names or {}
    ax, own = _axes(ax, WIDTH, 3.4)
    if len(trend) == 0:
        _empty(ax, lang)
        return ax.figure
    handles = []
    any_running = False
    for metric, g in trend.groupby("metric", sort=False):
        g = g.sort_values("start")
        x = np.arange(len(g))
        v = g["value"].to_numpy(float)
        running = (g["working_days_elapsed"] < g["working_days"]).to_numpy()
        (line,) = ax.plot(x, v, marker="o", label=_plot_text(names.get(metric, metric)))
        handles.append(line)
        if running.any():
            any_running = True
            ax.plot(
                x[running], v[running], marker="o", ls="none", mfc="white", mec=line.get_color()
            )
            if "previous_to_date" in g:
                ptd = g["previous_to_date"].to_numpy(float)
                ax.scatter(x[running], ptd[running], marker="_", s=200, color="#777777", zorder=3)
        ax.set_xticks(x, [_plot_text(p) for p in g["period"]], rotation=30, fontsize=8)
    if set(trend["metric"]) <= set(money):
        _amount_axis(ax, units, "y", zh="销售额", en="Revenue")
    if any_running:
        handles += [
            Line2D(
                [], [], marker="o", ls="none", mfc="white", mec="#1f77b4", label=_t("running", lang)
            ),
            Line2D(
                [], [], marker="_", ls="none", ms=12, color="#777777", label=_t("previous", lang)
            ),
        ]
    ax.legend(handles=handles, fontsize=8, frameon=False)
    ax.set_title(
        _plot_text(title) if title is not None else _t("trend", lang), fontsize=10, loc="left"
    )
    ax.grid(axis="y", alpha=0.3)
    ax.set_ylim(bottom=0)
    if own:  # a caller that passes ``ax`` lays out its own figure
        ax.figure.tight_layout()
    return ax.figure


def new_axes(
    width: float,
    height: float,
    left: float = 0.1,
    right: float = 0.9,
    bottom: float = 0.15,
    top: float = 0.88,
):
    """An axes on a bare :class:`matplotlib.figure.Figure` (no pyplot: nothing to close,
    nothing shown twice) with fixed margins, which is faster to draw than a tight layout."""
    from matplotlib.figure import Figure

    use_cjk_font()
    fig = Figure(figsize=(width, height), dpi=100)
    fig.subplots_adjust(left=left, right=right, bottom=bottom, top=top)
    return fig.add_subplot()


def figure_png(fig, dpi: int = 144) -> bytes:
    """A figure as PNG bytes (for an ``ipywidgets.Image``); a pyplot figure is closed.

    144 dpi: shown at the figure's size in CSS pixels the image stays sharp on a
    projector or a high-density screen."""
    import io

    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    if plt.fignum_exists(getattr(fig, "number", -1)):
        plt.close(fig)
    return buf.getvalue()
