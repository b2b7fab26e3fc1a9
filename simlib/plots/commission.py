"""Commission figures: payout curves, cost distribution, pay per rep, a statement's curve.

matplotlib is imported inside the functions. Figures are built on
:class:`matplotlib.figure.Figure` directly (not pyplot), so a widget app can render
them to PNG without them also appearing in the notebook; a notebook still shows a
returned figure under ``%matplotlib inline``.

Every amount axis is in the page's :class:`simlib.present.Units` (its unit in the axis
title, no ``1e7`` offset); shares are in %; every chart has labelled axes and a legend.
Text from data (plan, rep and team names) goes through
:func:`simlib.i18n.plain_text_for_plot`.
"""

from __future__ import annotations

import io
from collections.abc import Mapping

import numpy as np

from simlib.i18n import plain_text_for_plot as _plot_text
from simlib.plots import use_cjk_font
from simlib.present import STATUS_COLORS, Units, number

__all__ = [
    "payout_curves",
    "cost_distribution",
    "rep_pay",
    "lab_figure",
    "statement_curve",
    "placeholder",
    "figure_png",
]

_EDITED = "#1565c0"
_OTHERS = ("#757575", "#ef6c00", "#6a1b9a", "#2e7d32", "#ad1457")
_CLIFF = STATUS_COLORS["red"]
_DEAD = "#ffcdd2"


def _zh(lang: str) -> bool:
    return lang == "zh-CN"


def _units(units: Units | None, lang: str, currency: str) -> Units:
    return units if units is not None else Units(lang, scale="yuan", currency=currency)


def _axes(ax, figsize, bottom=0.16, left=0.12):
    # A fixed layout, not "constrained": it halves the time to draw, which the widget
    # app pays on every change.
    from matplotlib.figure import Figure

    use_cjk_font()
    if ax is None:
        fig = Figure(figsize=figsize)
        fig.subplots_adjust(left=left, right=0.98, top=0.9, bottom=bottom)
        ax = fig.add_subplot()
    return ax


def _money_axis(axis) -> None:
    """Amounts as ``1.5M``/``250k`` ticks (kept for callers outside this module)."""
    from matplotlib.ticker import FuncFormatter

    def fmt(v, _pos):
        a = abs(v)
        if a >= 1e6:
            return f"{v / 1e6:,.1f}M"
        if a >= 1e3:
            return f"{v / 1e3:,.0f}k"
        return f"{v:,.0f}"

    axis.set_major_formatter(FuncFormatter(fmt))


def _pct_axis(axis, decimals: int = 0) -> None:
    """An axis of values already in percent: ``12%`` ticks, no offset."""
    from matplotlib.ticker import FuncFormatter

    axis.set_major_formatter(FuncFormatter(lambda v, _p=None: f"{number(v, decimals)}%"))


def _label(labels: Mapping[str, str] | None, name: str) -> str:
    return _plot_text((labels or {}).get(name, name))


