"""The pay commands as an analyst scripts them: any plan path, clear messages."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from simlib.cli import main

PLANS = Path(__file__).resolve().parents[1] / "params" / "plans"


def run(capsys, *args):
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_a_plan_file_anywhere_is_read_and_named_as_typed(tmp_path, capsys, monkeypatch):
    other = tmp_path / "elsewhere"
    other.mkdir()
    shutil.copy(PLANS / "tiered_cn.yaml", other / "t01.yaml")
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(capsys, "payout", "--plan", "elsewhere/t01.yaml", "--sales", "1500000")
    assert code == 0 and "17,500.00" in out
    bad = (
        (PLANS / "tiered_cn.yaml")
        .read_text(encoding="utf-8")
        .replace("rate: 0.01\n", 'rate: "1%"\n', 1)
    )
    (other / "t02.yaml").write_text(bad + "minimum_commission: 100\n", encoding="utf-8")
    code, _, err = run(capsys, "payout", "--plan", "elsewhere/t02.yaml", "--sales", "1")
    assert code != 0
    assert "elsewhere/t02.yaml: tiers[0].rate: got '1%'" in err
    assert "write 1% as 0.01" in err
    assert "unknown key 'minimum_commission'; did you mean 'floor'?" in err
    assert "plans.t02" not in err and "Traceback" not in err
    code, _, err = run(capsys, "payout", "--plan", "plans/t03.yaml", "--sales", "1")
    assert code != 0 and "plans/t03.yaml: plan file not found" in err
    assert str(PLANS) not in err  # never a path the user did not type
    code, _, err = run(capsys, "payout", "--plan", "tiered_c", "--sales", "1")
    assert "did you mean 'tiered_cn'?" in err


def test_a_percentage_is_not_an_amount(capsys):
    code, _, err = run(capsys, "payout", "--plan", "tiered_cn", "--sales", "10%")
    assert code != 0 and "--sales is an amount" in err and "not a percentage" in err


def test_a_missing_quota_says_pass_quota(capsys):
    code, _, err = run(capsys, "payout", "--plan", "saas_quota", "--sales", "100000")
    assert code != 0 and "pass --quota" in err
    assert "R1" not in err and "2025-Q1" not in err
    code, out, _ = run(
        capsys, "payout", "--plan", "saas_quota", "--sales", "100000", "--quota", "80000", "--json"
    )
    assert code == 0 and json.loads(out)["attainment"] == pytest.approx(1.25)


def test_debug_works_anywhere_on_the_line(capsys):
    for args in (
        ["--debug", "payout", "--plan", "nope_plan", "--sales", "1"],
        ["payout", "--plan", "nope_plan", "--sales", "1", "--debug"],
    ):
        with pytest.raises(Exception, match="plan file not found"):
            main(args)


def test_statements_on_an_opportunity_only_export(tmp_path, capsys):
    from simlib.data.worlds import WorldSpec, generate_world, write_export

    folder = tmp_path / "crm"
    write_export(generate_world(WorldSpec(seed=1, n_agents=6, n_managers=2)), folder)
    data = ["--data", str(folder), "--mapping", "crm_export"]
    code, out, err = run(capsys, "statements", "--period", "2021-Q4", *data, "--lang", "en")
    assert code == 0, err
    assert "total payable" in out and "None" not in out and "rep_id" not in out
    code, _, err = run(capsys, "statements", "--period", "2021-Q4", "--plan", "saas_quota", *data)
    assert code != 0 and "no targets table" in err and "Traceback" not in err


def test_clawbacks_run_from_an_export_with_a_reversals_table(tmp_path, capsys):
    """A reversals file mapped like any other table: statements take back the commission."""
    import pandas as pd
    import yaml

    from simlib.data.io import _load_mapping, load_data
    from simlib.data.worlds import WorldSpec, generate_world, write_export

    folder = tmp_path / "crm"
    write_export(generate_world(WorldSpec(seed=2, n_agents=6, n_managers=2)), folder)
    deals = pd.read_csv(folder / "sales_pipeline.csv")
    won = deals[(deals["deal_stage"] == "Won") & (deals["close_date"] >= "2021-10-01")]
    pick = won.sort_values("close_date").head(2)
    rev = pd.DataFrame(
        {
            "Deal": pick["opportunity_id"],
            "Cancelled on": (pd.to_datetime(pick["close_date"]) + pd.Timedelta(days=10)).dt.date,
        }
    )
    rev.to_csv(folder / "cancellations.csv", index=False)
    spec = _load_mapping("crm_export").model_dump(mode="json", exclude_defaults=True)
    spec["tables"]["reversals"] = {
        "source": "cancellations.csv",
        "columns": {"opportunity_id": "Deal", "reversal_date": "Cancelled on"},
    }
    mapping = tmp_path / "m.yaml"
    mapping.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    plan = tmp_path / "p.yaml"
    plan.write_text(
        "description: 10% of revenue; deals cancelled within 90 days are clawed back\n"
        "period: quarter\ntiers: [{threshold: 0, rate: 0.1}]\nclawback: {within_days: 90}\n",
        encoding="utf-8",
    )
    data = load_data(folder, mapping)
    assert len(data.reversals) == 2
    args = ["statements", "--period", "2021-Q4", "--plan", str(plan), "--json"]
    code, out, err = run(capsys, *args, "--data", str(folder), "--mapping", str(mapping))
    assert code == 0, err
    lines = [ln for row in json.loads(out) for ln in row["lines"]]
    for oid in pick["opportunity_id"]:
        assert any(oid in ln and "reversed on" in ln for ln in lines), oid
    # a reversal of a deal that was not won, or before it closed: an error on its row
    lost = deals[deals["deal_stage"] == "Lost"].iloc[0]
    bad = pd.concat(
        [rev, pd.DataFrame({"Deal": [lost["opportunity_id"]], "Cancelled on": ["2021-12-01"]})]
    )
    bad.to_csv(folder / "cancellations.csv", index=False)
    code, out, err = run(capsys, "data", "check", "--data", str(folder), "--mapping", str(mapping))
    assert code != 0 and "cancellations.csv, row 4" in out and "not won" in out


DEALS = """Deal,Rep,Amount,Date,Product
D1,Ann,27500,2025-01-15,A
D2,Ann,30000,2025-02-15,A
D3,Ann,15000,2025-03-15,B
D4,Ann,23750,2025-04-15,A
D5,Bo,"1,500,000",2025-01-20,A
"""


def test_payout_pays_a_deals_file_over_several_periods_with_a_draw(tmp_path, capsys):
    (tmp_path / "deals.csv").write_text(DEALS, encoding="utf-8")
    (tmp_path / "draw.yaml").write_text(
        "description: 10% of revenue with a recoverable monthly draw of 2,000\n"
        "period: month\ntiers: [{threshold: 0, rate: 0.10}]\n"
        "draw: {kind: recoverable, amount: 2000}\n",
        encoding="utf-8",
    )
    args = ["payout", "--plan", str(tmp_path / "draw.yaml"), "--deals", str(tmp_path / "deals.csv")]
    code, out, err = run(capsys, *args, "--json")
    assert code == 0, err
    got = {(r["rep_id"], r["period"]): (r["payable"], r["balance_owed"]) for r in json.loads(out)}
    # the hand-worked draw case: March topped up to 2,000 (500 owed), April repays 375
    assert got[("Ann", "2025-03")] == ("2000.00", "500.0")
    assert got[("Ann", "2025-04")] == ("2000.00", "125.0")
    assert got[("Bo", "2025-01")] == ("150000.00", "0.0")
    code, out, _ = run(capsys, *args, "--lang", "en")
    assert "5 statements (2 reps × 4 periods)" in out and "total payable 159,750.00" in out


def test_payout_deals_with_quotas_and_per_deal_tiers(tmp_path, capsys):
    (tmp_path / "deals.csv").write_text(DEALS, encoding="utf-8")
    (tmp_path / "q.csv").write_text(
        "rep,period,quota\nAnn,2025-Q1,100000\nAnn,2025-Q2,100000\nBo,2025-Q1,1000000\n",
        encoding="utf-8",
    )
    code, out, err = run(
        capsys,
        "payout",
        "--plan",
        "saas_quota",
        "--deals",
        str(tmp_path / "deals.csv"),
        "--quotas",
        str(tmp_path / "q.csv"),
        "--json",
    )
    assert code == 0, err
    rows = {(r["rep_id"], r["period"]): r for r in json.loads(out)}
    assert rows[("Ann", "2025-Q1")]["attainment"] == pytest.approx(0.725)
    code, _, err = run(
        capsys, "payout", "--plan", "saas_quota", "--deals", str(tmp_path / "deals.csv")
    )
    assert code != 0 and "pass --quotas FILE" in err


def test_payout_deals_file_errors_name_row_and_column(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("Deal,Rep,Amount,Date\nD1,Ann,12x,2025-01-01\nD2,Ann,5,2025-13-45\n")
    code, _, err = run(capsys, "payout", "--plan", "tiered_cn", "--deals", str(bad))
    assert code != 0
    assert "bad.csv, row 2, column amount: got '12x'" in err
    assert "bad.csv, row 3, column close_date: got '2025-13-45'" in err
    assert "missing value" not in err
    (tmp_path / "nocol.csv").write_text("Deal,Amount,Date\nD1,5,2025-01-01\n")
    code, _, err = run(
        capsys, "payout", "--plan", "tiered_cn", "--deals", str(tmp_path / "nocol.csv")
    )
    assert "no owner_id column (any of owner_id, rep" in err
    code, _, err = run(capsys, "payout", "--plan", "tiered_cn", "--sales", "5", "--deals", str(bad))
    assert "either --sales" in err
