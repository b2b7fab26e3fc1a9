"""Tracking figures: the customer Pareto chart, the sales funnel and the trend chart.

Each function takes the tidy frame that :mod:`simlib.tracking` (or
:func:`simlib.apps.tracking_dashboard.compute`) returns and draws it; nothing is
computed here beyond what a chart needs (a cumulative share, a step conversion).
matplotlib is imported lazily and a CJK font is put first (:func:`simlib.plots.use_cjk_font`),
so Chinese labels render as glyphs.

>>> from simlib import tracking                                          # doctest: +SKIP
>>> p = tracking.pareto_customers(data, "2026-Q4", within="T-SH")        # doctest: +SKIP
>>> pareto_chart(p.table, share=p.share, lang="zh-CN")                   # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np

from simlib.i18n import plain_text_for_plot as _plot_text
from simlib.plots import use_cjk_font

__all__ = ["pareto_chart", "funnel_chart", "trend_chart", "figure_png", "new_axes"]

_T = {
    "revenue": ("Revenue", "销售额"),
    "cum": ("Cumulative share", "累计占比"),
    "customers": ("Customers, largest first", "客户（按销售额降序）"),
    "pareto": (
        "Customer Pareto: {k} of {n} customers make {s:.0%} of revenue",
        "客户帕累托：{n}家客户中{k}家贡献{s:.0%}的销售额",
    ),
    "funnel": ("Funnel", "销售漏斗"),
    "trend": ("Trend", "趋势"),
    "count": ("Count", "数量"),
    "empty": ("No data", "无数据"),
}


def _t(key: str, lang: str) -> str:
    en, zh = _T[key]
    return zh if lang == "zh-CN" else en


def _empty(ax, lang):
    ax.text(0.5, 0.5, _t("empty", lang), ha="center", va="center", transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])


def pareto_chart(
    table,
    *,
    share: float = 0.8,
    lang: str = "en",
    max_customers: int = 40,
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
    max_customers : int
        Draw at most this many bars (the cumulative line still counts every customer).
    """
    import matplotlib.pyplot as plt

    use_cjk_font()
    own = ax is None
    if own:
        _, ax = plt.subplots(figsize=(8, 3.6))
    n = len(table)
    if n == 0:
        _empty(ax, lang)
        return ax.figure
    shown = table.iloc[:max_customers]
    x = np.arange(len(shown))
    core = shown["core"].to_numpy(dtype=bool)
    ax.bar(x, shown["revenue"].to_numpy(float), color=np.where(core, "#1565c0", "#90caf9"))
    ax.set_ylabel(_t("revenue", lang))
    ax.set_xlabel(_t("customers", lang))
    ax.set_xticks([])
    ax2 = ax.twinx()
    ax2.plot(x, shown["cum_share"].to_numpy(float), color="#c62828", marker=".", lw=1.2)
    ax2.axhline(share, color="#555555", lw=0.8, ls="--")
    ax2.set_ylim(0, 1.05)
    ax2.yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.0%}"))
    ax2.set_ylabel(_t("cum", lang))
    k = int(table["core"].sum())
    ax.set_title(
        _plot_text(title) if title is not None else _t("pareto", lang).format(k=k, n=n, s=share),
        fontsize=10,
    )
    if own:  # a caller that passes ``ax`` lays out its own figure
        ax.figure.tight_layout()
    return ax.figure


def funnel_chart(funnel, *, lang: str = "en", title: str | None = None, ax=None):
    """Horizontal funnel bars, each labelled with its count and step conversion.

    Parameters
    ----------
    funnel : DataFrame
        ``stage, label, label_zh, count, step_conversion`` top stage first.
    """
    import matplotlib.pyplot as plt

    use_cjk_font()
    own = ax is None
    if own:
        _, ax = plt.subplots(figsize=(7, 0.5 * max(len(funnel), 1) + 1.2))
    if len(funnel) == 0:
        _empty(ax, lang)
        return ax.figure
    counts = funnel["count"].to_numpy(float)
    labels = [_plot_text(x) for x in funnel["label_zh" if lang == "zh-CN" else "label"]]
    y = np.arange(len(counts))[::-1]
    top = max(float(np.nanmax(counts)), 1.0)
    ax.barh(y, counts, left=(top - counts) / 2, color="#26a69a", height=0.7)
    for yi, c, conv in zip(y, counts, funnel["step_conversion"].to_numpy(float)):
        tail = "" if np.isnan(conv) else f"  ({conv:.0%})"
        ax.text(top / 2, yi, f"{c:,.0f}{tail}", ha="center", va="center", fontsize=9, color="black")
    ax.set_yticks(y, labels)
    ax.set_xticks([])
    ax.set_xlim(0, top)
    for side in ("top", "right", "bottom"):
        ax.spines[side].set_visible(False)
    ax.set_title(_plot_text(title) if title is not None else _t("funnel", lang), fontsize=10)
    if own:  # a caller that passes ``ax`` lays out its own figure
        ax.figure.tight_layout()
    return ax.figure


def trend_chart(trend, *, lang: str = "en", title: str | None = None, ax=None, names=None):
    """A line per metric over the buckets of :func:`simlib.tracking.trend` (one node).

    ``names`` maps a metric to the name shown in the legend (default: the metric).

    The unfinished last bucket is drawn hollow, with the previous bucket's value over the
    same number of working days (``previous_to_date``) as a grey tick for like-for-like.
    """
    import matplotlib.pyplot as plt

    use_cjk_font()
    names = names or {}
    own = ax is None
    if own:
        _, ax = plt.subplots(figsize=(8, 3.2))
    if len(trend) == 0:
        _empty(ax, lang)
        return ax.figure
    for metric, g in trend.groupby("metric", sort=False):
        g = g.sort_values("start")
        x = np.arange(len(g))
        v = g["value"].to_numpy(float)
        running = (g["working_days_elapsed"] < g["working_days"]).to_numpy()
        (line,) = ax.plot(x, v, marker="o", label=_plot_text(names.get(metric, metric)))
        if running.any():
            ax.plot(
                x[running], v[running], marker="o", ls="none", mfc="white", mec=line.get_color()
            )
            if "previous_to_date" in g:
                ptd = g["previous_to_date"].to_numpy(float)
                ax.scatter(x[running], ptd[running], marker="_", s=200, color="#777777", zorder=3)
        ax.set_xticks(x, [_plot_text(p) for p in g["period"]], rotation=45, fontsize=8)
    ax.legend(fontsize=8)
    ax.set_title(_plot_text(title) if title is not None else _t("trend", lang), fontsize=10)
    ax.grid(axis="y", alpha=0.3)
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
    fig = Figure(figsize=(width, height))
    fig.subplots_adjust(left=left, right=right, bottom=bottom, top=top)
    return fig.add_subplot()


def figure_png(fig, dpi: int = 72) -> bytes:
    """A figure as PNG bytes (for an ``ipywidgets.Image``); a pyplot figure is closed."""
    import io

    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    if plt.fignum_exists(getattr(fig, "number", -1)):
        plt.close(fig)
    return buf.getvalue()
