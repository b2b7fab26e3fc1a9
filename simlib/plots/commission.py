"""Commission figures: payout curves, cost distribution, pay per rep, a statement's curve.

matplotlib is imported inside the functions. Figures are built on
:class:`matplotlib.figure.Figure` directly (not pyplot), so a widget app can render
them to PNG without them also appearing in the notebook; a notebook still shows a
returned figure under ``%matplotlib inline``.
"""

from __future__ import annotations

import io

import numpy as np

from simlib.i18n import plain_text_for_plot as _plot_text
from simlib.plots import use_cjk_font

__all__ = [
    "payout_curves",
    "cost_distribution",
    "rep_pay",
    "lab_figure",
    "statement_curve",
    "figure_png",
]

_EDITED = "#1565c0"
_OTHERS = ("#757575", "#ef6c00", "#6a1b9a", "#2e7d32", "#ad1457")


def _zh(lang: str) -> bool:
    return lang == "zh-CN"


def _axes(ax, figsize, bottom=0.16):
    # A fixed layout, not "constrained": it halves the time to draw, which the widget
    # app pays on every change.
    from matplotlib.figure import Figure

    use_cjk_font()
    if ax is None:
        fig = Figure(figsize=figsize)
        fig.subplots_adjust(left=0.11, right=0.98, top=0.9, bottom=bottom)
        ax = fig.add_subplot()
    return ax


def _money_axis(axis) -> None:
    from matplotlib.ticker import FuncFormatter

    def fmt(v, _pos):
        a = abs(v)
        if a >= 1e6:
            return f"{v / 1e6:,.1f}M"
        if a >= 1e3:
            return f"{v / 1e3:,.0f}k"
        return f"{v:,.0f}"

    axis.set_major_formatter(FuncFormatter(fmt))


def payout_curves(view, *, lang: str = "en", currency: str = "CNY", ax=None):
    """Pay against attainment for the edited plan (bold) and the plans compared,
    with cliffs (red marks) and dead zones (shaded) of the edited plan."""
    ax = _axes(ax, (7, 3.6))
    zh = _zh(lang)
    if view.ok:
        names = list(view.curves)
        c = view.curves[names[0]]
        ax.plot(
            c["attainment"] * 100, c["payout"], color=_EDITED, lw=2.4, label=_plot_text(names[0])
        )
        for k, name in enumerate(names[1:]):  # dashed on top: an unchanged plan still shows
            o = view.curves[name]
            ax.plot(
                o["attainment"] * 100,
                o["payout"],
                color=_OTHERS[k % len(_OTHERS)],
                lw=1.2,
                ls="--",
                label=_plot_text(name),
            )
        top = 100 * float(c["attainment"].max())
        for r in view.risk.dead_zones.itertuples():
            if r.start * 100 < top:
                ax.axvspan(r.start * 100, min(r.end * 100, top), color="#ffcdd2", alpha=0.5, lw=0)
        for r in view.risk.cliffs.itertuples():
            if r.attainment * 100 <= top:
                ax.plot([r.attainment * 100] * 2, [r.pay_below, r.pay_above], color="#c62828", lw=3)
        ax.legend(fontsize=8, loc="upper left")
        rep = _plot_text(view.curve_rep)
        title = (
            f"提成曲线（{rep}，指标 {view.curve_quota:,.0f}）"
            if zh
            else f"Payout curve at {rep}'s quota ({view.curve_quota:,.0f})"
        )
        ax.set_title(title, fontsize=10)
    ax.set_xlabel("达成率 %" if zh else "Attainment (% of quota)")
    ax.set_ylabel(f"提成（{currency}）" if zh else f"Pay ({currency})")
    _money_axis(ax.yaxis)
    ax.grid(alpha=0.3)
    return ax.figure


