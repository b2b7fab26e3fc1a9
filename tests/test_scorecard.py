"""Scorecards: hand-worked scores, re-weighting, monotonicity, cycles, honours, review packs."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simlib import scorecard as sc
from simlib import tracking as tr
from simlib.data import load_data
from simlib.params import load_params
from simlib.scorecard import WeightSet

TINY = Path(__file__).parent / "fixtures" / "tiny"


@pytest.fixture(scope="module")
def demo_facts(demo):
    """The demo company (session fixture ``demo``), joined once for this module."""
    return tr.prepare(demo)


@pytest.fixture(scope="module")
def tiny():
    return tr.prepare(load_data(TINY, "demo", as_of=dt.date(2026, 10, 31)))


@pytest.fixture(scope="module")
def card(tiny):
    return sc.scorecard(tiny, "2026-10")


def test_scores_by_hand(card):
    d = card.detail.set_index(["rep_id", "kpi"])
    # Ann: every KPI measured, so every weight is as written
    assert d.loc[("A", "revenue"), "ratio"] == pytest.approx(80_000 / 180_000)
    assert d.loc[("A", "market_share"), "ratio"] == pytest.approx(0.8 / 0.25)  # capped at 1.2
    assert (
        d.loc[("A", "market_share"), "normalised"] == 1.2 and d.loc[("A", "market_share"), "capped"]
    )
    assert d.loc[("A", "nps"), "ratio"] == pytest.approx((100 + 100 / 3) / 125)  # team NPS +25
    assert d.loc[("A", "qualified_visits"), "target"] == pytest.approx(4 / 51 * 18)  # per day × 18
    assert d.loc[("A", "proposal_acceptance"), "ratio"] == pytest.approx(0.5 / (2 / 3))
    ann = 100 * (
        0.3 * 4 / 9
        + 0.1 * 1.0
        + 0.1 * 1.2
        + 0.1 * 16 / 15
        + 0.1 * 1.2
        + 0.1 * 1.2
        + 0.1 * 0.75
        + 0.1 * 1.2
    )
    t = card.table.set_index("rep_id")
    assert t.loc["A", "score"] == pytest.approx(ann) == pytest.approx(89.5)
    # Bob: nothing of his fell due, so collection's 10% is spread over the other results KPIs
    # (revenue 30%, market share 10%, NPS 10% -> × 0.6 / 0.5)
    assert d.loc[("B", "revenue"), "effective_weight"] == pytest.approx(0.36)
    bob = 100 * (
        0.36 * 2 / 9
        + 0.12 * (0.2 / 0.75)
        + 0.12 * 0.8
        + 0.1 * (1 / (4 / 51 * 18))
        + 0.1 * 0
        + 0.1 * 1.2
        + 0.1 * 0
    )
    assert t.loc["B", "score"] == pytest.approx(bob)
    assert "collection_rate: no data" in t.loc["B", "notes"]
    assert card.detail.groupby("rep_id")["effective_weight"].sum().round(12).eq(1.0).all()
    assert list(card.table["rep_id"]) == ["A", "D", "B", "C"]
    assert t.loc["C", "newcomer"] and not t.loc["A", "newcomer"]
    # market share: Cai was not here last year
    assert np.isnan(d.loc[("C", "market_share"), "normalised"])


def test_explain_in_both_languages(card):
    en = card.explain("B")
    assert "Bob: 2026-10 score 39.9" in en and "re-spread over the other results KPIs" in en
    zh = card.explain("B", "zh-CN")
    assert "综合得分 39.9" in zh and "2.00万元" in zh and "其他结果类指标" in zh


def test_saas_weight_set_and_fixed_targets(tiny):
    saas = sc.scorecard(tiny, "2026-10", weight_set="saas")
    assert set(saas.detail["kpi"]) == {
        "revenue",
        "renewal_rate",
        "qualified_visits",
        "lead_conversion",
    }
    sp = load_params("scorecard.yaml").model_copy(update={"kpi_targets": {"collection_rate": 0.95}})
    fixed = sc.scorecard(tiny, "2026-10", params=sp).detail.set_index(["rep_id", "kpi"])
    assert fixed.loc[("A", "collection_rate"), "target"] == 0.95
    assert fixed.loc[("A", "collection_rate"), "target_basis"] == "fixed target"
    with pytest.raises(ValueError, match="unknown weight set 'sass'; did you mean 'saas'"):
        sc.scorecard(tiny, "2026-10", weight_set="sass")


KPIS = ("revenue", "collection_rate", "nps", "qualified_visits", "lead_conversion")


def _ws():
    return WeightSet.model_validate(
        {
            "group_weights": {"results": 0.6, "process": 0.4},
            "kpis": [
                {"name": "revenue", "group": "results", "weight": 0.3},
                {"name": "collection_rate", "group": "results", "weight": 0.15},
                {"name": "nps", "group": "results", "weight": 0.15},
                {"name": "qualified_visits", "group": "process", "weight": 0.2},
                {"name": "lead_conversion", "group": "process", "weight": 0.2},
            ],
        }
    )


value = st.one_of(st.just(np.nan), st.floats(0, 1e6, allow_nan=False))


@settings(max_examples=80, deadline=None)
@given(
    values=st.lists(value, min_size=len(KPIS), max_size=len(KPIS)),
    targets=st.lists(st.floats(1, 1e6), min_size=len(KPIS), max_size=len(KPIS)),
    which=st.integers(0, len(KPIS) - 1),
    bump=st.floats(0, 1e6),
    ceiling=st.floats(1.0, 3.0),
)
def test_score_never_falls_when_one_kpi_improves(values, targets, which, bump, ceiling):
    """Hypothesis: raising one KPI (others fixed) never lowers the score."""

    def score(vals):
        df = pd.DataFrame({"rep_id": "r", "kpi": KPIS, "value": vals, "target": targets})
        return sc.score_kpis(df, _ws(), ceiling)["contribution"].sum()

    if np.isnan(values[which]):
        return  # adding a missing KPI re-weights; monotonicity is about a measured one
    better = list(values)
    better[which] = values[which] + bump
    assert score(better) >= score(values) - 1e-9
    full = [v if not np.isnan(v) else t for v, t in zip(values, targets)]
    assert 0 <= score(full) <= 100 * ceiling + 1e-9


@settings(max_examples=40, deadline=None)
@given(team=st.lists(st.floats(0, 100), min_size=2, max_size=6), bump=st.floats(0.01, 50))
def test_score_rises_even_when_the_target_is_the_team_average(team, bump):
    """A rep's improvement also lifts the team average it is judged against: still up."""

    def score(vals):
        avg = float(np.mean(vals))
        df = pd.DataFrame(
            {
                "rep_id": [f"r{i}" for i in range(len(vals))],
                "kpi": "qualified_visits",
                "value": vals,
                "target": avg,
            }
        )
        out = sc.score_kpis(df, _ws(), 1.2)
        return out.loc[out["rep_id"] == "r0", "contribution"].sum()

    better = list(team)
    better[0] += bump
    assert score(better) >= score(team) - 1e-9


