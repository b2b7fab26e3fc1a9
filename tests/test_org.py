"""The org tree (simlib.data.org): validation, ancestors, node table, roll-up order."""

import dataclasses

import numpy as np
import pandas as pd
import pytest

from simlib.data.org import (
    LEVEL_ORDER,
    OrgTree,
    ancestors,
    closest_id,
    depths,
    node_table,
    rollup_order,
)

# CO ─┬─ R1 ─┬─ T1 ── a, b
#     │      └─ T2 ── c
#     └─ R2 ─── T3 ── d
ORG = [
    ("CO", None, "company"),
    ("R1", "CO", "region"),
    ("R2", "CO", "region"),
    ("T1", "R1", "team"),
    ("T2", "R1", "team"),
    ("T3", "R2", "team"),
]
REPS = [("a", "T1"), ("b", "T1"), ("c", "T2"), ("d", "T3")]


def _org(rows=ORG, shuffle=None) -> pd.DataFrame:
    rows = list(rows)
    if shuffle is not None:
        rows = [rows[i] for i in shuffle]
    return pd.DataFrame(rows, columns=["node_id", "parent_id", "level"]).assign(
        name=lambda d: "n-" + d["node_id"], name_zh=None
    )


def _reps() -> pd.DataFrame:
    return pd.DataFrame(REPS, columns=["rep_id", "team_id"]).assign(
        name=lambda d: "n-" + d["rep_id"], name_zh=None, role="rep"
    )


def _frame(rows) -> pd.DataFrame:
    return _org(rows + [(r, t, "rep") for r, t in REPS])


def _broken(change: dict) -> list:
    return [(n, change.get(n, p), lv) for n, p, lv in ORG]


def _every_user(rows):
    """Every entry point that reads a parent table; each must raise the same way."""
    frame = _frame(rows)
    org = _org(rows)
    yield lambda: OrgTree.from_frame(frame)
    yield lambda: ancestors(org)
    yield lambda: node_table(org, _reps(), ["a", "b", "c", "d"])
    yield lambda: rollup_order(frame)


# ----------------------------------------------------------------- validation


def test_self_parent_is_rejected_naming_the_node():
    rows = _broken({"R1": "R1"})
    for build in _every_user(rows):
        with pytest.raises(ValueError, match=r"node 'R1' names itself as its parent"):
            build()


def test_cycle_is_rejected_naming_every_node_on_it():
    # CO → T1 → R1 → CO: no root above the cycle either
    rows = _broken({"CO": "T1"})
    for build in _every_user(rows):
        with pytest.raises(ValueError, match=r"cycle: 'CO' → 'T1' → 'R1' → 'CO'") as e:
            build()
        assert "R2" not in str(e.value)


def test_cycle_below_a_valid_root_is_rejected():
    rows = ORG + [("X", "Y", "team"), ("Y", "X", "team")]
    with pytest.raises(ValueError, match=r"cycle: 'X' → 'Y' → 'X'"):
        OrgTree.from_frame(_frame(rows))
    with pytest.raises(ValueError, match=r"cycle: 'X' → 'Y' → 'X'"):
        ancestors(_org(rows))


def test_missing_parent_is_rejected_naming_both_ids():
    rows = _broken({"T3": "R3"})
    with pytest.raises(ValueError, match=r"node 'T3' names parent 'R3', which is not a node"):
        OrgTree.from_frame(_frame(rows))


def test_two_roots_are_rejected_naming_both():
    rows = _broken({"R2": None})
    with pytest.raises(ValueError, match=r"exactly one root.*\['CO', 'R2'\]"):
        OrgTree.from_frame(_frame(rows))


def test_duplicate_id_is_rejected():
    with pytest.raises(ValueError, match=r"'T1' appears more than once"):
        OrgTree.from_frame(_frame(ORG + [("T1", "R2", "team")]))


def test_depths_of_a_forest_and_closest_id():
    assert depths({"CO": None, "R1": "CO", "T1": "R1", "x": "gone"}) == {
        "CO": 0,
        "R1": 1,
        "T1": 2,
        "x": 0,
    }
    assert closest_id("T-SX", ["T-SH", "R-EAST"]) == "; did you mean 'T-SH'?"
    assert LEVEL_ORDER == ("company", "region", "team", "rep")


