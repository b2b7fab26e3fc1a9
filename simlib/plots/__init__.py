"""Figures (matplotlib), with Chinese labels that render as real glyphs.

matplotlib is imported lazily, inside the functions: importing simlib costs nothing for
code that never draws.
"""

from __future__ import annotations

import numpy as np

__all__ = ["CJK_FONTS", "cjk_font", "use_cjk_font", "target_wall"]

#: CJK-capable families, in order of preference (scripts/setup.sh installs the first).
CJK_FONTS = (
    "WenQuanYi Micro Hei",
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "WenQuanYi Zen Hei",
    "Microsoft YaHei",
    "SimHei",
    "PingFang SC",
    "Heiti SC",
)


def cjk_font() -> str | None:
    """The first installed CJK font family, or None (then Chinese shows as boxes)."""
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    for name in CJK_FONTS:
        if name in installed:
            return name
    return None


#: Set once the missing-font warning was given (per report: the report kernel resets it).
_WARNED_NO_CJK = False

#: matplotlib's warning for every character its font lacks ("Glyph 21326 (\N{...})
#: missing from font(s) DejaVu Sans."): dozens per report without a CJK font.
GLYPH_MISSING = r"Glyph \d+.*missing from"


class MissingCJKFontWarning(UserWarning):
    """No CJK font is installed: Chinese text is drawn as empty boxes."""


def use_cjk_font() -> str | None:
    """Put a CJK font first in matplotlib's sans-serif list; returns its name.

    Latin text keeps rendering well (these fonts carry Latin glyphs too), and minus
    signs stay ASCII so they never fall back to a missing glyph.

    Without a CJK font it returns None and warns once (:class:`MissingCJKFontWarning`,
    naming the fonts looked for and how to install one) instead of matplotlib's
    warning per missing character, which it silences.
    """
    import matplotlib as mpl

    name = cjk_font()
    if name is None:
        _no_cjk_font()
        return None
    fam = [name] + [f for f in mpl.rcParams["font.sans-serif"] if f != name]
    mpl.rcParams["font.sans-serif"] = fam
    mpl.rcParams["font.family"] = "sans-serif"
    mpl.rcParams["axes.unicode_minus"] = False
    # CJK fonts such as WenQuanYi Micro Hei have no bold face: matplotlib draws bold
    # titles with the regular face and says so on stderr, which reports would show.
    import logging

    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
    return name


def _no_cjk_font() -> None:
    global _WARNED_NO_CJK
    import warnings

    if not any(
        f[0] == "ignore" and getattr(f[1], "pattern", None) == GLYPH_MISSING
        for f in warnings.filters
    ):
        warnings.filterwarnings("ignore", message=GLYPH_MISSING, category=UserWarning)
    if _WARNED_NO_CJK:
        return
    _WARNED_NO_CJK = True
    warnings.warn(
        "no CJK font installed (looked for "
        + ", ".join(CJK_FONTS[:3])
        + ", ...): Chinese text in figures shows as empty boxes. Install one, e.g. "
        "'apt-get install fonts-wqy-microhei' (scripts/setup.sh does), then clear "
        "matplotlib's font cache (~/.cache/matplotlib).",
        MissingCJKFontWarning,
        stacklevel=3,
    )


#: What the wall's colours mean, per mode: status → (en, zh-CN).
_WALL_LEGEND = {
    "attainment": {
        "green": ("at or above target", "达到或超过目标"),
        "amber": ("below target, at least {lo}", "低于目标，不低于 {lo}"),
        "red": ("below {lo}", "低于 {lo}"),
    },
    "pace": {
        "green": ("at or above target", "达到或超过目标"),
        "amber": ("below target, on pace", "低于目标，符合进度"),
        "red": ("behind pace", "落后于进度"),
    },
    "probability": {
        "green": ("{lo}–{hi}: stretching but reachable", "{lo}–{hi}：有挑战且可达成"),
        "amber": ("above {hi}: little stretch", "高于 {hi}：缺乏挑战"),
        "red": ("below {lo}: out of reach", "低于 {lo}：难以达成"),
    },
}

_WALL_XLABEL = {
    "attainment": ("Attainment (% of target)", "达成率（占目标 %）"),
    "probability": ("Probability of attainment (%)", "达成概率（%）"),
}

#: Bars longer than this (a share of target) are cut, with their value printed.
WALL_MAX = 3.0


def _pct_label(x: float) -> str:
    return f"{100 * x:,.0f}%"