def test_cycles_and_milestones(tiny):
    assert sc.cycle_of("T1") == "monthly"
    sp = load_params("scorecard.yaml").model_copy(update={"team_cycles": {"T2": "quarterly"}})
    assert sc.cycle_of("T2", sp) == "quarterly"
    assert sc.last_period("monthly", "2026-11-20") == "2026-10"
    assert sc.last_period("monthly", "2026-10-31") == "2026-10"
    assert sc.last_period("quarterly", "2026-11-20") == "2026-Q3"
    ms = sc.Milestone("T1", target=2, start="2026-08-01", months=3)
    assert repr(ms) == "Milestone(T1: 2 new_customers by 2026-10-31, from 2026-08-01)"
    row = sc.milestone_progress(tiny, ms).iloc[0]
    # S3 on 10 Aug and S1 on 27 Oct: reached on the 27th
    assert (row["actual"], row["status"], row["achieved_on"]) == (
        2,
        "achieved",
        pd.Timestamp("2026-10-27"),
    )
    late = sc.milestone_progress(
        tiny, sc.Milestone("T1", target=3, start="2026-08-01"), as_of="2026-10-15"
    )
    assert late["status"].iloc[0] == "behind" and late["actual"].iloc[0] == 1
    with pytest.raises(ValueError, match="needs a start date"):
        sc.Milestone("T1")


