"""The one formatting path of apps and reports (simlib.present): hand-worked cases and
invariants a reader relies on."""

from __future__ import annotations

import math
import re

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simlib.present import (
    MISSING,
    Col,
    Units,
    apology,
    cards,
    count,
    field_error,
    footer,
    number,
    pct,
    pp,
    status_color,
    table,
)


@pytest.mark.parametrize(
    ("lang", "scale", "amount", "plain", "with_unit"),
    [
        ("zh-CN", None, 1_570_000_000, "157,000.0", "157,000.0万元"),
        ("zh-CN", "yi", 1_570_000_000, "15.70", "15.70亿元"),
        ("zh-CN", "yuan", 12_345.675, "12,345.68", "12,345.68元"),
        ("en", None, 1_570_000_000, "1,570.00", "¥1,570.00M"),
        ("en", "k", 614_400, "614", "¥614k"),
        ("en", "yuan", 0.005, "0.01", "¥0.01"),  # half up, to the cent
        ("en", None, -2_500_000, "-2.50", "-¥2.50M"),
        ("en", None, -1, "0.00", "¥0.00M"),  # never "-0.00"
    ],
)
def test_amounts_in_the_page_unit(lang, scale, amount, plain, with_unit):
    u = Units(lang, scale)
    assert u.amount(amount) == plain
    assert u.amount(amount, unit=True) == with_unit


def test_headers_carry_the_unit_and_missing_is_a_dash():
    assert Units("zh-CN").header("目标", "Target") == "目标（万元）"
    assert Units("en").header("目标", "Target") == "Target (¥M)"
    assert Units("en", "yuan", "USD").header("提成", "Payout") == "Payout ($)"
    for f in (Units("en").amount, pct, count, number):
        assert f(None) == MISSING and f(float("nan")) == MISSING and f(pd.NA) == MISSING
    assert pct(float("inf")) == MISSING


def test_shares_counts_and_points():
    assert pct(0.2213) == "22.1%"
    assert pct(0.03, sign=True) == "+3.0%" and pct(-0.03, sign=True) == "-3.0%"
    assert pct(0.0, sign=True) == "0.0%"
    assert count(15.0) == "15" and count(1234567) == "1,234,567"
    assert pp(0.031) == "+3.1 pp" and pp(-0.031) == "-3.1 pp"


def test_bad_units_are_refused():
    with pytest.raises(ValueError, match="scale"):
        Units("en", "bn")
    with pytest.raises(ValueError, match="currency"):
        Units("en", currency="GBP")
    with pytest.raises(ValueError, match="lang"):
        Units("fr")


@settings(max_examples=200, deadline=None)
@given(st.floats(min_value=-1e13, max_value=1e13, allow_nan=False))
def test_formatted_amounts_read_back_within_half_a_unit(x):
    for u in (Units("zh-CN"), Units("en"), Units("en", "yuan")):
        s = u.amount(x)
        assert "e" not in s.lower() and "nan" not in s.lower()
        back = float(s.replace(",", "")) * u.divisor
        assert math.isclose(back, x, abs_tol=0.5 * 10 ** (-u.decimals) * u.divisor + 1e-6)


def test_table_for_people():
    frame = pd.DataFrame(
        {
            "node_id": ["S1", "S2", "S3"],
            "name": ["<b>Li</b>", "Wang", None],
            "target": [1_500_000.0, float("nan"), 2_000_000.0],
            "growth": [0.22, None, -0.05],
            "deals": [15.0, 3.0, 0.0],
        }
    )
    cols = [
        Col("name", "姓名", "Name"),
        Col("target", "目标", "Target", "amount", missing="无历史"),
        Col("growth", "增长", "Growth", "pct"),
        Col("deals", "商机数", "Deals", "count"),
    ]
    html = table(frame, cols, Units("zh-CN"), top=2, sorted_by="目标")
    assert "<th" in html and "目标（万元）" in html and "node_id" not in html
    assert "&lt;b&gt;Li&lt;/b&gt;" in html and "<b>Li" not in html
    assert "150.0" in html and "22.0%" in html and ">15<" in html
    assert "无历史" in html  # the reason, not NaN
    assert "前 2 行（共 3 行），按目标排序" in html
    assert not re.search(r"NaN|None|nan|\b15\.0\b", html)
    assert table(frame.iloc[:0], cols, Units("en")).count("Nothing to show") == 1


def test_cards_footer_errors_escape_what_they_show():
    assert "<script>" not in cards([("<script>", "1")])
    assert "color:#c62828" in cards([("Risk", "8%")], status=["red"])
    f = footer(lang="en", fingerprint="2e8d25fdc684abcdef", params={"team": "<T>"}, when="now")
    assert "2e8d25fdc684" in f and "abcdef" not in f and "&lt;T&gt;" in f
    assert "&lt;" in field_error("<x>")
    assert "抱歉" in apology("zh-CN", "r1") and "r1" in apology("zh-CN", "r1")
    assert status_color("amber") != status_color("red") and status_color("?") == "#9e9e9e"


def test_amount_axis_has_the_decimals_its_ticks_need():
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    from simlib.plots import use_cjk_font
    from simlib.present import Units

    use_cjk_font()

    def ticks(lang, top):
        fig = Figure()
        ax = fig.add_subplot()
        ax.plot([0, 1], [0, top])
        Units(lang).format_axis(ax, zh="金额", en="Amount")
        fig.savefig(__import__("io").BytesIO(), format="png")
        return [t.get_text() for t in ax.get_yticklabels()], ax.get_ylabel()

    labels, title = ticks("en", 2.2e6)  # ticks 0.5M apart
    assert "0.5" in labels and "1.5" in labels and title == "Amount (¥M)"
    assert not any("e" in x for x in labels)
    labels, title = ticks("zh-CN", 2.2e8)  # 万: whole numbers, thousands separated
    assert "10,000" in labels and title == "金额（万元）"


def test_ticks_two_and_a_half_apart_keep_their_half():
    from simlib.present import Units

    f = Units("en").axis_formatter()
    f.set_locs([0, 2.5e6, 5e6, 7.5e6, 10e6])
    assert [f(v) for v in (2.5e6, 7.5e6, 10e6)] == ["2.5", "7.5", "10.0"]
    f.set_locs([0, 1e6, 2e6])
    assert f(2e6) == "2"
