"""The bonus pool's funding rules: hand-worked cases (tests/cases/pool.yaml), validation,
exact and float paths agreeing to the cent, and ``simlib pool``."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from simlib.config import ParamError, default_params_dir, load_yaml
from simlib.plans import PoolSpec, load_pool
from simlib.plans.pool import allocate_pool, allocate_pool_periods, pool_flows, pool_payouts

HERE = Path(__file__).parent
PARAMS = default_params_dir()
FILE = load_yaml(HERE / "cases" / "pool.yaml")
CASES = FILE["cases"]
TEAMS = FILE["teams"]
BASE = load_yaml(PARAMS / "bonus_pool.yaml")


def _spec(overrides) -> PoolSpec:
    data = dict(BASE)
    data.update(overrides or {})
    return PoolSpec.model_validate(data)


def _results(step) -> pd.DataFrame:
    return pd.DataFrame(TEAMS[step["team"]] if "team" in step else step["results"])


def _cents(x) -> int:
    return round(float(x) * 100)


def _check(res, exp):
    assert res.funded is exp.get("funded", True)
    assert res.pool_cents == _cents(exp["pool"])
    assert res.holdback_cents == _cents(exp.get("holdback", 0))
    assert res.unallocated_cents == _cents(exp.get("unallocated", 0))
    assert res.unallocated_to == exp.get("unallocated_to", "")
    # the parts make the whole, to the cent
    assert res.paid_cents + res.holdback_cents + res.unallocated_cents == (
        res.pool_cents + res.carried_in_cents
    )
    got = res.cents_by_rep()
    if "shares" in exp:
        assert got == {k: _cents(v) for k, v in exp["shares"].items()}
    if "shares_multiset" in exp:
        assert sorted(got.values()) == sorted(_cents(v) for v in exp["shares_multiset"])
    assert list(res.review) == exp.get("review", [])
    if not res.funded:
        assert "not funded" in res.note


def _check_float(pool, df, res, step):
    """The float path gives the same money, each amount within a cent."""
    scores = df["score"].to_numpy(float) if "score" in df else None
    quota = df["quota"].to_numpy(float) if "quota" in df else None
    fl = pool_flows(
        pool,
        df["result"].to_numpy(float)[None, :],
        quota,
        scores,
        team_quota=step.get("team_quota"),
        carried_in=float(step.get("carried_in", 0)),
    )
    assert bool(fl.funded[0]) is res.funded
    assert fl.pool[0] == pytest.approx(res.pool_cents / 100, abs=1e-6)
    assert fl.holdback[0] == pytest.approx(res.holdback_cents / 100, abs=1e-6)
    exact_paid = res.cents_by_rep()
    for k, rep in enumerate(df["rep_id"].astype(str)):
        assert abs(fl.paid[0, k] - exact_paid[rep] / 100) < 0.01 + 1e-6, rep
    assert abs(fl.unallocated[0] - res.unallocated_cents / 100) < 0.01 + 1e-6


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_pool_case(case):
    pool = _spec(case.get("set"))
    if "periods" in case:
        frames = [_results(p) for p in case["periods"]]
        got = allocate_pool_periods(pool, frames)
        assert len(got) == len(case["periods"])
        for step, df, res in zip(case["periods"], frames, got):
            assert res.carried_in_cents == _cents(step.get("carried_in", 0))
            _check(res, step["expect"])
            _check_float(pool, df, res, step)
        return
    df = _results(case)
    res = allocate_pool(
        pool,
        df,
        team_quota=case.get("team_quota"),
        carried_in=case.get("carried_in", 0),
    )
    _check(res, case["expect"])
    _check_float(pool, df, res, case)


def test_shipped_pool_keeps_its_behaviour():
    pool = load_pool(PARAMS / "bonus_pool.yaml")
    assert pool.funded_above is None and pool.holdback == 0 and pool.unallocated == "split"
    assert pool.funding_base == "total"
    assert repr(pool) == (
        "PoolSpec(bonus_pool: 5% of team revenue per quarter, split by rank 30%/20%/15%, "
        "bottom 1 to review)"
    )


def test_repr_names_the_rules():
    pool = _spec(
        {"funded_above": 1.0, "funding_base": "excess", "holdback": 0.1, "unallocated": "company"}
    )
    assert "funded at 100% of team quota on the excess" in repr(pool)
    assert "10% held back" in repr(pool)
    assert "unallocated to company" in repr(pool)
    res = allocate_pool(_spec({"funded_above": 1.0}), _results({"team": "a_cent_short"}))
    assert "below the 100% funding threshold: the pool is not funded" in repr(res)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"holdback": 1.2}, ["holdback", "1.2", "120%", "from 0 to 1"]),
        ({"holdback": -0.1}, ["holdback", "-0.1", "from 0 to 1"]),
        ({"funded_above": -0.5}, ["funded_above", "-0.5", ">= 0"]),
        ({"funding_base": "excess"}, ["funding_base", "excess", "set funded_above"]),
        ({"funding_base": "above"}, ["funding_base", "above", "'total' or 'excess'"]),
        ({"unallocated": "nowhere"}, ["unallocated", "nowhere", "'split', 'company'"]),
    ],
)
def test_bad_rules_name_key_value_and_what_is_allowed(tmp_path, overrides, expected):
    data = dict(BASE)
    data.update(overrides)
    f = tmp_path / "bonus_pool.yaml"
    f.write_text(
        "\n".join(f"{k}: {json.dumps(v, ensure_ascii=False)}" for k, v in data.items()),
        encoding="utf-8",
    )
    with pytest.raises(ParamError) as e:
        load_pool(f)
    msg = str(e.value)
    for part in expected:
        assert part in msg, msg


def test_funded_above_needs_a_team_quota():
    pool = _spec({"funded_above": 1.0, "rank_by": "result"})
    with pytest.raises(ValueError, match="pass team_quota"):
        allocate_pool(pool, {"A": 100.0, "B": 50.0})
    with pytest.raises(ValueError, match="pass team_quota"):
        pool_flows(pool, np.array([[100.0, 50.0]]))
    res = allocate_pool(pool, {"A": 100.0, "B": 50.0}, team_quota=150)
    assert res.funded and res.pool_cents == 750


def test_pool_payouts_is_the_paid_part_of_the_flows():
    pool = _spec({"holdback": 0.2, "unallocated": "company", "min_attainment": 0.8})
    rng = np.random.default_rng(3)
    x = rng.gamma(4.0, 250_000.0, size=(300, 8)).round(2)
    q = np.full(8, 1_000_000.0)
    fl = pool_flows(pool, x, q)
    np.testing.assert_array_equal(pool_payouts(pool, x, q), fl.paid)
    np.testing.assert_allclose(
        fl.paid.sum(axis=1) + fl.holdback + fl.unallocated, fl.pool + fl.carried_in, atol=1e-6
    )
    assert (fl.paid >= 0).all() and (fl.unallocated >= -1e-9).all()


# ---------------------------------------------------------------- exact == float

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def rules(draw):
    split = draw(st.sampled_from(["rank", "score"]))
    data = {
        "description": "random pool",
        "funding_rate": draw(st.integers(1, 2000)) / 10_000,
        "split": split,
        "review_bottom": draw(st.integers(0, 3)),
        "rank_by": draw(st.sampled_from(["attainment", "result"])),
        "holdback": draw(st.sampled_from([0.0, 0.05, 0.1, 0.125, 0.333, 0.5, 1.0])),
        "unallocated": draw(st.sampled_from(["split", "company", "carry_forward"])),
    }
    if split == "rank":
        raw = sorted(draw(st.lists(st.integers(1, 100), min_size=1, max_size=5)), reverse=True)
        scale = draw(st.integers(sum(raw), 3 * sum(raw)))
        data["shares"] = [round(r / scale, 4) for r in raw]
        assume(sum(data["shares"]) <= 1 and all(s > 0 for s in data["shares"]))
        assume(all(a >= b for a, b in zip(data["shares"], data["shares"][1:])))
    if draw(st.booleans()):
        data["min_attainment"] = draw(st.integers(0, 150)) / 100
    if draw(st.booleans()):
        data["funded_above"] = draw(st.integers(0, 150)) / 100
        data["funding_base"] = draw(st.sampled_from(["total", "excess"]))
    return PoolSpec.model_validate(data)


team = st.lists(
    st.tuples(
        st.integers(0, 500_000_000),  # result in cents, up to 5,000,000.00
        st.integers(1, 5_000_000),  # quota in whole yuan
    ),
    min_size=1,
    max_size=12,
)


@SETTINGS
@given(rules(), team, st.integers(0, 10_000_000))
def test_exact_and_float_paths_agree_to_the_cent(pool, reps, carry_cents):
    ids = [f"R{k:02d}" for k in range(len(reps))]
    df = pd.DataFrame(
        {"rep_id": ids, "result": [c / 100 for c, _ in reps], "quota": [float(q) for _, q in reps]}
    )
    # attainments equal as decimals are equal; distinct ones are far apart in binary too
    att = sorted({Fraction(c, 100 * q) for c, q in reps})
    assume(all(b - a > a * Fraction(1, 10**9) for a, b in zip(att, att[1:])))
    carried = carry_cents / 100 if pool.unallocated == "carry_forward" else 0.0
    res = allocate_pool(pool, df, carried_in=carried)
    fl = pool_flows(
        pool, df["result"].to_numpy()[None, :], df["quota"].to_numpy(), carried_in=carried
    )

    assert res.paid_cents + res.holdback_cents + res.unallocated_cents == (
        res.pool_cents + res.carried_in_cents
    )
    assert all(s.cents >= 0 for s in res.shares)
    assert all(s.cents == 0 for s in res.shares if s.review)
    assert bool(fl.funded[0]) is res.funded
    assert round(fl.pool[0] * 100) == res.pool_cents
    assert round(fl.holdback[0] * 100) == res.holdback_cents
    got = res.cents_by_rep()
    for k, rep in enumerate(ids):
        assert abs(fl.paid[0, k] - got[rep] / 100) < 0.01 + 1e-6, (rep, fl.paid[0, k], got[rep])
    assert abs(fl.unallocated[0] - res.unallocated_cents / 100) < 0.01 + 1e-6
    if pool.unallocated == "split" and res.paid_cents:
        assert res.unallocated_cents == 0  # split pays everything when someone is paid
    if res.unallocated_cents:
        assert res.unallocated_to == (
            "carry_forward" if pool.unallocated == "carry_forward" else "company"
        )


@SETTINGS
@given(rules(), st.lists(team, min_size=1, max_size=4))
def test_carry_forward_over_periods_loses_nothing(pool, periods):
    pool = pool.model_copy(update={"unallocated": "carry_forward"})
    frames = [
        pd.DataFrame(
            {
                "rep_id": [f"R{k:02d}" for k in range(len(p))],
                "result": [c / 100 for c, _ in p],
                "quota": [float(q) for _, q in p],
            }
        )
        for p in periods
    ]
    out = allocate_pool_periods(pool, frames)
    carried = 0
    for r in out:
        assert r.carried_in_cents == carried
        assert r.paid_cents + r.holdback_cents + r.unallocated_cents == r.pool_cents + carried
        carried = r.carried_out_cents
    total_in = sum(r.pool_cents for r in out)
    total_out = sum(r.paid_cents + r.holdback_cents for r in out) + out[-1].carried_out_cents
    assert total_in == total_out


# ------------------------------------------------------------------------ simlib pool


def _run(capsys, *argv):
    from simlib.cli import main

    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def demo():
    from simlib.data import load_demo

    return load_demo()


def test_pool_cli_english(capsys):
    code, out, err = _run(capsys, "pool", "--period", "2026-Q2", "--team", "T-SH", "--lang", "en")
    assert code == 0, err
    assert "Bonus pool · Shanghai Team · 2026-Q2" in out
    assert "Rank" in out and "Amount (yuan)" in out and "Attainment" in out
    assert "Flagged for review:" in out and "Unallocated 0" in out
    assert "Zhang Wei" in out and "S003" not in out and "T-SH" not in out
    assert "nan" not in out.lower() and "None" not in out


def test_pool_cli_chinese_and_rules(capsys, tmp_path):
    f = tmp_path / "pool.yaml"
    f.write_text(
        "description: test\nfunding_rate: 0.05\nshares: [0.3, 0.2, 0.15]\nreview_bottom: 1\n"
        "min_attainment: 0.8\nholdback: 0.1\nunallocated: company\n",
        encoding="utf-8",
    )
    code, out, err = _run(
        capsys,
        "pool",
        "--period",
        "2026-Q2",
        "--team",
        "上海一部",
        "--pool",
        str(f),
        "--lang",
        "zh-CN",
    )
    assert code == 0, err
    assert "团队奖金池 · 上海一部 · 2026-Q2" in out
    for word in ("排名", "销售", "达成率", "份额", "金额（元）", "预留", "未分配", "退回公司"):
        assert word in out, word
    assert "张伟" in out and "S003" not in out


def test_pool_cli_json_one_object_per_team_and_sums(capsys, tmp_path):
    f = tmp_path / "pool.yaml"
    f.write_text(
        "description: test\nfunding_rate: 0.05\nshares: [0.3, 0.2, 0.15]\nreview_bottom: 1\n"
        "min_attainment: 0.8\nfunded_above: 0.9\nholdback: 0.125\nunallocated: carry_forward\n",
        encoding="utf-8",
    )
    code, out, err = _run(
        capsys, "pool", "--period", "2026-Q2", "--pool", str(f), "--json", "--lang", "en"
    )
    assert code == 0, err
    teams = json.loads(out)
    assert len(teams) == 9 and len({t["team"] for t in teams}) == 9
    for t in teams:
        cents = {k: round(float(t[k]) * 100) for k in ("pool_amount", "holdback", "carried_in")}
        paid = sum(round(float(r["amount"]) * 100) for r in t["reps"])
        assert paid == round(float(t["paid"]) * 100)
        assert paid + cents["holdback"] + round(float(t["unallocated"]) * 100) == (
            cents["pool_amount"] + cents["carried_in"]
        )
        assert t["funded"] is (t["team_attainment"] >= 0.9)
        if not t["funded"]:
            assert t["pool_amount"] == "0.00" and "not funded" in t["note"]


def test_pool_cli_since_carries_forward(demo, tmp_path):
    from simlib.cli.pool import pool_payout_list

    pool = PoolSpec.model_validate(
        {**BASE, "min_attainment": 0.8, "unallocated": "carry_forward", "name": "t"}
    )
    one = pool_payout_list(demo, pool, "2026-Q2", "T-SH", lang="en")[0]
    two = pool_payout_list(demo, pool, "2026-Q2", "T-SH", since="2026-Q1", lang="en")[0]
    q1 = pool_payout_list(demo, pool, "2026-Q1", "T-SH", lang="en")[0]
    assert one["carried_in"] == "0.00"
    assert two["carried_in"] == q1["unallocated"]
    assert two["pool_amount"] == one["pool_amount"]


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--period", "2026-07"], "--period must look like"),
        (["--period", "2026-Q2", "--team", "Nowhere"], "no team 'Nowhere'; teams: Shanghai Team"),
        (["--period", "2026-Q2", "--pool", "/nonexistent/pool.yaml"], "file not found"),
        (["--period", "2026-Q2", "--since", "2026-Q3"], "is after --period"),
    ],
)
def test_pool_cli_messages_not_tracebacks(capsys, argv, needle):
    code, out, err = _run(capsys, "pool", *argv, "--lang", "en")
    assert code == 2
    assert needle in err and "Traceback" not in err
