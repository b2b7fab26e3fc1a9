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


def target_wall(names, actual, target, pace=None, *, title="", lang="en", ax=None):
    """The target wall (SPEC R18): one progress bar per team or rep against target.

    Parameters
    ----------
    names : sequence of str
    actual, target : array_like
        Results and targets; bars show actual / target, capped at 150% for drawing.
    pace : array_like, optional
        Expected-to-date as a fraction of target; drawn as a tick on each bar.
    """
    import matplotlib.pyplot as plt

    use_cjk_font()
    actual = np.asarray(actual, float)
    target = np.asarray(target, float)
    ratio = np.divide(actual, target, out=np.zeros_like(actual), where=target > 0)
    n = len(ratio)
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 0.35 * n + 1.2))
    y = np.arange(n)[::-1]
    colors = np.where(
        ratio >= 1,
        "#2e7d32",
        np.where(ratio >= (np.asarray(pace) if pace is not None else 0.8), "#f9a825", "#c62828"),
    )
    ax.barh(y, np.ones(n), color="#eeeeee", height=0.6)
    ax.barh(y, np.minimum(ratio, 1.5), color=colors, height=0.6)
    if pace is not None:
        ax.scatter(np.asarray(pace, float), y, marker="|", s=300, color="black", zorder=3)
    for yi, r in zip(y, ratio):
        ax.text(min(r, 1.5) + 0.01, yi, f"{r:.0%}", va="center", fontsize=8)
    ax.set_yticks(y, list(names))
    ax.axvline(1.0, color="black", lw=0.8)
    ax.set_xlim(0, 1.6)
    ax.set_xlabel("达成率" if lang == "zh-CN" else "Attainment")
    if title:
        ax.set_title(title)
    return ax.figure
