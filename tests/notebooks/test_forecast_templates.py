"""The attainment forecast, commission summary and quote templates, and the rep pack's pay.

The templates execute under papermill (in parallel processes, started when the module
starts so that the in-process checks run meanwhile); the figures they show agree with
simlib computed here; a manager's summary names nobody outside the team; text from the
data is HTML-escaped; a rep's pay section shows their exact statement and no colleague.
"""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from simlib.reports.render import output_text

ROOT = Path(__file__).resolve().parents[2]
REPORTS = ROOT / "notebooks" / "reports"
TEMPLATES = ("attainment_forecast", "commission_summary", "quote")
TRIALS = 500
OPP = "OPP044015"  # an open demo opportunity (negotiation), owned by S003

RUNS = {  # render id → (template, parameters); small parameters, one render per process
    "forecast_en": (
        "attainment_forecast",
        dict(node="T-SH", period="2026-Q4", n_trials=TRIALS, seed=0, lang="en"),
    ),
    "summary_zh": (
        "commission_summary",
        dict(scope="R-EAST", period="2026-Q3", plan="tiered_cn", lang="zh-CN"),
    ),
    "summary_en": (
        "commission_summary",
        dict(scope="T-SH", period="2026-Q3", plan="tiered_cn", lang="en"),
    ),
    "quote_en": ("quote", dict(opportunity_id=OPP, valid_days=30, lang="en")),
}


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def renders(tmp_path_factory):
    """Start every render at once; :func:`executed` waits for them."""
    pytest.importorskip("papermill")
    tmp = tmp_path_factory.mktemp("forecast_reports")
    procs = {}
    for rid, (name, params) in RUNS.items():
        args = [
            sys.executable,
            "-m",
            "papermill",
            str(REPORTS / f"{name}.ipynb"),
            str(tmp / f"{rid}.ipynb"),
            "--cwd",
            str(ROOT),
            "--no-progress-bar",
            "-k",
            "python3",
        ]
        for k, v in params.items():
            args += ["-p", k, str(v)]
        procs[rid] = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    yield tmp, procs
    for p in procs.values():  # a failed test must not leave renders behind
        if p.poll() is None:
            p.kill()
            p.wait()


@pytest.fixture(scope="module")
def executed(renders):
    """Each render's executed notebook, as parsed JSON."""
    tmp, procs = renders
    out = {}
    for rid, p in procs.items():
        log = p.communicate(timeout=300)[0].decode(errors="replace")
        assert p.returncode == 0, f"{rid} failed:\n{log[-3000:]}"
        out[rid] = json.loads((tmp / f"{rid}.ipynb").read_text(encoding="utf-8"))
    return out


@pytest.fixture(scope="module")
def data(renders):  # after the renders have started: this work overlaps with theirs
    from simlib.data import load_demo

    return load_demo()


@pytest.fixture(scope="module")
def plan():
    from simlib.plans import load_plan

    return load_plan("tiered_cn")


@pytest.fixture(scope="module")
def sim(data):
    import pandas as pd

    from simlib.simulate import simulate

    return simulate(data, "2026-Q4", pd.Timestamp(data.as_of), n_trials=TRIALS, seed=0)


@pytest.fixture(scope="module")
def tsh_exact(data, plan):
    """Shanghai team's exact 2026-Q3 statements, one rep at a time (payable cents by rep)."""
    from simlib.views.statement import rep_statement

    reps = data.reps[(data.reps["team_id"] == "T-SH") & (data.reps["role"] == "rep")]
    out = {}
    for r in reps["rep_id"]:
        try:
            out[r] = rep_statement(data, plan, r, "2026-Q3").payable_cents
        except ValueError:  # no statement that quarter
            pass
    return out


def _outputs(nb) -> str:
    for cell in nb["cells"]:
        for o in cell.get("outputs", []):
            assert o.get("output_type") != "error", o
    return output_text(nb, images=True)


def _mimes(nb) -> set[str]:
    return {m for c in nb["cells"] for o in c.get("outputs", []) for m in o.get("data", {})}


