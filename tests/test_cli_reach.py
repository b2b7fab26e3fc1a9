"""The reach commands (issue 16): reminders, leads, drill, key accounts, honours,
promotion, milestones, clawbacks and the solvers, on the demo company in both languages;
their --json keys, one number each checked against the library, and clear errors."""

from __future__ import annotations

import json
import re

import pytest

from simlib.cli import main

ID = re.compile(r"\b(S\d{3}|T-[A-Z]{2}|R-[A-Z]+)\b")
BAD = ("Traceback", "nan", "NaN", "None", "NaT", "internal error")


@pytest.fixture(scope="module")
def demo():
    from simlib.data import load_demo

    return load_demo()


@pytest.fixture(scope="module")
def facts(demo):
    from simlib.tracking import prepare

    return prepare(demo)


@pytest.fixture(autouse=True)
def _one_dataset(monkeypatch, demo):
    """Every command reads the same loaded demo (the command line loads it each time)."""
    from simlib.cli import common

    monkeypatch.setattr(common, "load_dataset", lambda args: demo)
    monkeypatch.setenv("SIMLIB_LEDGER", "sqlite:////nonexistent-dir-for-tests/ledger.sqlite")


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def table_ok(text: str) -> None:
    for bad in BAD:
        assert not re.search(rf"(?<![A-Za-z]){bad}(?![A-Za-z])", text), (bad, text[:2000])
    assert "{'" not in text


def js(capsys, *argv):
    code, out, err = run(capsys, *argv, "--json")
    assert code == 0, err
    return json.loads(out)


# --------------------------------------------------------------------------- reminders


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_reminders_by_rep_both_languages(capsys, lang):
    code, out, err = run(capsys, "reminders", "--team", "Beijing Team", "--lang", lang)
    assert code == 0, err
    table_ok(out)
    assert not ID.search(out), ID.search(out)
    assert ("745 days overdue" if lang == "en" else "已逾期745天") in out
    assert ("Cao Liang" if lang == "en" else "曹亮") in out
    assert ("no governance ledger" if lang == "en" else "尚无治理台账") in out


def test_reminders_json_matches_library(capsys, facts):
    from simlib.tracking import reminders

    data = js(capsys, "reminders", "--lang", "en")
    assert set(data) == {"as_of", "count", "by_rep", "reminders", "note"}
    lib = reminders(facts)
    assert data["count"] == len(lib)
    assert sum(r["count"] for r in data["by_rep"]) == len(lib)
    top = data["reminders"][0]
    assert set(top) >= {"kind", "status", "rep_id", "rep", "team", "subject", "due_date", "days",
                        "value", "when", "message"}  # fmt: skip
    overdue = [r for r in data["reminders"] if r["status"] == "overdue"]
    assert max(r["days"] for r in overdue) == int(lib["days"].max()) == 745
    by_kind = js(capsys, "reminders", "--kind", "renewal", "--rep", "曹亮")
    assert {r["kind"] for r in by_kind["reminders"]} == {"renewal"}
    assert {r["rep_id"] for r in by_kind["reminders"]} == {"S049"}


def test_reminders_appeals_never_create_a_ledger(capsys, tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    monkeypatch.setenv("SIMLIB_LEDGER", url)
    code, out, err = run(capsys, "reminders", "--kind", "appeal", "--lang", "en")
    assert code == 0, err
    assert "no governance ledger yet" in out
    assert not (tmp_path / "ledger.sqlite").exists()


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (("reminders", "--rep", "Zhang Wie", "--lang", "en"), "did you mean Zhang Wei?"),
        (("reminders", "--team", "Shanghia Team", "--lang", "en"), "did you mean Shanghai Team?"),
        (("reminders", "--rep", "张卫", "--lang", "zh-CN"), "是否指"),
        (("reminders", "--as-of", "yesterday-ish"), "not a date"),
        (("drill", "--period", "2026-Q5", "--lang", "en"), "is not a period"),
        (("drill", "--period", "2027-Q2", "--lang", "en"), "after the data end"),
        (("leads", "rank", "--top", "0", "--lang", "en"), "--top must be at least 1"),
        (("key-accounts", "--within", "Atlantis", "--lang", "en"), "no org node 'Atlantis'"),
    ],
)
def test_bad_input_is_a_clear_message(capsys, argv, needle):
    code, out, err = run(capsys, *argv)
    assert code == 2, (out, err)
    assert needle in err, err
    assert "Traceback" not in err


