"""Proposals and quotes from a customer's needs (SPEC R19): pricing worked by hand,
the integer program against brute force, invariants, bad needs, the CLI."""

from __future__ import annotations

import functools
import itertools
import json
import re
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simlib.config import ParamError
from simlib.proposals import (
    NeedsError,
    PricingParams,
    approver_for,
    best_mix,
    coverage_value,
    load_pricing,
    opportunity_rows,
    price_book,
    price_mix,
    propose,
    resolve_needs,
    save_proposal,
    with_proposals,
)


@functools.lru_cache(maxsize=1)
def demo():
    from simlib.data import load_demo

    return load_demo()


@functools.lru_cache(maxsize=1)
def book():
    return price_book(load_pricing(), demo().products)


# --------------------------------------------------------------------------- hand-worked

# The demo price book: IoT Platform License ¥180,000 with breaks 3 → 5%, 5 → 8%;
# Smart Edge Gateway ¥26,000 (10 → 5%); bundle IoT starter (licence + gateway) 5%;
# Temperature & Humidity Sensor Array ¥8,500 (10 → 5%, 25 → 10%); VAT 13%.
HAND = [
    # quantities, extra, subtotal (yuan), VAT, total
    ({"P-IOT-01": 1}, 0, "180000.00", "23400.00", "203400.00"),
    ({"P-IOT-01": 2}, 0, "360000.00", "46800.00", "406800.00"),  # just below the break
    ({"P-IOT-01": 3}, 0, "513000.00", "66690.00", "579690.00"),  # 540,000 − 5%
    ({"P-IOT-01": 4}, 0, "684000.00", "88920.00", "772920.00"),  # 720,000 − 5%
    ({"P-IOT-01": 5}, 0, "828000.00", "107640.00", "935640.00"),  # 900,000 − 8%
    ({"P-SEN-02": 9}, 0, "76500.00", "9945.00", "86445.00"),
    ({"P-SEN-02": 10}, 0, "80750.00", "10497.50", "91247.50"),  # 85,000 − 5%
    ({"P-SEN-02": 24}, 0, "193800.00", "25194.00", "218994.00"),  # 204,000 − 5%
    ({"P-SEN-02": 25}, 0, "191250.00", "24862.50", "216112.50"),  # 212,500 − 10%
    # the bundle: 360,000 − 5% = 342,000 and 26,000 − 5% = 24,700
    ({"P-IOT-01": 2, "P-SEN-03": 1}, 0, "366700.00", "47671.00", "414371.00"),
    # break + bundle + extra add up: 540,000 × (5% + 5% + 2%) = 64,800 off → 475,200;
    # the gateway 26,000 × (5% + 2%) = 1,820 off → 24,180
    ({"P-IOT-01": 3, "P-SEN-03": 1}, "0.02", "499380.00", "64919.40", "564299.40"),
    # cents: 85,000 × 8.3% = 7,055 off → 77,945.00; VAT 10,132.85
    ({"P-SEN-02": 10}, "0.033", "77945.00", "10132.85", "88077.85"),
    # half a cent rounds up: 8,500 × 3 × 0.00003 = 0.765 → 0.77 off
    ({"P-SEN-02": 3}, "0.00003", "25499.23", "3314.90", "28814.13"),
]


@pytest.mark.parametrize("qty,extra,subtotal,vat,total", HAND)
def test_hand_worked_quotes(qty, extra, subtotal, vat, total):
    q = price_mix(book(), qty, Decimal(str(extra)))
    assert q.subtotal_cents == int(Decimal(subtotal) * 100)
    assert q.vat_cents == int(Decimal(vat) * 100)
    assert q.total_cents == int(Decimal(total) * 100)
    # sums exact: lines add to the subtotal, list − discount = net on every line
    assert sum(ln.net_cents for ln in q.lines) == q.subtotal_cents
    assert all(ln.list_cents - ln.discount_cents == ln.net_cents for ln in q.lines)
    assert q.list_cents - q.discount_cents == q.subtotal_cents


@pytest.mark.parametrize(
    "extra,who",
    [
        ("0", None),
        ("0.05", None),  # a rep's authority, exactly
        ("0.0501", "manager"),
        ("0.12", "manager"),
        ("0.1201", "director"),
        ("0.20", "director"),
    ],
)
def test_discount_authority_edges(extra, who):
    assert approver_for(Decimal(extra), book().authority) == who
    assert price_mix(book(), {"P-IOT-01": 1}, Decimal(extra)).approver == who