def _with(data, **tables):
    """A copy of the dataset with some tables replaced."""
    return dataclasses.replace(data, tables={**data.tables, **tables})


# --------------------------------------------------------------------------- stored templates

_DECL = re.compile(r"^[a-z_]+: (str|int|float|bool|int \| None) = \S.*#\s*\S")


@pytest.mark.parametrize("name", TEMPLATES + ("rep_review_pack",))
def test_one_typed_commented_parameters_cell_and_no_outputs(name):
    nb = json.loads((REPORTS / f"{name}.ipynb").read_text(encoding="utf-8"))
    tagged = [c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1
    lines = [ln for ln in "".join(tagged[0]["source"]).splitlines() if ln.strip()]
    assert lines and all(_DECL.match(ln) for ln in lines), lines
    assert any(ln.startswith('lang: str = "zh-CN"') for ln in lines)
    assert any(ln.startswith("demo_seed: int | None = None") for ln in lines)
    for c in nb["cells"]:
        if c["cell_type"] == "code":
            assert c["outputs"] == [] and c["execution_count"] is None
            if c is not tagged[0]:  # thin: the logic lives in simlib
                assert len("".join(c["source"]).splitlines()) <= 6


def test_forecast_parameters_are_the_documented_ones():
    nb = json.loads((REPORTS / "attainment_forecast.ipynb").read_text(encoding="utf-8"))
    src = "".join(
        next(c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", []))["source"]
    )
    for decl in (
        'node: str = "CO"',
        'period: str = "2026-Q4"',
        'as_of: str = ""',
        "n_trials: int = 10000",
        "seed: int = 0",
    ):
        assert decl in src


# ------------------------------------------------------------------------- fast, in-process checks


def test_forecast_lists_the_scope_only(data, sim):
    from simlib.views.forecast import forecast_report

    team = forecast_report("T-SH", "2026-Q4", data=data, result=sim)
    reps = data.reps
    assert set(team.rows["node_id"]) == set(sim.summary.query("parent_id == 'T-SH'")["node_id"])
    assert set(team.rows["level"]) == {"rep"}
    co = forecast_report("CO", "2026-Q4", data=data, result=sim, lang="zh-CN")
    assert set(co.rows["level"]) == {"region", "team"}  # the director's view: regions and teams
    me = forecast_report("S003", "2026-Q4", data=data, result=sim)
    assert me.rows.empty
    text = str(me.breakdown()) + str(me.headline()) + str(me.header())
    for name in reps.loc[reps["rep_id"] != "S003", "name"]:
        assert name not in text
    with pytest.raises(ValueError, match="no node 'T-XX'"):
        forecast_report("T-XX", "2026-Q4", data=data, result=sim)


def test_forecast_headline_is_the_simulation(data, sim):
    from simlib.present import Units, pct
    from simlib.views.forecast import forecast_report

    fc = forecast_report("R-EAST", "2026-Q4", data=data, result=sim)
    row = sim.summary.set_index("node_id").loc["R-EAST"]
    shown = str(fc.headline())
    for col in ("quota", "p10", "p50", "p90"):  # in the page's one unit (¥M in English)
        assert Units("en").amount(row[col], unit=True) in shown
    assert pct(row["p_attain"]) in shown
    # the breakdown names the teams and shows no id; amounts in ¥M, shares in %
    table = str(fc.breakdown())
    assert "Shanghai Team" in table and "Quota (¥M)" in table
    assert "T-SH" not in table and "R-EAST" not in str(fc.header())
    # the trials behind the distribution are the node's own
    assert abs(float(sorted(fc.trials)[len(fc.trials) // 2]) - row["p50"]) <= 0.02 * row["p50"]


def test_commission_summary_is_the_sum_of_exact_statements(data, plan, tsh_exact):
    from simlib.present import Units
    from simlib.views.commission_summary import commission_summary

    cs = commission_summary("T-SH", "2026-Q3", plan, data=data, lang="zh-CN")
    exact = tsh_exact
    assert set(cs.table.loc[cs.table["has_statement"], "rep_id"]) == set(exact)
    assert cs.total_cents == sum(exact.values())  # exact, to the cent
    assert set(cs.table["team_id"]) == {"T-SH"}
    assert dict(zip(cs.table["rep_id"], cs.table["payout_cents"])) == {
        r: exact.get(r, 0) for r in cs.table["rep_id"]
    }
    # shown in the page's one unit (万元, two decimals: a payout of 0.42万元 stays visible)
    wan = Units("zh-CN")
    shown = str(cs.per_rep())
    assert "提成（万元）" in shown and "(CNY)" not in shown
    for c in exact.values():
        assert wan.amount(c / 100, decimals=2) in shown
    assert wan.amount(sum(exact.values()) / 100, unit=True, decimals=2) in str(cs.totals())
    assert cs.team_table()["payout_cents"].sum() == cs.total_cents
    for rep_id in cs.table["rep_id"]:  # names, not ids
        assert rep_id not in shown


def test_commission_summary_rejects_bad_parameters(data, plan):
    from simlib.views.commission_summary import commission_summary

    with pytest.raises(ValueError, match="period must look like '2026-Q3'"):
        commission_summary("T-SH", "2026-09", plan, data=data)
    with pytest.raises(ValueError, match="no org node 'T-XX'"):
        commission_summary("T-XX", "2026-Q3", plan, data=data)


def test_quote_net_is_list_less_discount(data):
    from simlib.views.quote import quote

    q = quote(OPP, data=data, lang="zh-CN", vat_rate=0.13)
    o = data.opportunities.set_index("opportunity_id").loc[OPP]
    price = data.products.set_index("product_id").at[o["product_id"], "unit_price"]
    (line,) = q.lines
    assert q.net_cents == round(o["amount"] * 100)  # the CRM's amount, to the cent
    assert line.unit_price_cents == round(price * 100)
    assert q.list_cents - q.discount_cents == q.net_cents
    assert (line.quantity - 1) * line.unit_price_cents < q.net_cents <= line.list_cents
    assert q.vat_cents == round(q.net_cents * 0.13) and q.total_cents == q.net_cents + q.vat_cents
    assert "张伟" in str(q.header())
    # a commercial document: every amount in yuan to the cent, one unit on the page
    shown = str(q.items()) + str(q.totals()) + str(q.terms())
    assert "金额（元）" in shown and "(CNY)" not in shown and "万元" not in shown
    assert f"{q.total_cents / 100:,.2f}</td>" in shown
    with pytest.raises(ValueError, match="is won: a quote is for an open opportunity"):
        quote(data.opportunities.query("stage == 'won'")["opportunity_id"].iloc[0], data=data)


def test_data_text_is_html_escaped(data, sim):
    from simlib.views.commission_summary import commission_summary
    from simlib.views.forecast import forecast_report
    from simlib.views.quote import quote

    evil, bold = "<script>alert(1)</script>", "<b>x</b>"
    reps = data.reps.copy()
    reps.loc[reps["rep_id"] == "S003", ["name", "name_zh"]] = evil
    org = data.org.copy()
    org.loc[org["node_id"] == "T-SH", ["name", "name_zh"]] = bold
    cust = data.customers.copy()
    cid = data.opportunities.set_index("opportunity_id").at[OPP, "customer_id"]
    cust.loc[cust["customer_id"] == cid, "name"] = evil
    prod = data.products.copy()
    prod["name"] = prod["name"] + " " + bold
    bad = _with(data, reps=reps, org=org, customers=cust, products=prod)

    def check(html_text):
        assert "<script>" not in html_text and "<b>x" not in html_text, html_text[:400]
        assert "&lt;script&gt;" in html_text or "&lt;b&gt;x" in html_text

    q = quote(OPP, data=bad, lang="en")
    check(str(q.header()))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in str(q.header())  # the account, escaped
    check(q.items()._repr_html_())
    cs = commission_summary("T-SH", "2026-Q3", data=bad, lang="en")
    check(str(cs.header()))
    check(cs.per_rep()._repr_html_())
    check(cs.per_team()._repr_html_())
    s = sim.summary.copy()
    s.loc[s["node_id"] == "S003", "name"] = evil
    s.loc[s["node_id"] == "T-SH", "name"] = bold
    fc = forecast_report("T-SH", "2026-Q4", data=data, result=dataclasses.replace(sim, summary=s))
    check(str(fc.header()))
    check(fc.breakdown()._repr_html_())


# ----------------------------------------------------------------------- the rep pack's pay section


@pytest.fixture(scope="module")
def facts(data):
    from simlib import tracking

    return tracking.prepare(data)


def _texts(pay) -> str:
    return repr(pay) + "\n" + pay._repr_html_()


@pytest.mark.parametrize("rep_id,lang", [("S003", "en"), ("S054", "zh-CN"), ("S020", "en")])
def test_rep_pack_pay_is_the_reps_own_statement(facts, data, plan, rep_id, lang):
    from simlib.views.commission_summary import commission_summary, money_text, rep_pay
    from simlib.views.statement import rep_statement

    if rep_id == "S003":  # the pack itself once; its pay section is rep_pay on the facts
        from simlib.views.team_review import rep_pack

        pay = rep_pack(facts, rep_id, "2026-09", lang, plan="tiered_cn").pay()
    else:
        pay = rep_pay(facts, rep_id, "2026-09", plan, lang=lang)
    own = rep_statement(data, plan, rep_id, "2026-Q3")  # September: Q3, closed
    assert pay.period == "2026-Q3" and not pay.provisional
    assert pay.payable_cents == own.payable_cents
    shown = _texts(pay)
    assert money_text(own.payable_cents) in shown
    # the team only as aggregates: they agree with the manager's summary of that team
    team = data.reps.set_index("rep_id").at[rep_id, "team_id"]
    cs = commission_summary(team, "2026-Q3", plan, data=data)
    assert pay.team_total_cents == cs.total_cents
    assert pay.rank == 1 + int((cs.table["payout_cents"] > own.payable_cents).sum())
    assert money_text(cs.total_cents) in shown
    # no colleague: not by id, by name, nor by payout
    mates = cs.table[cs.table["rep_id"] != rep_id]
    assert len(mates) >= 3
    aggregates = {
        money_text(c) for c in (own.payable_cents, pay.team_total_cents, pay.team_average_cents)
    }
    for _, m in mates.iterrows():
        assert m["rep_id"] not in shown and m["name"] not in shown and m["name_zh"] not in shown
        if money_text(m["payout_cents"]) not in aggregates:
            assert money_text(m["payout_cents"]) not in shown


def test_rep_pack_pay_in_an_open_quarter_counts_to_the_review_end(data, plan):
    import pandas as pd

    from simlib.views.commission_summary import rep_pay
    from simlib.views.statement import rep_statement

    pay = rep_pay(data, "S003", "2026-10", plan)
    assert pay.period == "2026-Q4" and pay.provisional and str(pay.until.date()) == "2026-10-31"
    # The statement on the data as known at the end of October: no later win, no later cash.
    cut = pd.Timestamp("2026-10-31")
    opp, pays = data.opportunities, data.payments
    then = _with(
        data,
        opportunities=opp[~((opp["stage"] == "won") & (opp["close_date"] > cut))],
        payments=pays[pays["date"] <= cut],
    )
    assert pay.payable_cents == rep_statement(then, plan, "S003", "2026-Q4").payable_cents
    # November counts later
    assert pay.payable_cents < rep_statement(data, plan, "S003", "2026-Q4").payable_cents
    assert "provisional" in repr(pay)


def test_rep_pack_pay_hides_the_team_when_it_is_tiny(data, plan):
    from simlib.views.commission_summary import MIN_GROUP, rep_pay

    reps = data.reps.copy()
    # S003 and one colleague alone in a team: the total would give the colleague's pay away
    reps.loc[reps["rep_id"] == "S004", "team_id"] = "T-TINY"
    reps.loc[reps["rep_id"] == "S003", "team_id"] = "T-TINY"
    pay = rep_pay(_with(data, reps=reps), "S003", "2026-09", plan)
    assert pay.team_size == 2 < MIN_GROUP
    assert pay.team_total_cents is None and pay.rank is None
    assert "fewer than" in repr(pay)


# --------------------------------------------------------------------------- the papermill renders


def test_forecast_renders_the_nodes_p50(executed, sim):
    from simlib.present import Units, pct

    out = _outputs(executed["forecast_en"])
    s = sim.summary.set_index("node_id")
    u = Units("en")  # one unit on the page: ¥M
    assert "Attainment forecast" in out and "Shanghai Team" in out
    assert u.amount(s.at["T-SH", "p50"], unit=True) in out
    assert pct(s.at["T-SH", "p_attain"]) in out
    for rep in s.index[s["parent_id"] == "T-SH"]:  # the manager's view: every rep of the team
        assert u.amount(s.at[rep, "p50"]) in out
        assert rep not in output_text(executed["forecast_en"])  # by name, not id (no pictures)
    assert "image/png" in _mimes(executed["forecast_en"])
    assert "How this forecast is made" in out


def test_commission_summary_renders_a_region_in_chinese(executed, tsh_exact):
    from simlib.present import Units

    out = _outputs(executed["summary_zh"])
    assert "提成汇总" in out and "大区视图" in out and "华东" in out
    for team in ("杭州一部", "南京一部", "上海一部"):  # the region's teams, by name
        assert team in out
    for team in ("T-HZ", "T-NJ", "T-SH", "R-EAST"):  # never by id (text, not pictures)
        assert team not in output_text(executed["summary_zh"])
    for team in ("T-BJ", "T-GZ", "北京一部", "广州一部", "华北"):  # and no other
        assert team not in out
    # Shanghai's team total in 万元, the page's one unit (no yuan-to-the-cent beside it)
    assert Units("zh-CN").amount(sum(tsh_exact.values()) / 100, decimals=2) in out
    assert "(CNY)" not in out and "提成（万元）" in out
    assert "image/png" in _mimes(executed["summary_zh"])


def test_commission_summary_renders_the_teams_total_and_no_outsider(executed, data, tsh_exact):
    import html

    from simlib.present import Units
    from simlib.views.commission_summary import scope_people

    out = html.unescape(_outputs(executed["summary_en"]))
    team = scope_people(data, "T-SH")
    k = Units("en", scale="k")  # a pay page in English: ¥k, one decimal
    assert k.amount(sum(tsh_exact.values()) / 100, unit=True, decimals=1) in out
    assert "Manager's view" in out and "Payout (¥k)" in out
    for cents in tsh_exact.values():  # each rep's payout (exact statements, shown in ¥k)
        assert k.amount(cents / 100, decimals=1) in out
    assert "image/png" in _mimes(executed["summary_en"])
    inside = set(team["rep_id"])
    insiders = " ".join(team["name"]) + " " + " ".join(team["name_zh"].dropna())
    outsiders = data.reps[~data.reps["rep_id"].isin(inside)]
    assert len(outsiders) > 50
    for _, r in outsiders.iterrows():
        assert r["rep_id"] not in out
        for n in (r["name"], r["name_zh"]):
            if isinstance(n, str) and n not in insiders:
                assert n not in out, n


def test_quote_renders_list_discount_net(executed, data):
    from simlib.views.quote import quote

    out = _outputs(executed["quote_en"])
    q = quote(OPP, data=data, lang="en")
    for cents in (q.list_cents, q.discount_cents, q.net_cents):
        assert f"{cents / 100:,.2f}" in out
    assert q.list_cents - q.discount_cents == q.net_cents
    assert "Quotation" in out and "Zhang Wei" in out and "2026-12-20" in out
    assert "exclude VAT" in out
    # nothing about the owner's pay
    assert not re.search(r"commission|\bquota\b|payout|提成", out, re.I)