def target_wall(
    names,
    actual,
    target,
    pace=None,
    *,
    title="",
    lang="en",
    ax=None,
    mode="attainment",
    bands=(0.3, 0.9),
    amber_from=0.8,
    xlabel=None,
    legend=True,
    legend_labels=None,
):
    """The target wall (SPEC R18): one progress bar per team or rep against target.

    Parameters
    ----------
    names : sequence of str
    actual, target : array_like
        Results and targets; bars show actual / target. The axis reaches the longest
        bar (up to :data:`WALL_MAX`, 300%; a longer bar is cut there with its value
        printed and a ``▸``), so no bar is ever cut silently.
    pace : array_like, optional
        Expected-to-date as a fraction of target; drawn as a tick on each bar. Bars below
        target but at or above pace are amber, below pace red.
    mode : {"attainment", "probability"}
        ``attainment``: green at or above target, amber from ``amber_from`` (or pace),
        red below. ``probability``: ``actual`` is a probability (target 1): the axis
        runs 0–100%, green inside ``bands`` (low, high), red below, amber above.
    xlabel : str, optional
        The axis title (default per mode and language).
    legend : bool
        Say what the colours mean, above the bars (``legend_labels`` overrides the
        text per status: ``{"green": ..., "amber": ..., "red": ...}``).
    """
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch
    from matplotlib.ticker import FuncFormatter

    from simlib.present import STATUS_COLORS

    use_cjk_font()
    zh = lang == "zh-CN"
    if mode not in ("attainment", "probability"):
        raise ValueError(f"mode must be 'attainment' or 'probability'; got {mode!r}")
    actual = np.nan_to_num(np.asarray(actual, float))
    target = np.asarray(target, float)
    ratio = np.divide(actual, target, out=np.zeros_like(actual), where=target > 0)
    n = len(ratio)
    row, top_in, bottom_in = 0.32, 1.0 if title else 0.7, 0.75
    if ax is None:
        # not through pyplot: a notebook shows the returned figure once, not twice
        fig = Figure(figsize=(8, n * row + top_in + bottom_in), dpi=100)
        h = fig.get_figheight()
        ax = fig.add_axes((0.28, bottom_in / h, 0.66, max(n, 1) * row / h))
    y = np.arange(n)[::-1]
    green, amber, red = STATUS_COLORS["green"], STATUS_COLORS["amber"], STATUS_COLORS["red"]
    if mode == "probability":
        lo, hi = bands
        status = np.where(ratio < lo, "red", np.where(ratio > hi, "amber", "green"))
        xmax = 1.0
        key = "probability"
    else:
        lo = np.asarray(pace, float) if pace is not None else amber_from
        status = np.where(ratio >= 1, "green", np.where(ratio >= lo, "amber", "red"))
        xmax = min(max(1.1, float(ratio.max(initial=0.0)) * 1.12), WALL_MAX * 1.08)
        key = "pace" if pace is not None else "attainment"
    colors = [STATUS_COLORS[s] for s in status]
    ax.barh(y, np.full(n, 1.0), color="#eeeeee", height=0.6)
    shown = np.minimum(ratio, WALL_MAX if mode != "probability" else 1.0)
    ax.barh(y, shown, color=colors, height=0.6)
    if pace is not None:
        ax.scatter(np.asarray(pace, float), y, marker="|", s=200, color="black", zorder=3)
    for yi, r, s in zip(y, ratio, shown):
        cut = r > s + 1e-12
        ax.text(
            s + 0.01 * xmax,
            yi,
            _pct_label(r) + (" ▸" if cut else ""),
            va="center",
            fontsize=8,
            fontweight="bold" if cut else "normal",
        )
    ax.set_yticks(y, list(names))
    ax.set_ylim(-0.5, n - 0.5)
    if mode != "probability":
        ax.axvline(1.0, color="black", lw=0.8)
    ax.set_xlim(0, xmax * (1.12 if mode == "probability" else 1.0))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p=None: _pct_label(v)))
    if mode == "probability":
        ax.set_xticks([0, 0.25, 0.5, 0.75, 1.0])
    en_label, zh_label = _WALL_XLABEL[mode]
    ax.set_xlabel(xlabel if xlabel is not None else (zh_label if zh else en_label))
    if legend:
        fill = {"lo": "", "hi": ""}
        if mode == "probability":
            fill = {"lo": _pct_label(bands[0]), "hi": _pct_label(bands[1])}
        elif pace is None:
            fill = {"lo": _pct_label(amber_from), "hi": ""}
        texts = {k: (v[1] if zh else v[0]).format(**fill) for k, v in _WALL_LEGEND[key].items()}
        texts.update(legend_labels or {})
        handles = [
            Patch(color=c, label=texts[k])
            for k, c in (("green", green), ("amber", amber), ("red", red))
        ]
        ax.legend(
            handles=handles,
            loc="lower left",
            bbox_to_anchor=(0.0, 1.0),
            ncol=3,
            frameon=False,
            fontsize=8,
            handlelength=1.2,
            borderaxespad=0.2,
        )
    if title:
        ax.set_title(title, pad=22 if legend else 6, loc="left")
    return ax.figure