# --------------------------------------------------------------------------- leads


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_leads_both_languages(capsys, lang):
    code, out, err = run(capsys, "leads", "sources", "--lang", lang)
    assert code == 0, err
    table_ok(out)
    assert ("Referral" if lang == "en" else "客户转介绍") in out
    assert "95%" in out
    code, out, err = run(
        capsys, "leads", "rank", "--rep", "Zhang Wei", "--top", "5", "--lang", lang
    )
    assert code == 0, err
    table_ok(out)
    assert not ID.search(out)
    assert ("qualified lead" if lang == "en" else "已确认线索") in out


def test_leads_json_matches_library(capsys, facts):
    from simlib.tracking import lead_source_conversion, rank_open_leads

    data = js(capsys, "leads", "sources", "--by", "customer_type", "--period", "2026-Q3")
    assert set(data) == {"period", "by", "within", "rows"}
    lib = lead_source_conversion(facts, "2026-Q3", by="customer_type").set_index("customer_type")
    for r in data["rows"]:
        assert set(r) >= {"customer_type", "leads", "conversion", "ci_low", "ci_high",
                          "won_revenue", "revenue_per_lead"}  # fmt: skip
        assert r["leads"] == lib.at[r["customer_type"], "leads"]
        assert r["conversion"] == pytest.approx(lib.at[r["customer_type"], "conversion"])
        assert r["ci_low"] < r["conversion"] < r["ci_high"]
    rank = js(capsys, "leads", "rank", "--top", "3")
    lib = rank_open_leads(facts)
    assert rank["open_leads"] == len(lib)
    assert [r["lead_id"] for r in rank["rows"]] == list(lib["lead_id"][:3])
    assert rank["rows"][0]["p_convert"] == pytest.approx(lib["p_convert"].iloc[0])


# --------------------------------------------------------------------------- drill, key accounts


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_drill_and_key_accounts_both_languages(capsys, lang):
    code, out, err = run(capsys, "drill", "--period", "2026-Q3", "--by", "product_line",
                         "--within", "East China", "--lang", lang)  # fmt: skip
    assert code == 0, err
    table_ok(out)
    assert not ID.search(out)
    assert ("Hangzhou Team" if lang == "en" else "杭州一部") in out
    assert ("(¥M)" if lang == "en" else "（万元）") in out
    code, out, err = run(capsys, "key-accounts", "--within", "华东", "--top", "3", "--lang", lang)
    assert code == 0, err
    table_ok(out)
    assert not ID.search(out)


def test_drill_and_key_accounts_json_match_library(capsys, facts):
    from simlib.tracking import key_account_status, metrics

    data = js(capsys, "drill", "--period", "2026-Q3", "--by", "customer_type", "--within", "T-SH")
    assert set(data) == {"period", "as_of", "level", "by", "within", "rows"}
    assert data["level"] == "rep"
    lib = metrics(facts, "2026-Q3", level="rep", within="T-SH", by="customer_type")
    assert sum(r["revenue"] for r in data["rows"]) == pytest.approx(lib["revenue"].sum())
    top = js(capsys, "drill", "--period", "2026-Q3")
    assert top["level"] == "region" and len(top["rows"]) == 4
    ka = js(capsys, "key-accounts")
    assert set(ka) == {"as_of", "max_gap_days", "within", "level", "nodes", "accounts"}
    lib = key_account_status(facts)
    assert len(ka["accounts"]) == len(lib)
    assert sum(a["overdue"] for a in ka["accounts"]) == int(lib["overdue"].sum())
    assert sum(n["key_accounts"] for n in ka["nodes"]) == len(lib)


