"""The embedded demo company: determinism, schema conformance, integrity, realism.

The realism checks use the figures the demo is meant to show (an East China team
selling on the order of 50M CNY a quarter, a star consultant around 8M, a heavy Q4,
the Spring Festival dip, slippage, new hires, struggling consultants); each could
fail if the generator drifts.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from simlib.data.io import validate_tables
from simlib.data.sample import DEMO_AS_OF, DEMO_SEED, generate_demo
from simlib.data.schema import OPEN_STAGES, STAGES, TABLES

AS_OF = pd.Timestamp(DEMO_AS_OF)
CNY = ("2024-02-10", "2025-01-29", "2026-02-17")
FULL_QUARTERS = pd.period_range("2024Q1", "2026Q3", freq="Q")


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    return generate_demo()


@pytest.fixture(scope="module")
def won(tables) -> pd.DataFrame:
    opp = tables["opportunities"]
    reps = tables["reps"][["rep_id", "team_id"]]
    w = opp[opp["stage"] == "won"].merge(reps, left_on="owner_id", right_on="rep_id")
    return w.assign(quarter=w["close_date"].dt.to_period("Q"), year=w["close_date"].dt.year)


# --------------------------------------------------------------------------- determinism


def _csv(tables: dict[str, pd.DataFrame]) -> dict[str, bytes]:
    return {name: df.to_csv(index=False).encode() for name, df in tables.items()}


def test_same_seed_gives_identical_csv_bytes(tables):
    again = generate_demo(seed=DEMO_SEED, as_of=DEMO_AS_OF)
    first, second = _csv(tables), _csv(again)
    for name in TABLES:
        assert first[name] == second[name], f"table {name} differs between two runs"


def test_different_seed_gives_different_data(tables):
    other = generate_demo(seed=DEMO_SEED + 1)
    # The org chart and product catalogue are fixed; everything simulated differs.
    for name in (
        "reps",
        "customers",
        "opportunities",
        "stage_history",
        "activities",
        "leads",
        "invoices",
        "payments",
        "nps",
        "targets",
    ):
        assert not tables[name].equals(other[name]), f"table {name} did not change with the seed"


def test_bad_arguments_are_refused():
    with pytest.raises(TypeError, match="`seed` parameter of `generate_demo` must be an int"):
        generate_demo(seed="42")
    with pytest.raises(ValueError, match="`seed` parameter of `generate_demo` must be >= 0"):
        generate_demo(seed=-1)
    with pytest.raises(ValueError, match="`as_of` parameter of `generate_demo` must be between"):
        generate_demo(as_of=dt.date(2040, 1, 1))
    with pytest.raises(TypeError, match="`as_of` parameter of `generate_demo` must be a datetime"):
        generate_demo(as_of="2026-11-20")


# --------------------------------------------------------------------------- schema


def test_every_table_has_exactly_the_schema_columns(tables):
    assert list(tables) == list(TABLES)
    for name, table in TABLES.items():
        assert list(tables[name].columns) == table.column_names, name
        if name != "reversals":  # the demo company has had no cancelled deals
            assert len(tables[name]) > 0, name


def test_dtypes_follow_the_column_kinds(tables):
    text = pd.Series(["x"]).dtype
    for name, table in TABLES.items():
        df = tables[name]
        for col in table.columns:
            s = df[col.name]
            if col.kind == "date":
                assert s.dtype == "datetime64[ns]", (name, col.name, s.dtype)
                assert (s.dropna() == s.dropna().dt.normalize()).all(), (name, col.name)
            elif col.kind in ("money", "number"):
                assert s.dtype == "float64", (name, col.name, s.dtype)
            elif col.kind == "int":
                assert s.dtype == "int64", (name, col.name, s.dtype)
            elif col.kind == "bool":
                assert s.dtype == "boolean", (name, col.name, s.dtype)
            else:
                assert s.dtype == text, (name, col.name, s.dtype)


def test_required_columns_are_filled_and_enums_allowed(tables):
    for name, table in TABLES.items():
        df = tables[name]
        for col in table.columns:
            if col.required:
                assert df[col.name].notna().all(), (name, col.name)
            if col.allowed is not None:
                assert df[col.name].dropna().isin(col.allowed).all(), (name, col.name)


def test_money_is_in_cents_and_never_negative(tables):
    for name, table in TABLES.items():
        for col in table.columns:
            if col.kind == "money":
                s = tables[name][col.name].dropna()
                assert (s >= 0).all(), (name, col.name)
                assert np.allclose(s, s.round(2), atol=1e-9), (name, col.name)


def test_keys_are_unique_and_rows_sorted_by_key(tables):
    for name, table in TABLES.items():
        df = tables[name]
        key = list(table.key)
        assert not df.duplicated(key).any(), name
        order = df.sort_values(key, kind="mergesort").index
        assert (order == np.arange(len(df))).all(), f"{name} is not sorted by {key}"


def test_foreign_keys_resolve(tables):
    def within(child, col, parent, ref):
        values = tables[child][col].dropna()
        unknown = values[~values.isin(tables[parent][ref])]
        assert unknown.empty, f"{child}.{col} has unknown values, e.g. {unknown.head(3).tolist()}"

    for name, table in TABLES.items():
        for fk in table.foreign_keys:
            within(name, fk.column, fk.table, fk.ref)
    within("org", "parent_id", "org", "node_id")
    within("customers", "region_id", "org", "node_id")
    within("activities", "customer_id", "customers", "customer_id")
    within("activities", "opportunity_id", "opportunities", "opportunity_id")
    within("activities", "support_region_id", "org", "node_id")
    within("leads", "opportunity_id", "opportunities", "opportunity_id")
    within("invoices", "customer_id", "customers", "customer_id")
    within("invoices", "opportunity_id", "opportunities", "opportunity_id")
    within("nps", "customer_id", "customers", "customer_id")
    owners = set(tables["reps"]["rep_id"]) | set(tables["org"]["node_id"])
    assert set(tables["targets"]["owner_id"]) <= owners


def test_passes_the_loader_validation(tables):
    report = validate_tables(tables)
    assert report.errors == [], [str(e) for e in report.errors[:5]]


# --------------------------------------------------------------------------- integrity


# Columns that look ahead by nature; every other date is an event that happened.
FORWARD_LOOKING = {
    ("opportunities", "expected_close_date"),
    ("stage_history", "expected_close_date"),
    ("customers", "renewal_date"),
    ("leads", "next_followup_date"),
    ("invoices", "due_date"),
}


def test_no_event_is_dated_after_as_of(tables):
    for name, table in TABLES.items():
        for col in table.columns:
            if col.kind == "date" and (name, col.name) not in FORWARD_LOOKING:
                latest = tables[name][col.name].max()
                assert pd.isna(latest) or latest <= AS_OF, (name, col.name, latest)


def test_opportunity_dates_and_stages_agree(tables):
    opp = tables["opportunities"]
    closed = opp["stage"].isin(["won", "lost"])
    assert opp.loc[closed, "close_date"].notna().all()
    assert opp.loc[~closed, "close_date"].isna().all()
    assert (opp.loc[closed, "close_date"] >= opp.loc[closed, "created_date"]).all()
    assert (opp["expected_close_date"] >= opp["created_date"]).all()
    default = {
        "qualification": 0.1,
        "discovery": 0.25,
        "proposal": 0.5,
        "negotiation": 0.75,
        "won": 1.0,
        "lost": 0.0,
    }
    assert (opp["probability"] == opp["stage"].map(default)).all()
    # Opportunities are those created in the history or still open when it began.
    start = pd.Timestamp(DEMO_AS_OF.year - 2, 1, 1)
    early = opp["created_date"] < start
    assert (opp.loc[early, "close_date"].isna() | (opp.loc[early, "close_date"] >= start)).all()


def test_stage_history_tells_each_opportunity_story(tables):
    opp = tables["opportunities"].set_index("opportunity_id")
    sh = tables["stage_history"]
    assert sh["changed_date"].max() <= AS_OF
    first = sh.groupby("opportunity_id").head(1).set_index("opportunity_id")
    last = sh.groupby("opportunity_id").tail(1).set_index("opportunity_id")
    assert set(first.index) == set(opp.index)
    assert (first["stage"] == "qualification").all()
    assert (first["changed_date"] == opp.loc[first.index, "created_date"]).all()
    mine = opp.loc[last.index]
    assert (last["stage"] == mine["stage"]).all()
    assert np.allclose(last["amount"], mine["amount"])
    assert (last["expected_close_date"] == mine["expected_close_date"]).all()
    closed = mine["stage"].isin(["won", "lost"])
    assert (last.loc[closed, "changed_date"] == mine.loc[closed, "close_date"]).all()
    # Stages only move forward; a same-stage row is a change of date or amount.
    rank = sh["stage"].map({s: i for i, s in enumerate(STAGES)})
    step = rank.groupby(sh["opportunity_id"]).diff().dropna()
    assert (step >= 0).all()
    # Each push moves the expected close date later.
    same = sh["stage"].eq(sh.groupby("opportunity_id")["stage"].shift())
    same &= sh["opportunity_id"].eq(sh["opportunity_id"].shift())
    moved = sh["expected_close_date"].diff()[same]
    assert (moved.dt.days >= 0).all()
    # Every row records a change.
    prev = sh.groupby("opportunity_id")[["stage", "amount", "expected_close_date"]].shift()
    unchanged = (
        (sh["stage"] == prev["stage"])
        & (sh["amount"] == prev["amount"])
        & (sh["expected_close_date"] == prev["expected_close_date"])
    )
    assert not unchanged.any()


def test_invoices_and_payments_never_exceed_what_is_owed(tables):
    opp = tables["opportunities"].set_index("opportunity_id")
    inv = tables["invoices"]
    billed = inv.groupby("opportunity_id")["amount"].sum()
    assert (opp.loc[billed.index, "stage"] == "won").all()
    assert (billed <= opp.loc[billed.index, "amount"] + 0.005).all()
    assert (inv["issue_date"] >= opp.loc[inv["opportunity_id"], "close_date"].to_numpy()).all()
    assert (inv["due_date"] > inv["issue_date"]).all()
    pay = tables["payments"].merge(
        inv[["invoice_id", "amount", "issue_date"]], on="invoice_id", suffixes=("", "_invoiced")
    )
    paid = pay.groupby("invoice_id")[["amount", "amount_invoiced"]].agg(
        {"amount": "sum", "amount_invoiced": "first"}
    )
    assert (paid["amount"] <= paid["amount_invoiced"] + 0.005).all()
    assert (pay["date"] > pay["issue_date"]).all()


def test_scores_ratings_and_support_are_in_range(tables):
    nps = tables["nps"]["score"]
    assert nps.between(0, 10).all()
    act = tables["activities"]
    visits = act[act["activity_type"] == "visit"]
    assert visits["rating"].between(1, 5).all()
    assert ((visits["rating"] * 2) % 1 == 0).all()  # a half-point scale
    assert act.loc[act["activity_type"] != "visit", "rating"].isna().all()
    proposals = act[act["activity_type"] == "proposal"]
    assert proposals["opportunity_id"].notna().all()
    assert proposals["accepted"].notna().mean() > 0.9
    assert act.loc[act["activity_type"] != "proposal", "accepted"].isna().all()
    support = (
        act[act["activity_type"] == "support"]
        .merge(tables["reps"][["rep_id", "team_id"]], on="rep_id")
        .merge(tables["org"][["node_id", "parent_id"]], left_on="team_id", right_on="node_id")
    )
    assert (support["support_region_id"] != support["parent_id"]).all()


def test_reps_names_and_roles(tables):
    reps = tables["reps"]
    assert reps["name"].is_unique and reps["name_zh"].is_unique and reps["email"].is_unique
    roles = reps["role"].value_counts()
    assert roles["director"] == 1 and roles["manager"] == 9
    assert 55 <= roles["rep"] <= 65
    active = reps[(reps["role"] == "rep") & reps["leave_date"].isna()]
    per_team = active.groupby("team_id").size()
    assert per_team.between(5, 8).all()
    east = per_team[["T-SH", "T-HZ", "T-NJ"]]
    assert east.min() >= per_team.drop(east.index).max()
    assert (reps.loc[reps["role"] == "director", "team_id"] == "CO").all()


# --------------------------------------------------------------------------- realism


def test_east_china_teams_sell_tens_of_millions_a_quarter(won):
    east = won[won["team_id"].isin(["T-SH", "T-HZ", "T-NJ"])]
    per_q = (
        east.groupby(["team_id", "quarter"])["amount"]
        .sum()
        .unstack()
        .reindex(columns=FULL_QUARTERS)
    )
    assert per_q.notna().all().all()
    assert per_q.min().min() >= 25e6 and per_q.max().max() <= 80e6, (per_q / 1e6).round(1)
    assert 35e6 <= per_q.mean().mean() <= 65e6


def test_the_top_rep_sells_about_eight_million_a_quarter(tables, won):
    full = won[won["quarter"].isin(FULL_QUARTERS)]
    per_rep = full.groupby(["owner_id", "quarter"])["amount"].sum().unstack(fill_value=0)
    ranking = per_rep.sum(axis=1).sort_values(ascending=False)
    top = ranking.index[0]
    assert 5e6 <= per_rep.loc[top].max() <= 12e6
    assert 6e6 <= per_rep.loc[top].mean() <= 10e6
    # Consultant Zhang of East China is one of the very best, at about 8M a quarter.
    reps = tables["reps"].set_index("rep_id")
    east = reps["team_id"].isin(["T-SH", "T-HZ", "T-NJ"])
    zhang = reps[reps["name"].str.startswith("Zhang ") & east]
    best_zhang = [r for r in ranking.index[:5] if r in zhang.index]
    assert best_zhang
    assert 6e6 <= per_rep.loc[best_zhang[0]].mean() <= 10e6


def test_company_revenue_and_growth(won):
    annual = won.groupby("year")["amount"].sum()
    for year in (2024, 2025):
        assert 1.0e9 <= annual[year] <= 2.0e9, annual
    growth = annual[2025] / annual[2024] - 1
    assert 0.05 <= growth <= 0.2, growth
    # The current year is on course to grow too (up to as_of, it is ~89% of a year).
    assert annual[2026] > 0.85 * annual[2025]


def test_q4_is_the_heaviest_quarter(won):
    per_q = won.groupby("quarter")["amount"].sum()
    for year in (2024, 2025):
        q1, q4 = per_q[pd.Period(f"{year}Q1")], per_q[pd.Period(f"{year}Q4")]
        assert 1.2 <= q4 / q1 <= 1.8, (year, q4 / q1)


def test_spring_festival_dip(tables):
    opp = tables["opportunities"]
    closes = opp["close_date"].dropna()
    created = opp["created_date"]
    for day in CNY:
        c = pd.Timestamp(day)
        for dates in (closes, created):
            holiday = dates.between(c - pd.Timedelta(days=3), c + pd.Timedelta(days=8)).sum() / 12
            before = dates.between(c - pd.Timedelta(days=38), c - pd.Timedelta(days=4)).sum()
            after = dates.between(c + pd.Timedelta(days=14), c + pd.Timedelta(days=48)).sum()
            around = (before + after) / 70
            assert holiday < 0.45 * around, (day, holiday, around)


def test_win_rate_and_slippage(tables):
    opp = tables["opportunities"]
    closed = opp[opp["stage"].isin(["won", "lost"])]
    assert 0.25 <= (opp["stage"] == "won").mean() <= 0.35
    assert 0.25 <= (closed["stage"] == "won").mean() <= 0.4
    sh = tables["stage_history"]
    dates = sh.groupby("opportunity_id")["expected_close_date"].nunique()
    slipped = (dates > 1).mean()
    assert 0.2 <= slipped <= 0.5, slipped
    # A deal that slipped once is likelier to slip again.
    assert (dates > 2).sum() / (dates > 1).sum() > slipped


def test_open_pipeline_at_every_stage(tables):
    opp = tables["opportunities"]
    open_ = opp[opp["stage"].isin(OPEN_STAGES)]
    counts = open_["stage"].value_counts()
    assert (counts.reindex(list(OPEN_STAGES)) >= 200).all(), counts
    ahead = (open_["expected_close_date"] - AS_OF).dt.days
    assert (ahead < 0).mean() > 0.03  # some already overdue
    assert ahead.between(0, 183).mean() > 0.75  # most land within six months


def test_sources_convert_differently(tables):
    leads = tables["leads"]
    qualified = leads[leads["qualified"].astype(bool)]
    by_source = (qualified["status"] == "converted").groupby(qualified["source"]).mean()
    assert by_source.max() - by_source.min() > 0.15
    # Each team gets on the order of 40-90 qualified leads a month.
    q = qualified.assign(month=qualified["created_date"].dt.to_period("M")).merge(
        tables["reps"][["rep_id", "team_id"]], on="rep_id"
    )
    per_team_month = q.groupby(["team_id", "month"]).size()
    assert per_team_month.groupby(level=0).median().between(35, 90).all(), per_team_month


def test_new_hires_ramp_and_leavers(tables, won):
    reps = tables["reps"][tables["reps"]["role"] == "rep"]
    hires = reps[reps["hire_date"] >= pd.Timestamp("2025-01-01")]
    assert 4 <= len(hires) <= 6
    assert hires["hire_date"].dt.month.between(5, 9).all()
    assert set(hires["hire_date"].dt.year) == {2025, 2026}
    assert 1 <= reps["leave_date"].notna().sum() <= 2
    assert (reps["leave_date"].dropna().dt.year == 2025).all()
    # Ramp: a 2025 hire opens fewer deals of their own in their first three months
    # than in a quarter of 2026 (a successor also inherits the leaver's pipeline,
    # so bookings alone would not show it), and their quota ramps up too.
    opp, tg = tables["opportunities"], tables["targets"]
    for rid, hired in hires.loc[hires["hire_date"].dt.year == 2025, ["rep_id", "hire_date"]].values:
        created = opp.loc[(opp["owner_id"] == rid) & (opp["created_date"] >= hired), "created_date"]
        early = (created < hired + pd.Timedelta(days=91)).sum()
        later = created.between("2026-01-01", "2026-09-30").sum() / 3
        assert early < 0.7 * later, (rid, early, later)
        quota = tg[tg["owner_id"] == rid].set_index("period")["amount"]
        first_q = str(pd.Timestamp(hired).to_period("Q")).replace("Q", "-Q")
        assert quota.get(first_q, 0.0) < 0.5 * quota["2026-Q2"]


def test_quotas_are_believable(tables, won):
    tg = tables["targets"]
    assert set(tg["metric"]) == {"revenue"}
    assert set(tg["period"].str[:4]) == {"2024", "2025", "2026"}
    # Quarters sum to the year exactly; children sum to their parent roughly.
    years = tg[tg["period"].str.len() == 4].set_index(["owner_id", "period"])["amount"]
    quarters = tg[tg["period"].str.len() > 4]
    q_sum = quarters.groupby([quarters["owner_id"], quarters["period"].str[:4]])["amount"].sum()
    assert np.allclose(q_sum, years.loc[q_sum.index], atol=0.005)
    org = tables["org"].set_index("node_id")["parent_id"]
    team_of = tables["reps"].set_index("rep_id")["team_id"]
    for year in ("2024", "2025", "2026"):
        y = tg[tg["period"] == year].set_index("owner_id")["amount"]
        levels = tg[tg["period"] == year].set_index("owner_id")["level"]
        regions = y[levels == "region"]
        assert 1.0 <= regions.sum() / y["CO"] <= 1.1
        teams = y[levels == "team"]
        by_region = teams.groupby(org.loc[teams.index].to_numpy()).sum()
        assert np.allclose(by_region / regions.loc[by_region.index], 1.015, atol=0.03)
        reps = y[levels == "rep"]
        by_team = reps.groupby(team_of.loc[reps.index].to_numpy()).sum()
        assert (by_team / teams.loc[by_team.index]).between(0.95, 1.15).all()
    # Reps attain roughly 70-130% of their 2025 quota.
    quota = tg[(tg["period"] == "2025") & (tg["level"] == "rep")].set_index("owner_id")["amount"]
    sold = won[won["year"] == 2025].groupby("owner_id")["amount"].sum()
    stayed = tables["reps"].set_index("rep_id").loc[quota.index, "leave_date"].isna()
    attainment = (sold.reindex(quota.index).fillna(0) / quota)[stayed.to_numpy()]
    assert 0.85 <= attainment.median() <= 1.05
    assert attainment.quantile(0.1) >= 0.6 and attainment.quantile(0.9) <= 1.4
    assert attainment.std() >= 0.08


def test_collection_rates_differ_by_rep(tables):
    inv = tables["invoices"]
    due = inv[inv["due_date"] <= AS_OF - pd.Timedelta(days=60)]
    paid = tables["payments"].groupby("invoice_id")["amount"].sum()
    rate = (
        due["invoice_id"].map(paid).fillna(0).groupby(due["rep_id"]).sum()
        / due.groupby("rep_id")["amount"].sum()
    )
    rate = rate[due.groupby("rep_id").size() >= 50]
    assert rate.between(0.7, 1.0).all()
    assert rate.quantile(0.9) - rate.quantile(0.1) > 0.05


def test_follow_ups_and_renewals_are_due(tables):
    leads = tables["leads"]
    open_ = leads[leads["status"] == "open"]
    assert open_["next_followup_date"].notna().all()
    overdue = open_[open_["next_followup_date"] < AS_OF]
    assert len(overdue) >= 50
    assert (overdue["estimated_value"] >= 500_000).sum() >= 5
    converted = leads[leads["status"] == "converted"]
    assert converted["converted_date"].notna().all() and converted["opportunity_id"].notna().all()
    cust = tables["customers"]
    soon = cust["renewal_date"].between(AS_OF, AS_OF + pd.Timedelta(days=60))
    assert soon.sum() >= 100
    assert 1200 <= len(cust) <= 2000
    assert 0.12 <= (cust["customer_type"] == "key_account").mean() <= 0.2


def test_struggling_reps_can_be_found_in_the_data(tables):
    """Capability gaps: busy but converting and winning poorly; resource gaps: the
    leads dried up. Both well below pace. Found by rules, not by id."""
    reps = tables["reps"]
    window = AS_OF - pd.Timedelta(days=56)
    tenured = reps[
        (reps["role"] == "rep")
        & reps["leave_date"].isna()
        & (reps["hire_date"] < AS_OF - pd.Timedelta(days=540))
    ].set_index("rep_id")
    act, leads = tables["activities"], tables["leads"]
    opp, tg = tables["opportunities"], tables["targets"]
    recent_visits = act[(act["activity_type"] == "visit") & (act["date"] > window)]
    visits = recent_visits.groupby("rep_id").size()
    recent = leads[leads["created_date"] > window]
    n_leads = recent.groupby("rep_id").size()
    converted = recent[recent["status"] == "converted"].groupby("rep_id").size()
    usual = leads[leads["created_date"].dt.year == 2025].groupby("rep_id").size() * 8 / 52
    closing = opp[opp["close_date"] > window]
    win = (closing["stage"] == "won").groupby(closing["owner_id"]).mean()
    sold = (
        opp[(opp["stage"] == "won") & (opp["close_date"].dt.year == 2026)]
        .groupby("owner_id")["amount"]
        .sum()
    )
    quota = tg[(tg["period"] == "2026") & (tg["level"] == "rep")].set_index("owner_id")["amount"]
    elapsed = (AS_OF - pd.Timestamp("2026-01-01")).days / 365
    idx = tenured.index
    df = pd.DataFrame(
        {
            "team": tenured["team_id"],
            "visits": visits.reindex(idx).fillna(0),
            "conversion": (converted.reindex(idx).fillna(0) / n_leads.reindex(idx)).fillna(0),
            "leads": n_leads.reindex(idx).fillna(0),
            "usual_leads": usual.reindex(idx),
            "win": win.reindex(idx),
            "pace": sold.reindex(idx).fillna(0) / (quota.reindex(idx) * elapsed),
        }
    )
    team = df.groupby("team")
    capability = (
        (df["visits"] >= 0.9 * team["visits"].transform("median"))
        & (
            (df["conversion"] < 0.5 * team["conversion"].transform("mean"))
            | (df["win"] < 0.6 * team["win"].transform("mean"))
        )
        & (df["pace"] < 0.75)
    )
    resource = (df["leads"] < 0.4 * df["usual_leads"]) & (df["pace"] < 0.85)
    assert capability.sum() >= 2, df[df["pace"] < 0.8]
    assert resource.sum() >= 1, df[df["pace"] < 0.8]
    assert (capability | resource).sum() <= 8
    # Everyone else is mostly on pace.
    assert df.loc[~(capability | resource), "pace"].median() >= 0.85
