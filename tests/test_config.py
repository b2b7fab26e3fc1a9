"""Parameter files: shipped files load; mistakes are named by file, path, value and rule."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from pydantic import ValidationError

from simlib.calendar import CalendarParams
from simlib.cli import main
from simlib.company import CompanyParams
from simlib.config import ParamError, default_params_dir
from simlib.data.mapping import MappingSpec
from simlib.params import AppealParams, load_params, validate_params
from simlib.scorecard import ScorecardParams
from simlib.targets.params import TargetParams
from simlib.tracking.params import AlertParams

PARAMS = default_params_dir()
SHIPPED = sorted(p.relative_to(PARAMS).as_posix() for p in PARAMS.rglob("*.yaml"))

EXPECTED_MODEL = {
    "company.yaml": CompanyParams,
    "targets.yaml": TargetParams,
    "scorecard.yaml": ScorecardParams,
    "alerts.yaml": AlertParams,
    "appeals.yaml": AppealParams,
    "calendar_cn.yaml": CalendarParams,
    "mappings/demo.yaml": MappingSpec,
    "mappings/hubspot.yaml": MappingSpec,
    "mappings/salesforce.yaml": MappingSpec,
}


def _write(folder: Path, rel: str, text: str) -> Path:
    path = folder / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _problem(folder: Path, rel: str, text: str):
    _write(folder, rel, text)
    with pytest.raises(ParamError) as err:
        load_params(rel, params_dir=folder)
    return err.value


# --------------------------------------------------------------------------- shipped files


def test_the_shipped_files_are_all_here():
    assert set(EXPECTED_MODEL) <= set(SHIPPED)


@pytest.mark.parametrize("rel", SHIPPED)
def test_each_shipped_file_loads(rel):
    model = load_params(rel)
    if rel in EXPECTED_MODEL:
        assert type(model) is EXPECTED_MODEL[rel]


def test_validate_params_loads_the_whole_folder():
    loaded = validate_params()
    assert set(EXPECTED_MODEL) <= set(loaded)


def test_shipped_values_are_read_as_written():
    targets = load_params("targets.yaml")
    assert targets.company_growth == 0.12 and targets.company_target is None
    assert targets.growth.cap == 0.40
    calendar = load_params("calendar_cn.yaml")
    assert dt.date(2025, 1, 26) in calendar.working_weekends  # a Sunday made a workday
    scorecard = load_params("scorecard.yaml")
    assert scorecard.active in scorecard.weight_sets


# --------------------------------------------------------------------------- frozen models


def test_models_are_frozen():
    targets = load_params("targets.yaml")
    with pytest.raises(ValidationError, match="frozen"):
        targets.year = 2030
    with pytest.raises(ValidationError, match="frozen"):
        targets.growth.cap = 0.9  # nested models too
    alerts = load_params("alerts.yaml")
    assert isinstance(alerts.rules, tuple)  # lists become tuples
    with pytest.raises(TypeError):
        alerts.rules[0] = alerts.rules[1]


def test_a_frozen_copy_is_validated_again():
    targets = load_params("targets.yaml")
    changed = targets.model_copy(update={"year": 2028})
    assert changed.year == 2028 and targets.year == 2027
    with pytest.raises(ValidationError):
        TargetParams.model_validate({**targets.model_dump(), "year": 1900})


# --------------------------------------------------------------------------- unknown keys


@pytest.mark.parametrize(
    "rel, text, path, suggestion",
    [
        (
            "targets.yaml",
            "year: 2027\ncompany_growth: 0.1\nramp_month: 6\n",
            "targets.ramp_month",
            "did you mean 'ramp_months'?",
        ),
        (
            "targets.yaml",
            "year: 2027\ncompany_growth: 0.1\ngrowth: {flor: -0.1}\n",
            "targets.growth.flor",
            "did you mean 'floor'?",
        ),
        (
            "scorecard.yaml",
            "active: a\nweight_sets:\n  a:\n    group_weights: {results: 1.0}\n"
            "    kpis: [{name: revenue, group: results, weigth: 1.0}]\n",
            "scorecard.weight_sets.a.kpis[0].weigth",
            "did you mean 'weight'?",
        ),
        (
            "alerts.yaml",
            "rules:\n  - {kind: streak, id: s, metric: m, period: 3}\n",
            "alerts.rules[0].period",
            "did you mean 'periods'?",
        ),
        ("company.yaml", "name: X\ndemo: {sead: 1}\n", "company.demo.sead", "did you mean 'seed'?"),
        (
            "mappings/x.yaml",
            "name: x\ntables: {opportunities: {source: a.csv}}\nalias: {}\n",
            "mappings.x.alias",
            "did you mean 'aliases'?",
        ),
    ],
)
def test_unknown_keys_suggest_the_closest(tmp_path, rel, text, path, suggestion):
    err = _problem(tmp_path, rel, text)
    (p,) = [p for p in err.problems if "unknown key" in p.message]
    assert p.path == path
    assert suggestion in str(p)
    assert str(p).startswith(f"{tmp_path / rel}: {path}: unknown key")


def test_an_unknown_key_with_nothing_close_lists_what_is_allowed(tmp_path):
    err = _problem(tmp_path, "appeals.yaml", "zzz: 1\n")
    allowed = "window_working_days, decision_working_days, ledger_url, admins"
    assert f"unknown key 'zzz' (allowed: {allowed})" in str(err)
    assert "did you mean" not in str(err)


def test_every_problem_in_a_file_is_reported(tmp_path):
    err = _problem(
        tmp_path,
        "company.yaml",
        "name: X\ncurrency: RMB\nfiscal_year_start_month: 13\nlanguge: en\n",
    )
    paths = sorted(p.path for p in err.problems)
    assert paths == ["company.currency", "company.fiscal_year_start_month", "company.languge"]
    assert str(err).startswith("invalid parameters:")


def test_validate_params_reports_every_bad_file(tmp_path):
    _write(tmp_path, "appeals.yaml", "window_working_days: 0\n")
    _write(tmp_path, "company.yaml", "name: X\ncurency: CNY\n")
    _write(tmp_path, "notes.yaml", "anything: goes\n")  # no model: not a parameter file
    with pytest.raises(ParamError) as err:
        validate_params(tmp_path)
    assert sorted(p.path for p in err.value.problems) == [
        "appeals.window_working_days",
        "company.curency",
    ]


# --------------------------------------------------------------------------- YAML problems


def test_duplicate_keys_are_an_error_with_line_numbers(tmp_path):
    err = _problem(
        tmp_path,
        "targets.yaml",
        "year: 2027\ncompany_growth: 0.1\ngrowth:\n  floor: -0.1\n  cap: 0.4\n  floor: 0\n",
    )
    assert "duplicate key 'floor' (first on line 4) at line 6, column 3" in str(err)


def test_yaml_syntax_error_names_the_line(tmp_path):
    err = _problem(tmp_path, "alerts.yaml", "rules:\n  - kind: threshold\n   id: x\n")
    (p,) = err.problems
    assert p.file.endswith("alerts.yaml")
    assert "invalid YAML" in str(p) and "line 3" in str(p)


def test_tabs_for_indentation_name_the_line(tmp_path):
    err = _problem(tmp_path, "company.yaml", "name: X\ndemo:\n\tseed: 1\n")
    assert "invalid YAML" in str(err) and "line 3" in str(err)


def test_missing_file(tmp_path):
    with pytest.raises(ParamError, match="file not found"):
        load_params("targets.yaml", params_dir=tmp_path)


def test_a_file_without_a_model_is_refused(tmp_path):
    err = _problem(tmp_path, "budget.yaml", "a: 1\n")
    assert "no parameter model for this file" in str(err)


# --------------------------------------------------------------------------- messages


def test_dates_are_printed_as_dates(tmp_path):
    err = _problem(
        tmp_path, "calendar_cn.yaml", "name: X\nworking_weekends: [2025-01-26, 2025-03-04]\n"
    )
    assert "calendar_cn.working_weekends[1]: got 2025-03-04; Tuesday is not a weekend day" in str(
        err
    )


def test_a_working_weekend_inside_a_holiday(tmp_path):
    err = _problem(
        tmp_path,
        "calendar_cn.yaml",
        "name: X\nholidays: [{name: Spring Festival, start: 2025-01-28, end: 2025-02-04}]\n"
        "working_weekends: [2025-02-01]\n",
    )
    assert (
        "calendar_cn.working_weekends[0]: got 2025-02-01; inside holiday 'Spring Festival'"
        in str(err)
    )


def test_alert_rule_without_a_kind(tmp_path):
    err = _problem(tmp_path, "alerts.yaml", "rules:\n  - {id: x, metric: revenue, below: 0.8}\n")
    assert (
        "alerts.rules[0].kind: required key is missing; "
        "expected one of 'threshold', 'streak', 'relative'"
    ) in str(err)


def test_mapping_constant_must_be_allowed(tmp_path):
    err = _problem(
        tmp_path,
        "mappings/x.yaml",
        "name: x\ntables:\n  opportunities:\n    source: a.csv\n"
        "    constants: {deal_type: new_business}\n",
    )
    assert "mappings.x.tables.opportunities.constants.deal_type: got 'new_business'" in str(err)
    assert "expected one of new_customer, existing_customer" in str(err)


def test_mapping_stage_alias_must_be_a_stage(tmp_path):
    err = _problem(
        tmp_path,
        "mappings/x.yaml",
        "name: x\ntables: {opportunities: {source: a.csv}}\naliases: {stage: {Signed: wonn}}\n",
    )
    assert "mappings.x.aliases.stage.Signed: got 'wonn'; not a canonical stage" in str(err)
    assert "did you mean 'won'?" in str(err)


def test_cli_params_check(capsys, tmp_path):
    assert main(["params", "check"]) == 0
    out, _ = capsys.readouterr()
    assert "targets.yaml" in out and "parameter files valid" in out

    _write(
        tmp_path,
        "targets.yaml",
        "year: 2027\ncompany_growth: 0.1\ngrowth: {floor: 0.2, cap: 0.1}\n",
    )
    assert main(["params", "check", str(tmp_path)]) == 2
    out, err = capsys.readouterr()
    assert "targets.growth.cap: got 0.1; cap is below floor 0.2" in err
    assert "Traceback" not in out + err
