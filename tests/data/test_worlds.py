"""Independent CRM worlds (simlib.data.worlds): determinism, the export's exact shape
and blanks, and each mechanism measurably present in the truth and visible (or hidden)
in the export. Small worlds, so the file runs in a few seconds.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from simlib.data.worlds import EXPORT_COLUMNS, WorldSpec, generate_world, open_at, write_export

SMALL = WorldSpec(
    seed=7,
    n_agents=14,
    n_managers=4,
    n_accounts=40,
    start=pd.Timestamp("2019-01-01").date(),
    export_date=pd.Timestamp("2020-12-31").date(),
)
EXPORT = pd.Timestamp(SMALL.export_date)


@pytest.fixture(scope="module")
def world():
    return generate_world(SMALL)


@pytest.fixture(scope="module")
def folder(world, tmp_path_factory):
    return write_export(world, tmp_path_factory.mktemp("world"))


@pytest.fixture(scope="module")
def csv(folder):
    """The export as the text a loader reads (blanks stay empty strings)."""
    return {
        name: pd.read_csv(folder / f"{name}.csv", dtype=str, keep_default_na=False)
        for name in EXPORT_COLUMNS
    }


@pytest.fixture(scope="module")
def deals(world):
    return world.truth["deals"]


def _won_by_quarter(w) -> pd.Series:
    d = w.truth["deals"]
    won = d[(d["outcome"] == "won") & (d["close_date"] <= pd.Timestamp(w.spec.export_date))]
    return won.groupby(won["close_date"].dt.to_period("Q"))["close_value"].sum()


# --------------------------------------------------------------------------- determinism


def _bytes(folder) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*.*")}


def test_same_seed_gives_identical_files(folder, tmp_path):
    again = write_export(generate_world(SMALL), tmp_path / "again")
    first, second = _bytes(folder), _bytes(again)
    assert sorted(first) == sorted(second)
    for name in first:
        assert first[name] == second[name], f"{name} differs between two runs"


def test_other_seed_gives_another_world(world):
    other = generate_world(SMALL, seed=SMALL.seed + 1)
    a, b = world.export["sales_pipeline"], other.export["sales_pipeline"]
    assert len(a) != len(b) or not a.equals(b)
    assert set(world.export["sales_teams"]["sales_agent"]) != set(
        other.export["sales_teams"]["sales_agent"]
    )


# --------------------------------------------------------------------------- the export


def test_export_has_exactly_the_files_and_columns(folder, csv):
    assert sorted(p.name for p in folder.glob("*.csv")) == sorted(
        f"{n}.csv" for n in EXPORT_COLUMNS
    )
    for name, cols in EXPORT_COLUMNS.items():
        assert tuple(csv[name].columns) == cols, name
    truth = sorted(p.name for p in (folder / "truth").iterdir())
    assert truth == ["agents.csv", "deals.csv", "stage_history.csv", "world.json"]
    hist = pd.read_csv(folder / "truth" / "stage_history.csv")
    assert list(hist.columns) == ["opportunity_id", "date", "stage", "amount"]
    params = json.loads((folder / "truth" / "world.json").read_text())
    for key in ("seed", "shock_quarter", "shock_size", "load_in_months", "rot_share"):
        assert key in params


def test_blanks_by_stage(csv):
    sp = csv["sales_pipeline"]
    assert set(sp["deal_stage"]) == {"Prospecting", "Engaging", "Won", "Lost"}
    pros = sp[sp["deal_stage"] == "Prospecting"]
    eng = sp[sp["deal_stage"] == "Engaging"]
    won = sp[sp["deal_stage"] == "Won"]
    lost = sp[sp["deal_stage"] == "Lost"]
    # Prospecting: no engage (created) date, no close date, no amount; often no account.
    assert (pros[["engage_date", "close_date", "close_value"]] == "").all().all()
    assert (pros["account"] == "").mean() > 0.4
    # Engaging: an engage date, no close date, no amount.
    assert (eng["engage_date"] != "").all()
    assert (eng[["close_date", "close_value"]] == "").all().all()
    # Closed: both dates and an account; lost deals carry 0, won ones a positive value.
    for c in (won, lost):
        assert (c[["engage_date", "close_date", "account"]] != "").all().all()
    assert (lost["close_value"] == "0").all()
    assert (won["close_value"].astype(float) > 0).all()
    assert (sp["opportunity_id"] != "").all() and sp["opportunity_id"].is_unique
    assert (sp[["sales_agent", "product"]] != "").all().all()


def test_dates_and_amounts_are_written_plainly(csv):
    sp = csv["sales_pipeline"]
    iso = re.compile(r"^\d{4}-\d{2}-\d{2}$")
    amount = re.compile(r"^\d+(\.\d{1,2})?$")
    for c in ("engage_date", "close_date"):
        v = sp[c][sp[c] != ""]
        assert v.map(lambda s: bool(iso.match(s))).all(), c
    v = sp["close_value"][sp["close_value"] != ""]
    assert v.map(lambda s: bool(amount.match(s))).all()
    assert csv["products"]["sales_price"].map(lambda s: bool(amount.match(s))).all()
    assert (pd.to_datetime(sp["close_date"][sp["close_date"] != ""]) <= EXPORT).all()


def test_reference_tables(csv, world):
    sp, teams, prods, accts = (
        csv["sales_pipeline"],
        csv["sales_teams"],
        csv["products"],
        csv["accounts"],
    )
    assert set(sp["sales_agent"]) <= set(teams["sales_agent"])
    assert set(sp["product"]) <= set(prods["product"])
    assert set(sp["account"]) - {""} <= set(accts["account"])
    assert teams["sales_agent"].is_unique and accts["account"].is_unique
    assert 6 <= len(prods) <= 7 and prods["series"].nunique() == 3
    price = prods["sales_price"].astype(float)
    assert price.min() < 100 and price.max() > 20_000
    # No hire or leave dates in the export; leavers are still listed.
    agents = world.truth["agents"]
    left = agents.loc[agents["leave_date"].notna(), "sales_agent"]
    assert len(left) and set(left) <= set(teams["sales_agent"])
    assert teams["manager"].nunique() == SMALL.n_managers
    assert teams["regional_office"].nunique() == SMALL.n_offices


def test_export_is_the_snapshot_of_the_truth(world, deals):
    sp = world.export["sales_pipeline"].set_index("opportunity_id")
    t = deals.set_index("opportunity_id").loc[sp.index]
    assert (t["created_date"] <= EXPORT).all() and t["recorded"].all()
    assert (sp["sales_agent"] == t["owner_at_export"]).all()
    assert (sp["deal_stage"] == t["export_stage"]).all()
    won = sp["deal_stage"] == "Won"
    assert np.allclose(sp.loc[won, "close_value"], t.loc[won, "close_value"])
    closed = sp["deal_stage"].isin(["Won", "Lost"])
    assert (sp.loc[closed, "close_date"] == t.loc[closed, "close_date"]).all()
    assert (sp.loc[closed, "close_date"] >= sp.loc[closed, "engage_date"]).all()
    # Deals open on the export date keep their future in the truth only.
    open_ = ~closed
    future = t.loc[open_, "close_date"].dropna()
    assert len(future) and (future > EXPORT).all()
    # The truth's stage history stops at the export date and walks forward.
    h = world.truth["stage_history"]
    assert (h["date"] <= EXPORT).all()
    first = h.groupby("opportunity_id")["stage"].first()
    assert (first == "Prospecting").all()


# --------------------------------------------------------------------------- 1. rotting


def test_rotting_share_varies_by_agent_and_product(world, deals):
    share = deals["rotting"].mean()
    assert 0.12 <= share <= 0.45
    by_agent = deals.groupby("original_owner")["rotting"].mean()
    by_product = deals.groupby("product")["rotting"].mean()
    assert by_agent.max() - by_agent.min() > 0.08
    assert by_product.max() > by_product.min() + 0.03
    assert 0.20 <= world.params["rot_share"] <= 0.35


def test_zombies_stay_open_and_sweeps_close_them_late(world, deals, csv):
    zombies = deals[deals["outcome"] == "rotting"]
    assert len(zombies) > 50 and zombies["close_date"].isna().all()
    assert (zombies["export_stage"].isin(["Prospecting", "Engaging"])).all()
    swept = deals[deals["closed_by"] == "sweep"]
    assert len(swept) > 20 and (swept["outcome"] == "lost").all()
    age = (swept["close_date"] - swept["created_date"]).dt.days
    assert (age >= SMALL.sweep_min_age_days).all()
    # Swept straight from Prospecting (no Engaging row in the true history): the
    # export shows the created date as the engage date.
    h = world.truth["stage_history"]
    engaged = set(h.loc[h["stage"] == "Engaging", "opportunity_id"])
    never = swept[~swept["opportunity_id"].isin(engaged)]
    assert len(never) > 0
    assert (never["engage_date"] == never["created_date"]).all()
    # Visible in the export: Engaging rows engaged more than a year before the export.
    eng = csv["sales_pipeline"].query("deal_stage == 'Engaging'")
    old = (EXPORT - pd.to_datetime(eng["engage_date"])).dt.days > 365
    assert old.sum() > 10


def test_win_chance_falls_with_age_beyond_the_cycle(world, deals):
    med = {p.name: p.cycle_median_days for p in SMALL.products}
    rates = []
    for T in pd.to_datetime(["2019-09-30", "2020-03-31", "2020-06-30"]):
        o = deals[
            (deals["engage_date"] <= T) & (deals["close_date"].isna() | (deals["close_date"] > T))
        ]
        rel = (T - o["engage_date"]).dt.days / o["product"].map(med)
        won = o["outcome"] == "won"
        rates.append(
            (won[rel < 1].mean(), won[(rel >= 2) & (rel < 4)].mean(), won[rel >= 4].mean())
        )
    young, older, oldest = np.mean(rates, axis=0)
    assert young > 0.25 and older < 0.6 * young and oldest < 0.25 * young


def test_age_penalty_without_rot(deals):
    w = generate_world(SMALL, rot=False)
    d = w.truth["deals"]
    assert not d["rotting"].any() and not (d["closed_by"] == "sweep").any()
    dec = d[d["closed_by"] == "decision"]
    med = dec["product"].map({p.name: p.cycle_median_days for p in SMALL.products})
    rel = (dec["close_date"] - dec["engage_date"]).dt.days / med
    won = dec["outcome"] == "won"
    assert won[rel > 2.5].mean() < won[rel < 1].mean() - 0.12


# --------------------------------------------------------------------------- 2. load-in


def test_crm_loaded_over_its_first_months(world, deals, csv):
    shares = world.params["load_in_shares"]
    assert (
        3 <= world.params["load_in_months"] <= 5 and len(shares) == world.params["load_in_months"]
    )
    month = deals["created_date"].dt.to_period("M")
    rec = deals.groupby(month)["recorded"].mean()
    for k, s in enumerate(shares):
        assert abs(rec.iloc[k] - s) < 0.12, (k, rec.iloc[k], s)
    assert rec.iloc[len(shares) :].eq(1.0).all()
    # Visible in the export: few deals engaged in the first month against later months.
    eng = pd.to_datetime(csv["sales_pipeline"]["engage_date"].replace("", None))
    per = eng.dt.to_period("M").value_counts().sort_index()
    assert per.iloc[0] < 0.2 * per.iloc[6:12].mean()
    # Switched off, everything is recorded and the rest of the world is the same.
    off = generate_world(SMALL, load_in=False)
    assert off.truth["deals"]["recorded"].all()
    assert off.truth["deals"]["created_date"].equals(deals["created_date"])


# --------------------------------------------------------------------------- 3. shock


def test_market_shock_moves_one_quarter_through_win_chances(world):
    q = pd.Period(world.params["shock_quarter"], "Q")
    mid = pd.Timestamp(SMALL.start) + (EXPORT - pd.Timestamp(SMALL.start)) / 2
    assert q.start_time >= mid.normalize() and q.end_time <= EXPORT + pd.Timedelta(days=1)
    size = world.params["shock_size"]
    assert abs(size) == pytest.approx(0.3)
    off = generate_world(SMALL, shock=False)
    on_q, off_q = _won_by_quarter(world), _won_by_quarter(off)
    assert on_q.drop(q).equals(off_q.drop(q))  # nothing else moves
    ratio = on_q[q] / off_q[q]
    assert abs(ratio - (1 + size)) < 0.1, ratio
    assert world.params["shock_bookings_without"] == pytest.approx(off_q[q])


def test_shock_sign_and_quarter_vary_by_seed():
    seen = {(generate_world(SMALL, seed=s, n_agents=4).params["shock_size"] > 0) for s in range(8)}
    assert seen == {True, False}


# --------------------------------------------------------------------------- 4. turnover


def test_leavers_and_new_hires(world, deals):
    agents = world.truth["agents"]
    left = agents[agents["leave_date"].notna()]
    assert 1 <= len(left) <= round(0.15 * SMALL.n_agents) + 1
    assert world.params["leavers"] == len(left)
    start = pd.Timestamp(SMALL.start)
    for a in left.itertuples():
        # A leaver owns no deal created after leaving, and none open on the export date.
        mine = deals[deals["original_owner"] == a.sales_agent]
        assert (mine["created_date"] < a.leave_date).all()
        held = deals[deals["owner_at_export"] == a.sales_agent]
        assert (held["export_stage"].isin(["Won", "Lost"])).all()
        assert (held["close_date"] <= a.leave_date + pd.Timedelta(days=10)).all()
        # Leaving mid-quarter, at a random date (not a quarter boundary).
        assert a.leave_date > start
    moved = deals[deals["original_owner"] != deals["owner_at_export"]]
    assert len(moved) > 0
    mgr = agents.set_index("sales_agent")["manager"]
    assert (moved["original_owner"].map(mgr) == moved["owner_at_export"].map(mgr)).mean() > 0.9
    lost = deals[deals["closed_by"] == "leaver"]
    assert len(lost) > 0 and (lost["outcome"] == "lost").all()


def test_new_hires_ramp_up(world, deals):
    agents = world.truth["agents"]
    new = agents[agents["hire_date"] > pd.Timestamp(SMALL.start)]
    assert len(new) >= 2
    early, late = [], []
    for a in new.itertuples():
        mine = deals[deals["original_owner"] == a.sales_agent]
        tenure = (mine["created_date"] - a.hire_date).dt.days
        span_late = (EXPORT - a.hire_date).days - SMALL.ramp_days
        if span_late < 60:
            continue
        early.append((tenure < 30).sum() / 30)
        late.append((tenure >= SMALL.ramp_days).sum() / span_late)
    assert early and np.mean(early) < 0.7 * np.mean(late)


def test_without_turnover_nobody_leaves(world):
    off = generate_world(SMALL, turnover=False)
    a = off.truth["agents"]
    assert a["leave_date"].isna().all() and len(a) == SMALL.n_agents
    d = off.truth["deals"]
    assert (d["original_owner"] == d["owner_at_export"]).all()


# --------------------------------------------------------------------------- 5. values


def test_won_values_differ_from_the_list_price(deals, world):
    won = deals[deals["outcome"] == "won"]
    r = np.log(won["close_value"] / won["list_price"])
    assert -0.12 < r.mean() < 0.0 and 0.18 < r.std() < 0.32
    assert (deals["open_amount"] == deals["list_price"]).all()
    h = world.truth["stage_history"]
    open_rows = h[h["stage"].isin(["Prospecting", "Engaging"])]
    price = deals.set_index("opportunity_id")["list_price"]
    assert (
        open_rows["amount"].to_numpy() == price.loc[open_rows["opportunity_id"]].to_numpy()
    ).all()
    off = generate_world(SMALL, value_change=False).truth["deals"]
    w = off[off["outcome"] == "won"]
    assert (w["close_value"] == w["list_price"]).all()


# --------------------------------------------------------------------------- 6. seasons


def _season_figures(d: pd.DataFrame) -> dict[str, float]:
    created = d["created_date"]
    per_q = created.dt.quarter.value_counts()
    won = d[(d["outcome"] == "won") & (d["close_date"] <= EXPORT)]
    closes = won["close_date"].dt.month.value_counts()
    fest = (created >= "2020-01-24") & (created <= "2020-01-31")
    per_day = len(d[created.dt.year == 2020]) / 366
    return dict(
        q4_over_q1=per_q[4] / per_q[1],
        festival=fest.sum() / 8 / per_day,
        dec_over_jan=closes[12] / closes[1],
    )


def test_seasonality_of_creation_and_closes(deals):
    on = _season_figures(deals)
    off = _season_figures(generate_world(SMALL, seasonality=False).truth["deals"])
    assert on["q4_over_q1"] > 1.3 and 0.8 < off["q4_over_q1"] < 1.2
    assert on["festival"] < 0.4 and off["festival"] > 0.7
    assert on["dec_over_jan"] > 1.8 and off["dec_over_jan"] < on["dec_over_jan"] / 1.4


def test_agents_and_products_differ(deals):
    dec = deals[deals["closed_by"] == "decision"]
    rate = dec.groupby("original_owner")["outcome"].apply(lambda s: (s == "won").mean())
    assert rate.max() - rate.min() > 0.15
    mix = pd.crosstab(deals["original_owner"], deals["product"], normalize="index")
    assert (mix.max() - mix.min()).max() > 0.1
    cycle = (dec["close_date"] - dec["engage_date"]).dt.days.groupby(dec["product"]).median()
    assert cycle.min() < 45 and cycle.max() > 90
    p95 = (dec["close_date"] - dec["engage_date"]).dt.days.quantile(0.95)
    assert p95 > 2.5 * cycle.median()  # a long right tail


# --------------------------------------------------------------------------- the view at T


def test_open_at_is_the_truth_of_a_point_in_time_view(world, deals):
    T = pd.Timestamp("2020-06-30")
    o = open_at(world, T)
    assert o["opportunity_id"].is_unique and len(o) > 100
    assert (o["created_date"] <= T).all()
    assert (o["close_date"].isna() | (o["close_date"] > T)).all()
    assert set(o["stage"]) == {"Prospecting", "Engaging"}
    # While open, a deal shows its list price, never its final value.
    price = {p.name: p.price for p in SMALL.products}
    assert (o["amount"] == o["product"].map(price)).all()
    # Owners that day: a leaver still owns their open deals before leaving, never after.
    agents = world.truth["agents"].set_index("sales_agent")
    left = agents["leave_date"].reindex(o["owner"]).to_numpy()
    assert not (pd.Series(left) <= T).any()
    # Reassignments show only from their day on.
    moved = deals[deals["handed_over_on"].notna()]
    assert len(moved) and (moved["original_owner"] != moved["owner_at_export"]).all()
    before = open_at(world, moved["handed_over_on"].min() - pd.Timedelta(days=1))
    first = moved.loc[moved["handed_over_on"].idxmin()]
    row = before[before["opportunity_id"] == first["opportunity_id"]]
    assert (row["owner"] == first["original_owner"]).all()


# --------------------------------------------------------------------------- the loader


def test_the_export_loads_through_the_crm_export_mapping(world, folder, tmp_path):
    from pathlib import Path

    from simlib.data.io import load_data

    mapping = Path(__file__).resolve().parents[2] / "params" / "mappings" / "crm_export.yaml"
    if not mapping.exists():
        pytest.skip("params/mappings/crm_export.yaml not written yet")
    export = write_export(world, tmp_path / "export", truth=False)
    data = load_data(export, mapping, strict=False, as_of=SMALL.export_date)
    assert not data.report.errors, data.report.format(limit=5)
    sp = world.export["sales_pipeline"]
    assert len(data.opportunities) == len(sp)
    assert len(data.reps) == len(world.export["sales_teams"])
    levels = data.org["level"].value_counts()
    assert levels["region"] == SMALL.n_offices and levels["team"] == SMALL.n_managers
    open_ = sp["deal_stage"].isin(["Prospecting", "Engaging"]).sum()
    assert int(data.opportunities["amount_estimated"].sum()) == open_