# --------------------------------------------------------------------------- honours, promotion


@pytest.fixture
def nominations(tmp_path):
    p = tmp_path / "noms.csv"
    p.write_text(
        "rep_id,period,approach,evidence\n"
        "张伟,2026-10,WeChat demos for small businesses,wiki/sh-demo\n"
        "S010,2026-10,Industry webinar series,wiki/webinar\n",
        encoding="utf-8",
    )
    return p


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_honours_both_languages(capsys, lang, nominations):
    code, out, err = run(capsys, "honours", "--period", "2026-10", "--nominations",
                         str(nominations), "--lang", lang)  # fmt: skip
    assert code == 0, err
    table_ok(out)
    assert not ID.search(out)
    assert ("Exploration award" if lang == "en" else "探索奖") in out
    assert ("Nominated, not awarded: Zhang Wei" if lang == "en" else "获提名未获奖：张伟") in out


def test_honours_json_matches_library(capsys, facts, nominations):
    import pandas as pd

    from simlib.scorecard import honours

    data = js(capsys, "honours", "--period", "2026-10", "--nominations", str(nominations))
    assert set(data) == {"period", "as_of", "awards", "nominated_not_awarded"}
    noms = pd.DataFrame({"rep_id": ["S010"], "period": ["2026-10"], "approach": ["webinars"]})
    lib = honours(facts, "2026-10", nominations=noms)
    got = {(a["award"], a["scope"]): a for a in data["awards"]}
    for r in lib.itertuples():
        assert got[(r.award, r.scope)]["rep_id"] == r.rep_id
        assert got[(r.award, r.scope)]["value"] == pytest.approx(r.value)
    assert [x["rep_id"] for x in data["nominated_not_awarded"]] == ["S003"]


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("rep,period\nS003,2026-10\n", "no approach column"),
        ("rep_id,period,approach\nNobody Here,2026-10,x\n", "row 2"),
        ("rep_id,period,approach\nS003,2026-13,x\n", "row 2"),
        ("rep_id,period,approach\nS003,2026-10,\n", "approach is empty"),
    ],
)
def test_bad_nominations_file(capsys, tmp_path, content, needle):
    p = tmp_path / "n.csv"
    p.write_text(content, encoding="utf-8")
    code, out, err = run(capsys, "honours", "--period", "2026-10", "--nominations", str(p),
                         "--lang", "en")  # fmt: skip
    assert code == 2, (out, err)
    assert needle in err, err
    code, out, err = run(capsys, "honours", "--period", "2026-10", "--nominations",
                         str(tmp_path / "missing.csv"), "--lang", "en")  # fmt: skip
    assert code == 2 and "file not found" in err


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_promotion_both_languages(capsys, lang, facts):
    from simlib.scorecard import promotion_candidates

    code, out, err = run(capsys, "promotion", "--period", "2026-Q3", "--lang", lang)
    assert code == 0, err
    table_ok(out)
    assert not ID.search(out)
    if lang == "en":
        data = js(capsys, "promotion", "--period", "2026-Q3")
        lib = promotion_candidates(facts, "2026-Q3")
        assert [r["rep_id"] for r in data["candidates"]] == list(lib["rep_id"])
        assert set(data["candidates"][0]) >= {"rep", "team", "periods", "scores",
                                              "worst_percentile", "next_role"}  # fmt: skip


# --------------------------------------------------------------------------- milestones


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_milestones_both_languages(capsys, lang, facts):
    code, out, err = run(capsys, "milestones", "--lang", lang)
    assert code == 0, err
    table_ok(out)
    assert not ID.search(out)
    assert ("Chongqing Team" if lang == "en" else "重庆一部") in out
    assert ("behind" if lang == "en" else "落后") in out


