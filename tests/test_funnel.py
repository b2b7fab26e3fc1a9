"""The cohort funnel: every stage is a subset of the one before, its top is the leads
metric, reps add up to their team, and one rep's counts agree with a by-hand recount."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from simlib import tracking
from simlib.tracking import FUNNEL_STAGES, funnel, funnel_steps

STAGES = list(FUNNEL_STAGES)


@pytest.fixture(scope="module")
def facts():
    from simlib.apps.session import open_data

    return tracking.prepare(open_data())


@pytest.mark.parametrize("period", ["2026-11", "2026-Q3", "2026", "2025"])
@pytest.mark.parametrize("level", ["company", "region", "team", "rep"])
def test_stages_only_narrow(facts, period, level):
    fun = funnel(facts, period, level=level)
    counts = fun[STAGES].to_numpy()
    assert (counts >= 0).all()
    assert (np.diff(counts, axis=1) <= 0).all(), fun[np.diff(counts, axis=1).max(axis=1) > 0]


@pytest.mark.parametrize("period", ["2026-11", "2026-Q3"])
def test_top_is_the_leads_metric_and_reps_add_up(facts, period):
    teams = funnel(facts, period, level="team").set_index("node_id")
    m = tracking.metrics(facts, period, level="team").set_index("node_id")
    assert (teams["leads"] == m.loc[teams.index, "leads"]).all()
    for team in ("T-SH", "T-BJ"):
        reps = funnel(facts, period, level="rep", within=team)
        assert reps[STAGES].sum().tolist() == teams.loc[team, STAGES].tolist()


def test_one_rep_recounted_by_hand(facts):
    """S003's leads of 2026-Q3, followed one by one (the oracle walks the tables)."""
    as_of = facts.as_of
    leads = facts.leads[
        (facts.leads["rep_id"] == "S003")
        & (facts.leads["created_date"] >= pd.Timestamp("2026-07-01"))
        & (facts.leads["created_date"] <= pd.Timestamp("2026-09-30"))
    ]
    proposed = set(facts.proposals.loc[facts.proposals["date"] <= as_of, "opportunity_id"])
    won = set(facts.won.loc[facts.won["close_date"] <= as_of, "opportunity_id"])
    want = dict.fromkeys(STAGES, 0)
    for r in leads.itertuples():
        want["leads"] += 1
        if pd.isna(r.qualified) or not bool(r.qualified):
            continue
        want["qualified"] += 1
        if pd.isna(r.converted_date) or r.converted_date > as_of or pd.isna(r.opportunity_id):
            continue
        want["converted"] += 1
        if r.opportunity_id not in proposed:
            continue
        want["proposal"] += 1
        want["won"] += r.opportunity_id in won
    got = funnel(facts, "2026-Q3", level="rep", within="S003").set_index("node_id").loc["S003"]
    assert got[STAGES].tolist() == [want[s] for s in STAGES]
    assert want["leads"] > 0 and want["converted"] > 0


def test_earlier_as_of_never_adds(facts):
    now = funnel(facts, "2026-Q3", level="team").set_index("node_id")
    before = funnel(facts, "2026-Q3", level="team", as_of="2026-09-15").set_index("node_id")
    assert (before[STAGES] <= now[STAGES]).all().all()


def test_manager_with_no_leads_gets_a_zero_row(facts):
    fun = funnel(facts, "2026-Q3", level="rep", within="S002")  # the Shanghai team's manager
    assert fun["node_id"].tolist() == ["S002"] and fun[STAGES].sum().sum() == 0


def test_steps():
    steps = funnel_steps(pd.Series({"leads": 10, "qualified": 6, "converted": 3,
                                    "proposal": 0, "won": 0}))  # fmt: skip
    assert steps["stage"].tolist() == STAGES
    assert steps["count"].tolist() == [10, 6, 3, 0, 0]
    conv = steps["step_conversion"].tolist()
    assert np.isnan(conv[0]) and conv[1:4] == pytest.approx([0.6, 0.5, 0.0])
    assert np.isnan(conv[4])  # nothing to convert after an empty stage