def test_honours(tiny, card):
    noms = pd.DataFrame(
        {
            "rep_id": ["B", "A", "D"],
            "period": "2026-10",
            "approach": ["WeChat demo days for small customers", "x", ""],
        }
    )
    h = sc.honours(tiny, "2026-10", card=card, nominations=noms)
    got = {(r.award, r.scope): r.rep_id for r in h.itertuples()}
    assert got[("top_seller", "company")] == "A"
    assert got[("top_seller", "T2")] == "D"
    assert got[("best_newcomer", "company")] == "C"
    assert got[("customer_reputation", "company")] == "A"  # NPS +33 from 3 answers
    # Bob missed with a documented approach; Ann also missed... with "x" documented;
    # Dan: nothing documented
    explorers = set(h.loc[h["award"] == "exploration", "rep_id"])
    assert "B" in explorers and "D" not in explorers
    assert (
        "no penalty" in h.loc[h["rep_id"].eq("B") & h["award"].eq("exploration"), "reason"].iloc[0]
    )


def test_review_pack(tiny, card):
    p = sc.review_pack(tiny, "B", "2026-10", card=card)
    gaps = p.gaps.set_index("kpi")
    assert "lead_conversion" in gaps.index
    assert (
        gaps.loc["lead_conversion", "sentence"]
        == "Lead conversion 100% below the team average (0.0% vs 20.0%)"
    )
    assert (
        gaps.loc["lead_conversion", "sentence_zh"]
        == "线索转化率低于团队平均100%（0.0%，团队20.0%）"
    )
    assert "proposal_acceptance" in set(p.strengths["kpi"])
    tg = p.targets.set_index("kpi")
    assert tg.loc["revenue", "target"] == pytest.approx(310_000 * 21 / 62)  # November quota
    assert tg.loc["lead_conversion", "target"] == pytest.approx(0.10)  # half way to 20%
    md = p.to_markdown()
    assert md.startswith("# Bob — Performance review 2026-10") and "## Support offered" in md
    assert "## 待改进" in p.to_markdown("zh-CN") and "# 鲍" in p.to_markdown("zh-CN")
    with pytest.raises(ValueError, match="'M1' has no scorecard for 2026-10"):
        sc.review_pack(tiny, "M1", "2026-10", card=card)


def test_promotion_needs_top_quartile_every_period(tiny):
    cands = sc.promotion_candidates(tiny, "2026-10", periods=1)
    assert cands["rep_id"].tolist() == ["A"]  # the only rep at the top quartile bar
    assert sc.promotion_candidates(tiny, "2026-10", periods=2).empty  # nobody scored in September


def test_the_demo_scorecard(demo_facts):
    f = demo_facts
    card = sc.scorecard(f, "2026-Q3")
    assert card.table["score"].notna().all() and card.table["rank"].is_monotonic_increasing
    bottom = set(card.table.tail(12)["rep_id"])
    assert {"S047", "S054"} & bottom  # the capability-gap reps score poorly
    pack = sc.review_pack(f, "S054", "2026-10")
    assert pack.classification == "capability"
    assert any("mentoring" in s for s in pack.support["offer"])


def _cli(argv):
    import simlib.cli as cli

    parser = cli.build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert "scorecard" in sub.choices
    orig = cli.build_parser
    cli.build_parser = lambda: parser
    try:
        return cli.main(argv)
    finally:
        cli.build_parser = orig


