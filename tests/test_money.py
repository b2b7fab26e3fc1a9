"""Money: exact cent allocation, rounding and formatting."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simlib.money import (
    allocate,
    allocate_cents,
    format_amount,
    format_money,
    format_percent,
    to_cents,
)

weights_st = st.lists(
    st.floats(min_value=0, max_value=1e6, allow_nan=False, allow_infinity=False),
    min_size=1,
    max_size=30,
).filter(lambda w: sum(w) > 0)
cents_st = st.integers(min_value=0, max_value=10**13)


@given(cents_st, weights_st)
@settings(max_examples=300, deadline=None)
def test_parts_sum_exactly_and_are_non_negative(total, weights):
    parts = allocate_cents(total, weights)
    assert int(parts.sum()) == total
    assert (parts >= 0).all()


@given(cents_st, weights_st)
@settings(max_examples=200, deadline=None)
def test_each_part_is_within_one_cent_of_its_exact_share(total, weights):
    from fractions import Fraction

    parts = allocate_cents(total, weights)
    fw = [Fraction(w) for w in weights]
    s = sum(fw)
    for p, w in zip(parts.tolist(), fw):
        exact = total * w / s
        assert exact - 1 < p < exact + 1
        if w == 0:
            assert p == 0


@given(cents_st, weights_st, st.randoms(use_true_random=False))
@settings(max_examples=200, deadline=None)
def test_order_of_parts_does_not_change_what_each_weight_gets(total, weights, rnd):
    parts = allocate_cents(total, weights)
    order = list(range(len(weights)))
    rnd.shuffle(order)
    shuffled = allocate_cents(total, [weights[i] for i in order])
    # Each part follows its weight; equal weights may swap their cent, so compare
    # the multiset of parts per distinct weight.
    by_w, by_w2 = {}, {}
    for w, p in zip(weights, parts.tolist()):
        by_w.setdefault(w, []).append(p)
    for i, p in zip(order, shuffled.tolist()):
        by_w2.setdefault(weights[i], []).append(p)
    assert {w: sorted(v) for w, v in by_w.items()} == {w: sorted(v) for w, v in by_w2.items()}


def test_hand_worked_largest_remainder():
    # 100.00 in thirds: 33.333.. each, one cent left over goes to the first by position.
    assert allocate(100, [1, 1, 1]).tolist() == [33.34, 33.33, 33.33]
    # 10.00 by 1:2:3 → 1.666.., 3.333.., 5.00 → remainders .67, .33, 0 → first gets the cent
    assert allocate(10, [1, 2, 3]).tolist() == [1.67, 3.33, 5.0]
    # The plan's example: 50,000,000 East China Q3, product A 60%
    assert allocate(50_000_000, [0.6, 0.25, 0.15]).tolist() == [30_000_000, 12_500_000, 7_500_000]
    # Ties on remainder go to the larger weight.
    assert allocate_cents(1, [1, 2]).tolist() == [0, 1]


def test_zero_total_and_zero_weights():
    assert allocate_cents(0, [0, 0]).tolist() == [0, 0]
    assert allocate_cents(5, [0, 1, 0]).tolist() == [0, 5, 0]


@pytest.mark.parametrize(
    "total, weights, message",
    [
        (100, [0, 0], "weights sum to 0"),
        (100, [1, -1], "weights[1] = -1.0"),
        (100, [1, float("nan")], "weights[1] = nan"),
        (-1, [1], "total_cents must be >= 0; got -1"),
        (1.5, [1], "whole number of cents; got 1.5"),
        (100, [], "non-zero amount to no parts"),
    ],
)
def test_bad_allocations_say_what_is_wrong(total, weights, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        allocate_cents(total, weights)


def test_rounding_is_half_away_from_zero_on_the_decimal_reading():
    assert to_cents(0.285) == 29
    assert to_cents(0.125) == 13
    assert to_cents(-0.125) == -13
    assert to_cents("1,234.565".replace(",", "")) == 123457
    with pytest.raises(ValueError, match="finite"):
        to_cents(float("inf"))


@pytest.mark.parametrize(
    "args, kwargs, expected",
    [
        ((50_000_000, "CNY", "zh-CN"), {"unit": "wan"}, "5,000万元"),
        ((8_000_000, "CNY", "en"), {"unit": "m"}, "¥8.00M"),
        ((1234.5, "USD"), {}, "$1,234.50"),
        ((1234.5, "EUR"), {}, "€1,234.50"),
        ((22_500, "CNY", "zh-CN"), {}, "22,500元"),
        ((-1500, "CNY"), {}, "-¥1,500"),
        ((123_456, "CNY", "zh-CN"), {"unit": "wan"}, "12.35万元"),
        ((3e8, "CNY", "zh-CN"), {"unit": "yi"}, "3.00亿元"),
        ((3e8, "CNY", "en"), {"unit": "wan"}, "¥30,000万"),
    ],
)
def test_format_money(args, kwargs, expected):
    assert format_money(*args, **kwargs) == expected


def test_format_amount_and_percent():
    assert format_amount(1_500_000) == "1,500,000"
    assert format_amount(22_500.5) == "22,500.50"
    assert format_percent(0.153) == "15.3%"
    assert format_percent(float("nan")) == "–"
    with pytest.raises(ValueError, match="currency must be one of"):
        format_money(1, "GBP")


def test_from_cents_arrays():
    from simlib.money import from_cents

    assert np.array_equal(from_cents(np.array([1, 150])), np.array([0.01, 1.5]))