# ----------------------------------------------------------------- queries


def _plain(df: pd.DataFrame) -> pd.DataFrame:
    return df.astype(object).where(df.notna(), None)


def test_ancestors_by_level_in_the_org_order():
    got = _plain(ancestors(_org()))
    want = pd.DataFrame(
        {
            "node_id": ["CO", "R1", "R2", "T1", "T2", "T3"],
            "company_id": ["CO"] * 6,
            "region_id": [None, "R1", "R2", "R1", "R1", "R2"],
            "team_id": [None, None, None, "T1", "T2", "T3"],
        }
    )
    pd.testing.assert_frame_equal(got, _plain(want))
    # a team hung straight under the company has no region; row order follows the input
    rows = ORG + [("T9", "CO", "team")]
    got = _plain(ancestors(_org(rows, shuffle=[6, 0, 1, 2, 3, 4, 5]))).set_index("node_id")
    assert list(got.index)[:2] == ["T9", "CO"]
    assert got.loc["T9"].tolist() == ["CO", None, "T9"]
    # a parent that is not a node ends the chain
    got = _plain(ancestors(_org(_broken({"R2": "nowhere"})))).set_index("node_id")
    assert got.loc["T3"].tolist() == [None, "R2", "T3"]


def test_rollup_order_is_bottom_up_by_depth_then_id_whatever_the_row_order():
    want = [
        ("d", "T3"),
        ("c", "T2"),
        ("b", "T1"),
        ("a", "T1"),
        ("T3", "R2"),
        ("T2", "R1"),
        ("T1", "R1"),
        ("R2", "CO"),
        ("R1", "CO"),
    ]
    frame = _frame(ORG)
    assert rollup_order(frame) == want
    rng = np.random.default_rng(0)
    for _ in range(5):
        shuffled = frame.iloc[rng.permutation(len(frame))]
        assert rollup_order(shuffled) == want
    tree = OrgTree.from_frame(frame.iloc[::-1])
    assert tree.rollup_order() == want
    assert tree.ids == ["CO", "R1", "R2", "T1", "T2", "T3", "a", "b", "c", "d"]
    s = tree.rollup({"a": 1.0, "b": 2.0, "c": 4.0, "d": 8.0})
    assert s.to_dict() == {
        "CO": 15.0,
        "R1": 7.0,
        "R2": 8.0,
        "T1": 3.0,
        "T2": 4.0,
        "T3": 8.0,
        "a": 1.0,
        "b": 2.0,
        "c": 4.0,
        "d": 8.0,
    }
    # only pairs whose parent is a row: a rep whose team is missing adds nothing
    part = frame[frame["node_id"] != "T3"]
    assert ("d", "T3") not in rollup_order(part)


def test_node_table_reps_first_then_the_nodes_they_reach_top_down():
    org = _org(ORG + [("T8", "R2", "team")], shuffle=[6, 5, 4, 3, 2, 1, 0])
    nodes = node_table(org, _reps(), ["a", "c", "d", "zz"])
    assert list(nodes["node_id"]) == ["a", "c", "d", "zz", "CO", "R1", "R2", "T1", "T2", "T3"]
    assert list(nodes.columns) == ["node_id", "parent_id", "level", "name", "name_zh", "depth"]
    by = nodes.set_index("node_id")
    assert by.loc["a"].tolist() == ["T1", "rep", "n-a", None, 3]
    # a deal owner missing from the reps table stands alone
    assert by.loc["zz"].tolist() == [None, "rep", "zz", None, 0]
    assert by.loc["CO", "parent_id"] is None and by.loc["CO", "depth"] == 0
    # same rows whatever the order of the org table
    again = node_table(_org(ORG + [("T8", "R2", "team")]), _reps(), ["a", "c", "d", "zz"])
    pd.testing.assert_frame_equal(nodes, again)


def test_simulate_rejects_a_self_parent_region(demo):
    from simlib.simulate import simulate

    org = demo.org.copy()
    org.loc[org["node_id"] == "R-EAST", "parent_id"] = "R-EAST"
    bad = dataclasses.replace(demo, tables={**demo.tables, "org": org})
    with pytest.raises(ValueError, match="'R-EAST' names itself as its parent"):
        simulate(bad, "2026-Q4", n_trials=10, seed=1)