def test_cli_scorecard(capsys):
    base = ["--data", str(TINY), "--mapping", "demo"]
    assert _cli(["scorecard", "--period", "2026-10", "--json", *base]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["rep_id"] for r in rows] == ["A", "D", "B", "C"]
    assert _cli(["scorecard", "--period", "2026-10", "--rep", "B", "--lang", "en", *base]) == 0
    assert "# Bob — Performance review 2026-10" in capsys.readouterr().out
    assert _cli(["scorecard", "--period", "2026-10", "--weight-set", "nope", *base]) == 2
    assert "unknown weight set 'nope'" in capsys.readouterr().err


# ----------------------------------------------------------------- evaluation cycles


@pytest.fixture
def quarterly_shanghai(tmp_path, monkeypatch):
    """params/ with the Shanghai team evaluated quarterly (issue 16: the cycles were never read)."""
    import shutil
    from pathlib import Path

    params = tmp_path / "params"
    shutil.copytree(Path(__file__).resolve().parents[1] / "params", params)
    sc_file = params / "scorecard.yaml"
    text = sc_file.read_text(encoding="utf-8").replace(
        "team_cycles: {}", "team_cycles: {T-SH: quarterly}"
    )
    sc_file.write_text(text, encoding="utf-8")
    monkeypatch.setenv("SIMLIB_PARAMS", str(params))
    return params


def test_evaluation_cycles_decide_who_a_scorecard_and_a_review_pack_cover(quarterly_shanghai):
    from simlib.views.team_review import load_facts, rep_pack

    f = load_facts()
    shanghai = set(f.reps.loc[(f.reps["team_id"] == "T-SH") & (f.reps["role"] == "rep"), "rep_id"])
    month = sc.scorecard(f, "2026-10")
    assert month.other_cycle == ("T-SH",) and not shanghai & set(month.table["rep_id"])
    assert month.table["rank"].tolist() == list(
        range(1, len(month.table) + 1)
    )  # ranked without them
    quarter = sc.scorecard(f, "2026-Q3")  # a quarter has everyone
    assert shanghai <= set(quarter.table["rep_id"]) and quarter.other_cycle == ()
    hon = sc.honours(f, "2026-10")
    assert "T-SH" not in set(hon["scope"]) and not shanghai & set(hon["rep_id"])
    assert sc.evaluation_period(f, "S003", "2026-10") == "2026-Q3"
    assert sc.evaluation_period(f, "S003", "2026-12") == "2026-Q4"
    assert sc.evaluation_period(f, "S012", "2026-10") == "2026-10"  # Hangzhou: monthly
    for lang, said in (("en", "Your team is evaluated quarterly: this review covers 2026-Q3."),
                       ("zh-CN", "你所在团队按季度考核：本次评估为 2026-Q3。")):  # fmt: skip
        p = rep_pack(f, "S003", "2026-10", lang)
        assert p.period == "2026-Q3" and said in str(p.header())
    assert rep_pack(f, "S012", "2026-10", "en").cycle_note == ""


def test_the_schedule_renders_each_rep_on_their_cycle(quarterly_shanghai, tmp_path):
    import datetime as dt

    from simlib.reports.schedule import load_schedule, run_due

    s = load_schedule(quarterly_shanghai / "schedule.yaml")
    done = run_due(s, now=dt.datetime(2027, 1, 3, 9, 30), out=tmp_path / "out", dry_run=True,
                   progress=False, say=lambda m: None)  # fmt: skip
    counts = {d.job: d.reports for d in done}
    assert counts["rep_review_pack"] == 52 and counts["rep_review_pack_quarterly"] == 8


def test_the_scorecard_command_says_who_is_evaluated_on_the_other_cycle(quarterly_shanghai, capsys):
    from simlib.cli import main

    assert main(["scorecard", "--period", "2026-10", "--lang", "en"]) == 0
    out = capsys.readouterr().out
    assert "Teams evaluated quarterly are not in a month's scorecard: Shanghai Team" in out
    assert main(["scorecard", "--period", "2026-10", "--rep", "S003", "--lang", "en"]) == 0
    assert "review 2026-Q3" in capsys.readouterr().out