def test_above_the_director_nobody_may_grant():
    with pytest.raises(ValueError, match="above the director's authority"):
        price_mix(book(), {"P-IOT-01": 1}, Decimal("0.2001"))


def test_pricing_file_is_registered_and_checked(tmp_path):
    from simlib.params import load_params

    assert isinstance(load_params("pricing.yaml"), PricingParams)
    bad = tmp_path / "pricing.yaml"
    bad.write_text(
        "bundles:\n"
        "  - {name: a, name_zh: 甲, products: [P-IOT-01, P-SEN-03], discount: 0.05}\n"
        "  - {name: b, name_zh: 乙, products: [P-IOT-01, P-SVC-01], discount: 0.05}\n"
    )
    with pytest.raises(ParamError, match=r"bundles\[1\]\.products\[0\].*may not share"):
        load_pricing(bad)
    bad.write_text("products:\n  P-IOT-1: {per_size: 0.1}\n")
    with pytest.raises(ParamError, match="did you mean 'P-IOT-01'"):
        price_book(load_pricing(bad), demo().products)


# --------------------------------------------------------------------------- brute force


def _small_book(rng):
    n = int(rng.integers(2, 4))
    ids = [f"X{i}" for i in range(n)]
    products = pd.DataFrame(
        {
            "product_id": ids,
            "name": [f"Item {i}" for i in range(n)],
            "name_zh": [f"项目{i}" for i in range(n)],
            "product_line": ["A"] * n,
            "unit_price": rng.integers(1000, 50000, n) + rng.integers(0, 100, n) / 100,
        }
    )
    rules = {}
    for p in ids:
        breaks = []
        if rng.random() < 0.6:
            m = int(rng.integers(2, 4))
            breaks.append({"min_quantity": m, "discount": float(rng.choice([0.03, 0.05, 0.1]))})
            if rng.random() < 0.5:
                breaks.append({"min_quantity": m + 1, "discount": breaks[0]["discount"] + 0.04})
        rules[p] = {"per_size": float(rng.choice([0.25, 0.5, 1.0])), "volume_breaks": breaks}
    bundles = []
    if rng.random() < 0.6:
        bundles = [{"name": "b", "name_zh": "套", "products": ids[:2], "discount": 0.06}]
    params = PricingParams.model_validate(
        {
            "products": rules,
            "bundles": bundles,
            "budget_includes_vat": bool(rng.random() < 0.5),
        }
    )
    return price_book(params, products), ids


def test_milp_matches_brute_force_on_small_catalogues():
    rng = np.random.default_rng(19)
    checked = 0
    for _ in range(60):
        bk, ids = _small_book(rng)
        size = int(rng.integers(1, 5))
        needed = {p: bk.entries[p].needed(size) for p in ids}
        weights = {p: float(rng.uniform(0.05, 1.5)) for p in ids}
        must = [p for p in ids if rng.random() < 0.3]
        extra = Decimal(str(rng.choice([0, 0.02, 0.08])))
        full = price_mix(bk, needed, extra)
        cap = int(rng.uniform(0.05, 1.1) * full.total_cents)
        best, best_v = None, -1.0
        for qs in itertools.product(*(range(needed[p] + 1) for p in ids)):
            mix = dict(zip(ids, qs))
            if any(mix[p] < needed[p] for p in must):
                continue
            q = price_mix(bk, mix, extra)
            m = q.total_cents if bk.budget_includes_vat else q.subtotal_cents
            if m > cap:
                continue
            v = coverage_value(mix, needed, weights)
            if v > best_v + 1e-12:
                best, best_v = q, v
        got = best_mix(bk, ids, needed, weights, must_products=must, extra=extra, cap_cents=cap)
        if best is None:
            assert got is None
            continue
        assert got is not None
        measured = got.total_cents if bk.budget_includes_vat else got.subtotal_cents
        assert measured <= cap
        assert all(got.quantities().get(p, 0) >= needed[p] for p in must)
        assert coverage_value(got.quantities(), needed, weights) == pytest.approx(best_v, abs=1e-9)
        checked += 1
    assert checked >= 30  # most cases have a feasible mix


