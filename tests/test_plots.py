"""Figures: Chinese labels resolve to a CJK font with real glyphs."""

import matplotlib

matplotlib.use("Agg")


from simlib.plots import cjk_font, target_wall, use_cjk_font


def test_chinese_text_resolves_to_a_cjk_font_with_glyphs():
    name = use_cjk_font()
    assert name is not None, "no CJK font installed; scripts/setup.sh installs fonts-wqy-microhei"
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    # what matplotlib picks for the default (sans-serif) family after use_cjk_font()
    path = font_manager.findfont(font_manager.FontProperties(family=["sans-serif"]))
    font = FT2Font(path)
    for ch in "华东销售达成率万元":
        assert font.get_char_index(ord(ch)) != 0, f"{ch!r} has no glyph in {path}"
    assert cjk_font() == name


def test_target_wall_draws_every_bar():
    fig = target_wall(
        ["华东", "华南", "West"],
        [90, 50, 120],
        [100, 100, 100],
        pace=[0.8, 0.8, 0.8],
        title="目标墙",
        lang="zh-CN",
    )
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["华东", "华南", "West"]
    texts = sorted(t.get_text() for t in ax.texts)
    assert texts == ["120%", "50%", "90%"]
    fig.canvas.draw()  # renders without missing-glyph warnings