def cost_distribution(view, *, lang: str = "en", ax=None):
    """Cost of sales (total pay ÷ revenue) over the trials, with its P50 and P90."""
    ax = _axes(ax, (7, 3.0))
    zh = _zh(lang)
    if view.ok:
        cos = view.cost_of_sales_trials * 100
        cos = cos[np.isfinite(cos)]
        ax.hist(cos, bins=50, color="#90caf9", edgecolor="white", lw=0.3)
        for q, lab in ((0.5, "P50"), (0.9, "P90")):
            v = float(np.quantile(cos, q)) if len(cos) else float("nan")
            ax.axvline(v, color="#0d47a1" if q == 0.5 else "#c62828", lw=1.5)
            ax.text(v, ax.get_ylim()[1] * 0.95, f" {lab} {v:.2f}%", fontsize=8, va="top")
        ax.set_title(
            ("销售成本率分布" if zh else "Cost of sales over trials")
            + f" ({view.cost_of_sales:.2%})",
            fontsize=10,
        )
    ax.set_xlabel("提成 ÷ 销售额 %" if zh else "Pay ÷ revenue (%)")
    ax.set_ylabel("模拟次数" if zh else "Trials")
    ax.grid(alpha=0.3)
    return ax.figure


def rep_pay(view, *, lang: str = "en", currency: str = "CNY", ax=None):
    """Expected pay per rep (per team for a team plan), highest first."""
    zh = _zh(lang)
    n = 0 if view.per_rep is None else len(view.per_rep)
    ax = _axes(ax, (7, 3.2), bottom=0.2)
    if view.ok and n:
        df = view.per_rep.sort_values("expected_pay", ascending=False)
        key = "rep_id" if "rep_id" in df.columns else "team"
        x = np.arange(len(df))
        ax.bar(x, df["expected_pay"], color=_EDITED, label="提成" if zh else "commission")
        if "expected_pool" in df.columns:
            ax.bar(
                x,
                df["expected_pool"],
                bottom=df["expected_pay"],
                color="#ffb74d",
                label="奖金池" if zh else "bonus pool",
            )
            ax.legend(fontsize=8)
        ax.set_xticks(
            x, [_plot_text(k) for k in df[key]], rotation=90, fontsize=6 if len(df) > 30 else 8
        )
        ax.set_title(
            "每人预期提成" if zh else ("Expected pay per " + ("team" if key == "team" else "rep")),
            fontsize=10,
        )
    ax.set_ylabel(f"{currency}")
    _money_axis(ax.yaxis)
    ax.grid(alpha=0.3, axis="y")
    return ax.figure


def lab_figure(view, *, lang: str = "en", currency: str = "CNY"):
    """The lab's three charts in one figure (for notebooks and reports)."""
    from matplotlib.figure import Figure

    use_cjk_font()
    fig = Figure(figsize=(8, 11), layout="constrained")
    a1, a2, a3 = fig.subplots(3, 1)
    payout_curves(view, lang=lang, currency=currency, ax=a1)
    cost_distribution(view, lang=lang, ax=a2)
    rep_pay(view, lang=lang, currency=currency, ax=a3)
    return fig


def statement_curve(
    curve, result: float, pay: float, *, lang: str = "en", currency: str = "CNY", ax=None
):
    """One rep's place on their plan: the payout curve (against the result) and a dot.

    ``curve`` is a :func:`simlib.plans.payout_curve` frame; only this rep's figures
    are drawn.
    """
    ax = _axes(ax, (6, 3.0))
    zh = _zh(lang)
    ax.plot(curve["result"], curve["payout"], color=_EDITED, lw=2)
    ax.scatter([result], [pay], color="#c62828", zorder=3, s=40)
    ax.set_xlabel("业绩" if zh else "Result")
    ax.set_ylabel(f"提成（{currency}）" if zh else f"Pay ({currency})")
    ax.set_title(
        "本期在方案曲线上的位置" if zh else "Where this period sits on the plan", fontsize=10
    )
    _money_axis(ax.xaxis)
    _money_axis(ax.yaxis)
    ax.grid(alpha=0.3)
    return ax.figure


def figure_png(fig, dpi: int = 80) -> bytes:
    """A figure as PNG bytes (for an ``ipywidgets.Image``)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()
