"""The vectorised calibration steps agree with the plain pandas ones they replace.

The fast paths (integer codes for deal ids, categorical snapshot columns, lookups once
per distinct key) must give exactly what the groupby/sort/merge versions gave, on a
small history with every awkward case: rows out of order, ids whose string order is
not their order of appearance, several changes on one day, missing expected close
dates, pull-ins and pushes, one-row deals.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from simlib.pipeline import (
    _by_distinct,
    _join_inner,
    _key_positions,
    _outcomes_until,
    _snapshots,
    _sorted_codes,
    _with_slips,
    deals_open_at,
)


def _old_with_slips(sh: pd.DataFrame) -> pd.DataFrame:
    sh = sh.sort_values(["opportunity_id", "changed_date"], kind="stable")
    prev = sh.groupby("opportunity_id", sort=False)["expected_close_date"].shift()
    pushed = (sh["expected_close_date"] > prev).astype(np.int32)
    return sh.assign(n_slips=pushed.groupby(sh["opportunity_id"], sort=False).cumsum())


def _history() -> pd.DataFrame:
    d = pd.Timestamp
    rows = [
        # id, changed, stage, amount, expected close
        ("OPP-10", d("2025-01-05"), "qualification", 100.0, d("2025-03-01")),
        ("OPP-2", d("2025-01-02"), "qualification", 50.0, d("2025-02-01")),
        ("OPP-10", d("2025-01-01"), "qualification", 90.0, d("2025-02-01")),
        ("OPP-2", d("2025-01-02"), "discovery", 55.0, d("2025-02-15")),  # same day
        ("OPP-2", d("2025-02-01"), "discovery", 55.0, pd.NaT),  # no date
        ("OPP-2", d("2025-02-10"), "proposal", 60.0, d("2025-03-01")),
        ("OPP-2", d("2025-02-20"), "proposal", 60.0, d("2025-02-25")),  # pulled in
        ("OPP-2", d("2025-03-01"), "won", 60.0, d("2025-03-01")),
        ("ÖPP-1", d("2025-01-03"), "negotiation", 7.0, d("2025-01-10")),  # one row
        ("OPP-10", d("2025-02-01"), "proposal", 100.0, d("2025-04-01")),
        ("OPP-10", d("2025-03-15"), "lost", 100.0, d("2025-04-01")),
        ("OPP-3", d("2025-01-20"), "discovery", 30.0, d("2025-01-25")),
        ("OPP-3", d("2025-02-20"), "discovery", 30.0, d("2025-03-25")),
    ]
    df = pd.DataFrame(
        rows, columns=["opportunity_id", "changed_date", "stage", "amount", "expected_close_date"]
    )
    return df.astype({"opportunity_id": "str", "stage": "str"})


def test_with_slips_matches_sort_and_groupby():
    sh = _history()
    new = _with_slips(sh).drop(columns="_oid")
    old = _old_with_slips(sh)
    pd.testing.assert_frame_equal(new, old, check_exact=True)
    # and on data already in order (the fast path that skips the reorder)
    pd.testing.assert_frame_equal(
        _with_slips(old.drop(columns="n_slips")).drop(columns="_oid"), old, check_exact=True
    )


def test_sorted_codes_are_sorted_factorize_codes_or_none():
    old = _old_with_slips(_history())
    changed = old["changed_date"].to_numpy(dtype="datetime64[ns]")
    codes = _sorted_codes(old["opportunity_id"], changed)
    want, _ = pd.factorize(old["opportunity_id"], sort=True, use_na_sentinel=False)
    np.testing.assert_array_equal(codes, want)
    np.testing.assert_array_equal(_with_slips(old)["_oid"].to_numpy(), want)
    # out of order by id, or by date inside one id: not claimed sorted
    assert _sorted_codes(_history()["opportunity_id"], changed) is None
    swapped = changed.copy()
    swapped[[0, 1]] = swapped[[1, 0]]
    assert old["opportunity_id"].iloc[0] == old["opportunity_id"].iloc[1]
    assert _sorted_codes(old["opportunity_id"], swapped) is None
    # a missing id or object text: the hashing path decides
    ids = old["opportunity_id"].astype(object)
    assert _sorted_codes(ids, changed) is None
    with_na = old["opportunity_id"].copy()
    with_na.iloc[-1] = np.nan
    assert _sorted_codes(with_na, changed) is None


@pytest.mark.parametrize("text", ["str", object])
def test_key_positions_and_join_inner_match_pandas(text):
    index = pd.Index(["OPP-10", "OPP-2", "ÖPP-1", "OPP-3", "x"], dtype=text, name="opportunity_id")
    right = pd.DataFrame(
        {
            "owner_id": pd.Series(["a", "b", np.nan, "c", "d"], dtype="str"),
            "created_date": pd.to_datetime(["2024-01-01", None, "2024-02-01", "2024-03-01", None]),
            "n": [1.0, 2.0, np.nan, 4.0, 5.0],
        }
    ).set_axis(index)
    keys = pd.Index(["OPP-3", "nope", "OPP-10", "ÖPP-1", "OPP-2x", "x"], dtype=text)
    np.testing.assert_array_equal(_key_positions(index, keys), index.get_indexer(keys))
    left = pd.DataFrame(
        {"won": [True, False, True, True, False, True], "amount": np.arange(6.0)},
        index=keys.rename("opportunity_id"),
    )
    for cols in (["owner_id"], ["created_date", "owner_id", "n"]):
        pd.testing.assert_frame_equal(
            _join_inner(left, right[cols]), left.join(right[cols], how="inner"), check_exact=True
        )
    empty = left.iloc[:0]
    pd.testing.assert_frame_equal(
        _join_inner(empty, right[["n"]]), empty.join(right[["n"]], how="inner"), check_exact=True
    )


@pytest.mark.parametrize("when", ["2025-01-02", "2025-02-05", "2025-02-28", "2025-06-01"])
def test_deals_open_at_same_with_and_without_codes(when):
    from types import SimpleNamespace

    sh = _history()
    seg = pd.DataFrame(
        {
            "owner_id": ["a", "b", "a", "c"],
            "segment": ["x|y", "x|y", "z|y", "x|w"],
            "created_date": pd.to_datetime(["2024-12-01"] * 4),
        },
        index=pd.Index(["OPP-10", "OPP-2", "OPP-3", "ÖPP-1"], name="opportunity_id"),
    )
    data = SimpleNamespace(stage_history=sh)
    fast = deals_open_at(data, when, _with_slips(sh), seg)
    slow = deals_open_at(data, when, _old_with_slips(sh), seg)
    pd.testing.assert_frame_equal(fast, slow, check_exact=True)


@pytest.mark.filterwarnings("ignore:invalid value encountered in cast")  # age of no-segment
@pytest.mark.parametrize("step", [1, 7])
def test_snapshots_same_with_and_without_codes(step):
    sh = _with_slips(_history())
    seg = pd.DataFrame(
        {
            "owner_id": pd.Series(["a", "b", "a"], dtype="str").to_numpy(),
            "segment": ["x|y", "x|y", "z|y"],
            "created_date": pd.to_datetime(["2024-12-01"] * 3),
        },
        index=pd.Index(["OPP-10", "OPP-2", "ÖPP-1"], dtype="str", name="opportunity_id"),
    )  # OPP-3 has no segment row
    T = pd.Timestamp("2025-06-30")
    outcomes = _outcomes_until(sh, T)
    fast = _snapshots(sh, seg, outcomes, T, 0, 30, 120, step)
    slow = _snapshots(sh.drop(columns="_oid"), seg, outcomes, T, 0, 30, 120, step)
    assert len(fast) > 0
    pd.testing.assert_frame_equal(fast, slow, check_exact=True)


def test_by_distinct_equals_the_row_function():
    rng = np.random.default_rng(1)
    n = 500
    stage = pd.Series(rng.choice(["a", "b", "c"], n), dtype="str")
    stage[::37] = np.nan
    seg = pd.Categorical(rng.choice(["x|1", "y|2", "?|?"], n))
    flag = rng.random(n) < 0.5
    table = {("a", "x|1"): 0.1, ("b", "y|2"): 0.2, ("c", "?|?"): 0.3}

    def rows(k: pd.DataFrame) -> np.ndarray:
        return np.array(
            [
                table.get((s, g), -1.0) + (0.5 if f else 0.0) if isinstance(s, str) else np.nan
                for s, g, f in zip(k["stage"], k["segment"], k["flag"], strict=True)
            ]
        )

    keys = {"stage": stage, "segment": seg, "flag": flag}
    direct = rows(pd.DataFrame({"stage": stage, "segment": np.asarray(seg), "flag": flag}))
    np.testing.assert_array_equal(_by_distinct(keys, rows), direct)
    assert _by_distinct({"stage": stage[:0]}, lambda k: np.zeros(len(k))).shape == (0,)


def test_age_codes_are_the_age_buckets():
    from simlib.pipeline import _AGE_BUCKETS, _age_bucket, _age_codes

    ages = np.r_[np.arange(-3, 400), np.iinfo(np.int64).min, np.iinfo(np.int64).max]
    np.testing.assert_array_equal(np.array(_AGE_BUCKETS)[_age_codes(ages)], _age_bucket(ages))
    floats = np.array([29.5, 30.0, 89.9, np.nan, 180.0, -1.0])
    np.testing.assert_array_equal(np.array(_AGE_BUCKETS)[_age_codes(floats)], _age_bucket(floats))


@pytest.mark.parametrize("n_values", [3, 120])  # a small key space (no sort) and a large one
def test_by_distinct_either_way_equals_the_row_function(n_values):
    rng = np.random.default_rng(2)
    n = 2000
    keys = {
        "a": pd.Series(rng.integers(0, n_values, n).astype(str), dtype="str"),
        "b": pd.Categorical(rng.integers(0, n_values, n)),
        "c": rng.integers(0, n_values, n),
    }
    keys["a"][::41] = np.nan

    def fn(k: pd.DataFrame) -> np.ndarray:
        a = k["a"].map(lambda v: -1.0 if v != v else float(v)).to_numpy(dtype=float)
        return a * 1e6 + k["b"].to_numpy(dtype=float) * 1e3 + k["c"].to_numpy(dtype=float)

    want = fn(pd.DataFrame({k: (np.asarray(v) if k == "b" else v) for k, v in keys.items()}))
    np.testing.assert_array_equal(_by_distinct(keys, fn), want)