def payout_curves(
    view,
    *,
    lang: str = "en",
    currency: str = "CNY",
    units: Units | None = None,
    labels: Mapping[str, str] | None = None,
    rep_name: str | None = None,
    ax=None,
):
    """Pay against attainment for the edited plan (bold) and the plans compared,
    with cliffs (red marks) and dead zones (shaded) of the edited plan.

    ``labels`` maps plan names to what the legend says; ``rep_name`` is whose quota
    the curve is drawn at (default: ``view.curve_rep``).
    """
    from matplotlib.patches import Patch

    u = _units(units, lang, currency)
    ax = _axes(ax, (8.8, 3.6), left=0.1)
    zh = _zh(lang)
    if view.ok:
        names = list(view.curves)
        c = view.curves[names[0]]
        ax.plot(
            c["attainment"] * 100,
            c["payout"],
            color=_EDITED,
            lw=2.4,
            label=_label(labels, names[0]),
        )
        for k, name in enumerate(names[1:]):  # dashed on top: an unchanged plan still shows
            o = view.curves[name]
            ax.plot(
                o["attainment"] * 100,
                o["payout"],
                color=_OTHERS[k % len(_OTHERS)],
                lw=1.2,
                ls="--",
                label=_label(labels, name),
            )
        top = 100 * float(c["attainment"].max())
        handles, texts = ax.get_legend_handles_labels()
        zones = [r for r in view.risk.dead_zones.itertuples() if r.start * 100 < top]
        for r in zones:
            ax.axvspan(r.start * 100, min(r.end * 100, top), color=_DEAD, alpha=0.5, lw=0)
        cliffs = [r for r in view.risk.cliffs.itertuples() if r.attainment * 100 <= top]
        for r in cliffs:
            ax.plot([r.attainment * 100] * 2, [r.pay_below, r.pay_above], color=_CLIFF, lw=3)
        if zones:
            handles.append(Patch(color=_DEAD, alpha=0.5))
            texts.append("无效区间" if zh else "Dead zone")
        if cliffs:
            from matplotlib.lines import Line2D

            handles.append(Line2D([], [], color=_CLIFF, lw=3))
            texts.append("断崖" if zh else "Cliff")
        ax.legend(handles, texts, fontsize=8, loc="upper left")
        rep = _plot_text(rep_name if rep_name is not None else view.curve_rep)
        quota = u.amount(view.curve_quota, unit=True)
        title = (
            f"提成曲线（按{rep}的指标 {quota}）"
            if zh
            else f"Payout curve at {rep}'s quota ({quota})"
        )
        ax.set_title(title, fontsize=10)
    ax.set_xlabel("达成率（%）" if zh else "Attainment (% of quota)")
    _pct_axis(ax.xaxis)
    u.format_axis(ax, "y", zh="提成", en="Pay")
    ax.grid(alpha=0.3)
    return ax.figure


def cost_distribution(view, *, lang: str = "en", ax=None):
    """Cost of sales (total pay ÷ revenue) over the trials, with its P50 and P90.

    Works for every plan: a flat rate (the same share in every trial), no pay at all,
    or trials without revenue (nothing to draw: said on the chart).
    """
    ax = _axes(ax, (8.8, 3.0), bottom=0.18, left=0.1)
    zh = _zh(lang)
    if view.ok:
        cos = np.asarray(view.cost_of_sales_trials, dtype=float) * 100
        cos = cos[np.isfinite(cos)]
        if len(cos) == 0:
            ax.text(
                0.5,
                0.5,
                "无可计算的模拟（销售额为 0）" if zh else "No trial with revenue to divide by",
                ha="center",
                va="center",
                transform=ax.transAxes,
                color="#666",
            )
        else:
            lo, hi = float(cos.min()), float(cos.max())
            spread = hi - lo
            if spread <= 1e-9 * max(1.0, abs(hi)):
                # the same share in every trial (a flat rate, or no pay): one bar
                width = max(abs(hi) * 0.02, 0.01)
                ax.bar(
                    [hi],
                    [len(cos)],
                    width=width,
                    color="#90caf9",
                    edgecolor="#1565c0",
                    label=("各次模拟相同" if zh else "Same in every trial") + f" {number(hi, 2)}%",
                )
                ax.set_xlim(hi - 10 * width, hi + 10 * width)
            else:
                ax.hist(
                    cos,
                    bins=min(50, max(5, int(np.sqrt(len(cos))))),
                    range=(lo, hi),
                    color="#90caf9",
                    edgecolor="white",
                    lw=0.3,
                    label="模拟次数" if zh else "Trials",
                )
                for q, lab, col in ((0.5, "P50", "#0d47a1"), (0.9, "P90", _CLIFF)):
                    v = float(np.quantile(cos, q))
                    ax.axvline(v, color=col, lw=1.5, label=f"{lab} {number(v, 2)}%")
            ax.legend(fontsize=8, loc="upper right")
        share = number(100 * view.cost_of_sales, 2) if np.isfinite(view.cost_of_sales) else "—"
        ax.set_title(
            (f"销售成本率分布（期望 {share}%）" if zh else f"Cost of sales over trials ({share}%)"),
            fontsize=10,
        )
    ax.set_xlabel("销售成本率：提成 ÷ 销售额（%）" if zh else "Cost of sales: pay ÷ revenue (%)")
    _pct_axis(ax.xaxis, 2)
    ax.set_ylabel("模拟次数" if zh else "Trials")
    ax.grid(alpha=0.3)
    return ax.figure