def test_milestones_json_matches_library(capsys, facts):
    from simlib.scorecard import Milestone, milestone_progress

    data = js(capsys, "milestones")
    assert set(data) == {"as_of", "milestones"}
    cq = next(m for m in data["milestones"] if m["node_id"] == "T-CQ")
    lib = milestone_progress(facts, Milestone("T-CQ", target=10, start="2026-09-01", months=3))
    assert cq["actual"] == lib["actual"].iloc[0]
    assert cq["status"] == lib["status"].iloc[0]
    assert set(cq) >= {"name", "metric", "target", "start", "deadline", "actual", "expected",
                       "progress", "status"}  # fmt: skip


def test_milestones_file_is_validated(capsys, tmp_path):
    from simlib.params import model_for

    assert model_for("milestones.yaml").__name__ == "MilestoneParams"
    p = tmp_path / "milestones.yaml"
    p.write_text("milestones:\n  - node: Chongqin Team\n    target: 10\n    start: 2026-09-01\n")
    code, out, err = run(capsys, "milestones", "--file", str(p), "--lang", "en")
    assert code == 2
    assert "milestones.milestones[0].node" in err and "Chongqing Team" in err
    p.write_text("milestones:\n  - node: T-CQ\n    target: -1\n    start: 2026-09-01\n")
    code, out, err = run(capsys, "milestones", "--file", str(p))
    assert code == 2 and "target" in err


# --------------------------------------------------------------------------- clawbacks


@pytest.fixture
def reversals(tmp_path):
    p = tmp_path / "rev.csv"
    p.write_text("deal,reversal date\nOPP030976,2026-10-20\nOPP031163,2026-10-05\n")
    return p


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_clawbacks_both_languages(capsys, lang, reversals):
    code, out, err = run(capsys, "clawbacks", "--period", "2026-10", "--plan", "new_hire_draw",
                         "--reversals", str(reversals), "--lang", lang)  # fmt: skip
    assert code == 0, err
    table_ok(out)
    assert not ID.search(out)
    assert ("Ding Hong" if lang == "en" else "丁红") in out
    code, out, err = run(capsys, "clawbacks", "--period", "2026-Q4", "--lang", lang)
    assert code == 0
    assert ("no clawback" if lang == "en" else "没有追回条款") in out


def test_clawbacks_json_matches_the_statements(capsys, demo, reversals):
    from decimal import Decimal

    import pandas as pd

    from simlib.plans import compute_statements, load_plan

    data = js(capsys, "clawbacks", "--period", "2026-10", "--plan", "new_hire_draw",
              "--reversals", str(reversals))  # fmt: skip
    assert set(data) == {"plan", "period", "has_clawback", "within_days", "lines"}
    assert {x["opportunity_id"] for x in data["lines"]} == {"OPP030976", "OPP031163"}
    line = next(x for x in data["lines"] if x["opportunity_id"] == "OPP030976")
    assert line["days"] == 48 and line["clawed_back"]
    won = demo.opportunities[demo.opportunities["stage"] == "won"]
    rev = pd.DataFrame({"opportunity_id": ["OPP030976"], "reversal_date": ["2026-10-20"]})
    sts = compute_statements(load_plan("new_hire_draw"), won, None, reversals=rev,
                             teams=demo.reps, products=demo.products)  # fmt: skip
    st = sts.get(line["rep_id"], "2026-10")
    claw = [ln for ln in st.lines if ln.kind == "clawback"]
    assert Decimal(line["amount"]) == claw[0].amount < 0
    code, out, err = run(capsys, "clawbacks", "--period", "2026-Q4", "--plan", "new_hire_draw")
    assert code == 2 and "2026-Q4" in err


