"""A plain CRM export through a mapping: the org from columns, and what missing values mean.

Each feature with its bad inputs: the message names the file, the row (or the mapping
key), the bad value and what was expected; lenient mode sets bad rows aside with reasons.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from simlib.config import ParamError
from simlib.data.io import NO_ACCOUNT, DataError, _load_mapping, load_data

HEADER = "opportunity_id,sales_agent,product,account,deal_stage,engage_date,close_date,close_value"
PIPELINE = (
    HEADER
    + """
D1,Anna Lee,GTX Basic,Acme,Won,2020-01-05,2020-02-10,520
D2,Anna Lee,GTX Pro,Acme,Lost,2020-01-07,2020-03-01,0
D3,Bo Chen,GTX Pro,,Engaging,2020-02-01,,
D4,Bo Chen,GTX Basic,,Prospecting,,,
D5,Cy Dorn,GTX Pro,Beta,Won,2020-02-11,2020-03-20,4700
"""
)
TEAMS = """sales_agent,manager,regional_office
Anna Lee,Mia Park,East
Bo Chen,Mia Park,East
Cy Dorn,Lou Ray,West
"""
PRODUCTS = """product,series,sales_price
GTX Basic,GTX,550
GTX Pro,GTX,4821
"""
ACCOUNTS = """account,sector,year_established,revenue,employees,office_location,subsidiary_of
Acme,retail,1990,100,20,US,
Beta,tech,2001,50,10,US,
"""


def _export(folder: Path, **replace) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "sales_pipeline.csv": PIPELINE,
        "sales_teams.csv": TEAMS,
        "products.csv": PRODUCTS,
        "accounts.csv": ACCOUNTS,
    }
    files.update(replace)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def _mapping(tmp_path: Path, edit) -> Path:
    spec = _load_mapping("crm_export").model_dump(mode="json", exclude_defaults=True)
    edit(spec)
    path = tmp_path / "mapping.yaml"
    path.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    return path


def test_the_export_loads_with_every_fill_flagged_and_counted(tmp_path):
    data = load_data(_export(tmp_path / "x"), "crm_export")
    org = data.org.set_index("node_id")
    assert org.loc["East", "level"] == "region" and org.loc["East", "parent_id"] == "COMPANY"
    assert org.loc["East / Mia Park", "level"] == "team"
    assert org.loc["East / Mia Park", "name"] == "Mia Park"
    teams = data.reps.set_index("rep_id")["team_id"]
    assert teams["Bo Chen"] == "East / Mia Park" and teams["Cy Dorn"] == "West / Lou Ray"
    opp = data.opportunities.set_index("opportunity_id")
    assert opp.loc["D3", "amount"] == 4821 and bool(opp.loc["D3", "amount_estimated"])
    assert not bool(opp.loc["D1", "amount_estimated"]) and opp.loc["D1", "amount"] == 520
    assert opp.loc["D3", "customer_id"] == NO_ACCOUNT
    assert opp.loc["D4", "created_date"] == pd.Timestamp("2020-03-20")
    assert bool(opp.loc["D4", "created_estimated"])
    assert pd.isna(opp.loc["D3", "expected_close_date"])
    reps = data.reps.set_index("rep_id")
    assert reps.loc["Bo Chen", "hire_date"] == pd.Timestamp("2020-02-01")
    assert reps["hire_date_inferred"].all()
    text = data.report.format()
    for said in (
        "2 open deal(s) without an amount took their product's list price",
        "2 deal(s) without an account",
        "1 open deal(s) without a created date are taken as created on 2020-03-20",
        "3 rep(s) without a hire date",
    ):
        assert said in text


def test_an_empty_hierarchy_cell_is_an_error_on_its_row(tmp_path):
    teams = TEAMS.replace("Bo Chen,Mia Park,East", "Bo Chen,,East")
    folder = _export(tmp_path / "x", **{"sales_teams.csv": teams})
    with pytest.raises(DataError) as err:
        load_data(folder, "crm_export")
    issue = [i for i in err.value.report.errors if i.table == "reps"][0]
    assert issue.row == 3 and issue.file.endswith("sales_teams.csv")
    assert "missing value in hierarchy column 'manager'" in issue.message
    # lenient: that rep is set aside with the reason, the others load
    data = load_data(folder, "crm_export", strict=False, rejects=tmp_path / "rej.csv")
    assert "Bo Chen" not in set(data.reps["rep_id"])
    assert data.report.rejected["reps"] == 1


def test_a_hierarchy_column_the_file_lacks_is_named_with_the_closest(tmp_path):
    teams = TEAMS.replace("regional_office", "regional office")
    with pytest.raises(DataError, match="hierarchy column 'regional_office' is not in the file"):
        load_data(_export(tmp_path / "x", **{"sales_teams.csv": teams}), "crm_export")


@pytest.mark.parametrize(
    "edit, said",
    [
        (
            lambda s: s["tables"]["opportunities"]["missing"].update(amount="guess"),
            "expected reject or price_list for opportunities.amount",
        ),
        (
            lambda s: s["tables"]["reps"].setdefault("missing", {}).update(name="infer"),
            "expected reject for reps.name",
        ),
        (
            lambda s: s["tables"]["opportunities"]["missing"].update(colour="empty"),
            "not a column of canonical table 'opportunities'",
        ),
        (
            lambda s: s["tables"]["opportunities"].update(hierarchy=["x"]),
            "it belongs under tables.reps",
        ),
        (
            lambda s: s["tables"]["reps"].update(hierarchy=["a", "b", "c"]),
            "at most two levels above the reps",
        ),
        (
            lambda s: s["tables"]["reps"]["columns"].update(team_id="manager"),
            "with hierarchy, each rep's team is the last hierarchy column",
        ),
        (
            lambda s: s["tables"].update(org={"source": "org.csv"}),
            "either from an org table or from the reps' hierarchy columns",
        ),
    ],
)
def test_mapping_mistakes_are_named(tmp_path, edit, said):
    with pytest.raises(ParamError, match=said.replace("(", r"\(").replace(")", r"\)")):
        _load_mapping(_mapping(tmp_path, edit))


def test_an_open_deal_whose_product_has_no_price_is_an_error_naming_it(tmp_path):
    pipe = PIPELINE.replace("D3,Bo Chen,GTX Pro,", "D3,Bo Chen,GTX Mystery,")
    products = PRODUCTS + "GTX Mystery,GTX,\n"
    folder = _export(tmp_path / "x", **{"sales_pipeline.csv": pipe, "products.csv": products})
    with pytest.raises(DataError) as err:
        load_data(folder, "crm_export")
    issue = [i for i in err.value.report.errors if i.column == "amount"][0]
    assert issue.row == 4 and issue.value == "GTX Mystery"
    assert "its product has no list price" in issue.message


def test_a_closed_deal_without_its_amount_or_created_date_is_not_filled(tmp_path):
    pipe = PIPELINE.replace("2020-02-10,520", "2020-02-10,").replace(
        "D2,Anna Lee,GTX Pro,Acme,Lost,2020-01-07", "D2,Anna Lee,GTX Pro,Acme,Lost,"
    )
    with pytest.raises(DataError) as err:
        load_data(_export(tmp_path / "x", **{"sales_pipeline.csv": pipe}), "crm_export")
    said = {(i.row, i.column): i.message for i in err.value.report.errors}
    assert "only open deals fall back on the list price" in said[(2, "amount")]
    assert "only open deals are imputed" in said[(3, "created_date")]


def test_without_rules_the_same_blanks_are_errors_that_say_how_to_fill_them(tmp_path):
    def strict(spec):
        spec["tables"]["opportunities"].pop("missing")
        spec["tables"]["reps"].pop("missing")

    with pytest.raises(DataError) as err:
        load_data(_export(tmp_path / "x"), _mapping(tmp_path, strict))
    text = err.value.report.format()
    assert "missing: {hire_date: infer}" in text
    assert "missing: {expected_close_date: empty}" in text