def rep_pay(
    view,
    *,
    lang: str = "en",
    currency: str = "CNY",
    units: Units | None = None,
    team_names: Mapping[str, str] | None = None,
    ax=None,
):
    """Expected pay per rep (per team for a team plan), highest first, by name."""
    u = _units(units, lang, currency)
    zh = _zh(lang)
    n = 0 if view.per_rep is None else len(view.per_rep)
    ax = _axes(ax, (8.8, 3.6), bottom=0.3, left=0.1)
    team = False
    if view.ok and n:
        df = view.per_rep.sort_values("expected_pay", ascending=False, kind="stable")
        team = "rep_id" not in df.columns
        who = [(team_names or {}).get(t, t) for t in df["team"]] if team else list(df["name"])
        x = np.arange(len(df))
        ax.bar(x, df["expected_pay"], color=_EDITED, label="提成" if zh else "Commission")
        if "expected_pool" in df.columns:
            ax.bar(
                x,
                df["expected_pool"],
                bottom=df["expected_pay"],
                color="#ffb74d",
                label="奖金池" if zh else "Bonus pool",
            )
        ax.legend(fontsize=8, loc="upper right")
        ax.set_xticks(
            x, [_plot_text(k) for k in who], rotation=90, fontsize=6 if len(df) > 30 else 8
        )
        if team:
            title = (
                "每个团队的预期提成（从高到低）" if zh else "Expected pay per team, highest first"
            )
        else:
            title = "每人预期提成（从高到低）" if zh else "Expected pay per rep, highest first"
        ax.set_title(title, fontsize=10)
    ax.set_xlabel(("团队" if team else "销售") if zh else ("Team" if team else "Sales rep"))
    u.format_axis(ax, "y", zh="预期提成", en="Expected pay")
    ax.grid(alpha=0.3, axis="y")
    return ax.figure


def lab_figure(
    view,
    *,
    lang: str = "en",
    currency: str = "CNY",
    units: Units | None = None,
    labels: Mapping[str, str] | None = None,
    team_names: Mapping[str, str] | None = None,
):
    """The lab's three charts in one figure (for notebooks and reports)."""
    from matplotlib.figure import Figure

    use_cjk_font()
    fig = Figure(figsize=(8, 11), layout="constrained")
    a1, a2, a3 = fig.subplots(3, 1)
    payout_curves(view, lang=lang, currency=currency, units=units, labels=labels, ax=a1)
    cost_distribution(view, lang=lang, ax=a2)
    rep_pay(view, lang=lang, currency=currency, units=units, team_names=team_names, ax=a3)
    return fig


def placeholder(text: str, *, figsize=(7, 3.0)):
    """A grey, empty chart saying why there is nothing to show."""
    ax = _axes(None, figsize)
    ax.set_facecolor("#eeeeee")
    ax.set_xticks([])
    ax.set_yticks([])
    for s in ax.spines.values():
        s.set_color("#cccccc")
    ax.text(
        0.5,
        0.5,
        _plot_text(text),
        ha="center",
        va="center",
        color="#616161",
        fontsize=11,
        transform=ax.transAxes,
    )
    return ax.figure


def statement_curve(
    curve,
    result: float,
    pay: float,
    *,
    lang: str = "en",
    currency: str = "CNY",
    units: Units | None = None,
    ax=None,
):
    """One rep's place on their plan: the payout curve (against the result) and a dot.

    ``curve`` is a :func:`simlib.plans.payout_curve` frame; only this rep's figures
    are drawn. Both axes are amounts in ``units`` (default: yuan).
    """
    u = _units(units, lang, currency)
    ax = _axes(ax, (6.5, 3.2), bottom=0.18, left=0.16)
    zh = _zh(lang)
    ax.plot(
        curve["result"],
        curve["payout"],
        color=_EDITED,
        lw=2,
        label="方案提成曲线" if zh else "The plan's pay",
    )
    ax.scatter([result], [pay], color=_CLIFF, zorder=3, s=40, label="本期" if zh else "This period")
    u.format_axis(ax, "x", zh="业绩", en="Result")
    u.format_axis(ax, "y", zh="提成", en="Pay")
    ax.set_title(
        "本期在方案曲线上的位置" if zh else "Where this period sits on the plan", fontsize=10
    )
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(alpha=0.3)
    return ax.figure


def figure_png(fig, dpi: int = 80) -> bytes:
    """A figure as PNG bytes (for an ``ipywidgets.Image``)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()
