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