# --------------------------------------------------------------------------- invariants


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    budget=st.integers(min_value=100_000, max_value=4_000_000),
    size=st.integers(min_value=1, max_value=150),
    must=st.lists(
        st.sampled_from(["P-IOT-01", "P-IOT-02", "P-SEN-01", "P-SEN-03", "P-SVC-01"]),
        max_size=2,
        unique=True,
    ),
    industry=st.sampled_from(["Manufacturing", "Energy", "Logistics"]),
    discount=st.sampled_from(["0", "0.04", "0.1"]),
)
def test_within_budget_never_exceeds_and_covers_must_haves(budget, size, must, industry, discount):
    bk = book()
    raw = dict(budget=budget, size=size, must_have=must, industry=industry, discount=discount)
    needs = resolve_needs(raw, demo(), bk)
    try:
        prop = propose(needs, demo(), bk)
    except NeedsError as e:
        # only when the must-haves alone cost more than the budget
        assert e.problems[0].field == "must_have"
        cheapest = price_mix(bk, {p: bk.entries[p].needed(size) for p in must}, Decimal(discount))
        assert cheapest.total_cents > budget * 100
        return
    opt = prop.options[0]
    assert opt.kind == "within_budget"
    assert opt.quote.total_cents <= budget * 100
    have = opt.quote.quantities()
    for p in must:
        assert have.get(p, 0) >= bk.entries[p].needed(size)
    for o in prop.options:  # every option covers them, and its sums are exact
        assert all(o.quote.quantities().get(p, 0) >= bk.entries[p].needed(size) for p in must)
        assert o.quote.total_cents == o.quote.subtotal_cents + o.quote.vat_cents
        assert len(o.reasons) == len(o.quote.lines)


# --------------------------------------------------------------------------- bad needs


def _problems(raw, lang="en"):
    with pytest.raises(NeedsError) as e:
        needs = resolve_needs(raw, demo(), book())
        propose(needs, demo(), book())
    return e.value.message(lang)


def test_negative_budget_is_refused_in_both_languages():
    assert "a budget must be above zero; got -1,000.00" in _problems({"budget": -1000})
    assert "预算必须大于零；当前为 -1,000.00" in _problems({"budget": -1000}, "zh-CN")


def test_unknown_product_names_the_closest():
    msg = _problems({"products": ["Vibration Sensr Kit"]})
    assert "no product 'Vibration Sensr Kit' in the catalogue" in msg
    assert "did you mean 'Vibration Sensor Kit'?" in msg
    zh = _problems({"products": ["Vibration Sensr Kit"]}, "zh-CN")
    assert "您是否指“Vibration Sensor Kit”" in zh
    assert "did you mean 'IoT Platform'?" in _problems({"lines": ["IOT platfrom"]})


def test_impossible_must_haves_say_what_they_cost():
    raw = {"budget": 300000, "size": 50, "must_have": ["Digital Twin Suite", "P-IOT-01"]}
    msg = _problems(raw)
    # 2 licences (360,000) + 1 suite (350,000) = 710,000 + 13% VAT = 802,300
    assert "the must-haves alone come to ¥802,300.00 including VAT" in msg
    assert "above the budget of ¥300,000.00" in msg
    assert "仅必备项即需 802,300.00元（含税）" in _problems(raw, "zh-CN")
    msg = _problems({"must_have": ["IoT Platform License"], "exclude": ["IoT Platform"]})
    assert "'IoT Platform License' is both a must-have and excluded" in msg


def test_other_bad_needs():
    raw = {"budget": 1e6, "discount": "25%", "size": 2.5, "colour": "red"}
    msg = _problems(raw | {"customer": "Foshan Xinghe Smart Biotek"})
    assert "25% is above what anyone may grant: a director's authority is 20%" in msg
    assert "the size must be a whole number of devices, at least 1; got 2.5" in msg
    assert "colour: not a field of the needs" in msg
    assert "did you mean 'Foshan Xinghe Smart Biotech Co., Ltd.'?" in msg
    assert "the range is upside down" in _problems({"budget_min": 3e6, "budget_max": 2e6})


# --------------------------------------------------------------------------- the pipeline