# --------------------------------------------------------------------------- solve


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_solve_rate_both_languages(capsys, lang):
    argv = ["--cost-of-sales", "1.2%", "--period", "2026-Q4", "--trials", "300", "--lang", lang]
    code, out, err = run(capsys, "solve", "rate", "--plan", "tiered_cn", *argv)
    assert code == 0, err
    table_ok(out)
    assert "0.70" in out and "1.20%" in out and "P10–P90" in out


def test_solve_json_matches_library(capsys, demo):
    import numpy as np

    from simlib.apps.commission_lab import LabContext, trials_record
    from simlib.plans import evaluate, load_plan, solve_gate, solve_rate
    from simlib.simulate import simulate

    data = js(capsys, "solve", "rate", "--plan", "tiered_cn", "--cost-of-sales", "1.2%",
              "--period", "2026-Q4", "--trials", "300")  # fmt: skip
    assert set(data) >= {"factor", "rates", "expected_cost_of_sales", "cost_of_sales_p10",
                         "cost_of_sales_p90", "expected_payout"}  # fmt: skip
    plan = load_plan("tiered_cn")
    sim = simulate(demo, "2026-Q4", demo.as_of, n_trials=300, seed=7)
    ctx = LabContext.from_record(trials_record(sim), plans={plan.name: plan})
    kw = ctx.evaluate_kwargs([plan])
    sol = solve_rate(plan, ctx.trials, None, cost_of_sales=0.012, **kw)
    assert data["factor"] == pytest.approx(sol.value)
    cost = evaluate(sol.plan, ctx.trials, None, **kw).sum(axis=1).mean()
    assert data["expected_cost_of_sales"] == pytest.approx(cost / ctx.trials.sum(axis=1).mean())
    assert data["expected_cost_of_sales"] == pytest.approx(0.012, rel=1e-6)
    gate = js(capsys, "solve", "gate", "--plan", "tiered_cn", "--eligible", "80%",
              "--period", "2026-Q4", "--trials", "300")  # fmt: skip
    g = solve_gate(plan, ctx.trials, ctx.quotas, 0.8, teams=np.asarray(ctx.teams))
    assert gate["gate"] == pytest.approx(g.value) and gate["eligible"] >= 0.8


def test_solve_uplift(capsys):
    data = js(capsys, "solve", "uplift", "--confidence", "80%", "--scenario", "baseline_2027",
              "--trials", "300")  # fmt: skip
    assert set(data) >= {"uplift_for_confidence", "over_assignment_total", "confidence"}
    assert data["confidence"] == 0.8
    assert -0.5 < data["uplift_for_confidence"] < 0.5
    code, out, err = run(capsys, "solve", "uplift", "--confidence", "80%", "--scenario",
                         "baseline_2027", "--trials", "300", "--lang", "zh-CN")  # fmt: skip
    assert code == 0 and "80% 的把握" in out


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (("solve", "rate", "--plan", "tiered_cn", "--cost-of-sales=-1%", "--period", "2026-Q4"),
         "got -1%"),
        (("solve", "rate", "--plan", "tiered_cn", "--period", "2026-Q4"), "--cost-of-sales"),
        (("solve", "rate", "--plan", "tiered_cn", "--budget", "abc", "--period", "2026-Q4"),
         "--budget must be an amount"),
        (("solve", "gate", "--plan", "tiered_cn", "--eligible", "120%", "--period", "2026-Q4"),
         "between 0% and 100%"),
        (("solve", "gate", "--plan", "tiered_cn", "--eligible", "80%", "--period", "2026-11"),
         "2026-11"),
        (("solve", "uplift", "--confidence", "abc", "--scenario", "baseline_2027"),
         "percentage like 80%"),
    ],
)  # fmt: skip
def test_solve_bad_input(capsys, argv, needle):
    code, out, err = run(capsys, *argv, "--lang", "en")
    assert code == 2, (out, err)
    assert needle in err, err