def test_saved_proposal_is_an_opportunity_export_the_forecast_reads(tmp_path):
    from simlib.pipeline import deals_open_at

    bk = book()
    needs = resolve_needs(
        {"customer": "C00001", "budget": "200万", "lines": "IoT Platform", "size": 50},
        demo(),
        bk,
    )
    prop = propose(needs, demo(), bk)
    path = save_proposal(prop, tmp_path)
    rows = pd.read_csv(path, dtype=str)
    assert list(rows.columns)[:6] == [
        "opportunity_id",
        "name",
        "customer_id",
        "owner_id",
        "product_id",
        "amount",
    ]
    assert set(rows["stage"]) == {"proposal"}
    # the expected amounts are the lines' subtotals (before VAT), to the cent
    assert sum(int(Decimal(a) * 100) for a in rows["amount"]) == prop.option().quote.subtotal_cents
    data2 = with_proposals(demo(), path)
    assert len(demo().opportunities) + len(rows) == len(data2.opportunities)
    open_now = deals_open_at(data2, data2.as_of)
    assert set(rows["opportunity_id"]) <= set(open_now["opportunity_id"])
    assert rows["owner_id"].iloc[0] == "S039"  # the customer's owner


def test_updating_an_open_opportunity_keeps_its_id():
    from simlib.data.schema import OPEN_STAGES

    opp = demo().opportunities
    o = opp[opp["stage"].isin(OPEN_STAGES)].iloc[0]
    needs = resolve_needs(
        {"opportunity": o["opportunity_id"], "customer": o["customer_id"], "size": 30},
        demo(),
        book(),
    )
    rows = opportunity_rows(propose(needs, demo(), book()))
    assert rows["opportunity_id"].iloc[0] == o["opportunity_id"]
    assert all(r.startswith(o["opportunity_id"] + "-") for r in rows["opportunity_id"].iloc[1:])


# --------------------------------------------------------------------------- the CLI


def _run(monkeypatch, capsys, *argv):
    from simlib.cli import main
    from simlib.cli import proposal as cli

    monkeypatch.setattr(cli, "dataset", lambda args: demo())
    code = main(["proposal", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


ARGS = (
    "--budget", "800000", "--lines", "IoT Platform,Smart Sensors", "--industry",
    "Manufacturing", "--size", "50", "--customer-type", "smb", "--must-have",
    "IoT Platform License", "--discount", "8%",
)  # fmt: skip


def test_cli_in_english(monkeypatch, capsys):
    code, out, _ = _run(monkeypatch, capsys, *ARGS, "--lang", "en")
    assert code == 0
    for text in (
        "Within budget",
        "Recommended",
        "Full coverage",
        "IoT Platform License",
        "Unit price (¥)",
        "VAT 13%",
        "needs approval by the manager",
        "Payment terms:",
    ):
        assert text in out
    assert "P-IOT" not in out and "None" not in out and not re.search(r"\bnan\b", out, re.I)


def test_cli_in_chinese_and_json(monkeypatch, capsys, tmp_path):
    code, out, _ = _run(monkeypatch, capsys, *ARGS, "--lang", "zh-CN", "--save", str(tmp_path))
    assert code == 0
    shown = ("预算内方案", "推荐方案", "工业物联网平台许可", "单价（元）", "增值税 13%")
    for text in (*shown, "需经理审批"):
        assert text in out
    assert "P-IOT" not in out and "None" not in out
    assert list(tmp_path.glob("proposal-NEW-*.csv"))
    code, out, _ = _run(monkeypatch, capsys, *ARGS, "--json", "--option", "within")
    doc = json.loads(out)
    within = doc["options"][0]
    assert doc["chosen"] == "within_budget" and within["total"] <= 800000
    assert round(within["subtotal"] + within["vat"], 2) == within["total"]


def test_cli_bad_needs_is_a_message(monkeypatch, capsys):
    code, _, err = _run(monkeypatch, capsys, "--budget", "-5", "--lang", "zh-CN")
    assert code == 2 and "预算必须大于零" in err and "Traceback" not in err
    code, _, err = _run(monkeypatch, capsys, "--products", "Vibration Sensr Kit", "--lang", "en")
    assert code == 2 and "did you mean 'Vibration Sensor Kit'?" in err
