"""Loading CRM exports: formats, mappings, parsing, strict and lenient modes, the CLI."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from simlib.cli import main
from simlib.config import ParamError
from simlib.data import DataError, load_data
from simlib.data.io import parse_amounts, parse_dates
from simlib.data.mapping import MappingSpec
from simlib.params import load_params

HERE = Path(__file__).parent
SALESFORCE = HERE / "fixtures" / "salesforce"
HUBSPOT = HERE / "fixtures" / "hubspot"
BAD = HERE / "bad_inputs" / "data"


def _mapping(name: str, **changes) -> MappingSpec:
    """A shipped mapping with some of its opportunity-table settings replaced."""
    spec = load_params(f"mappings/{name}.yaml").model_dump()
    aliases = changes.pop("aliases", None)
    spec["tables"]["opportunities"].update(changes)
    if aliases is not None:
        spec["aliases"] = aliases
    return MappingSpec.model_validate(spec)


def _csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows, columns=header).to_csv(path, index=False)
    return path


HS_HEADER = [
    "Record ID",
    "Deal Name",
    "Deal Stage",
    "Close Date",
    "Create Date",
    "Amount",
    "Deal owner",
    "Deal Type",
    "Associated Company",
    "Pipeline",
]


def _deal(
    rid,
    amount="1000",
    owner="Li Na",
    stage="Closed Won",
    close="2025-03-15 10:23",
    created="2025-02-01 09:00",
    company="Acme",
):
    return [
        rid,
        f"Deal {rid}",
        stage,
        close,
        created,
        amount,
        owner,
        "New Business",
        company,
        "Sales Pipeline",
    ]


# --------------------------------------------------------------------------- shipped exports


def test_salesforce_report_export_loads():
    data = load_data(SALESFORCE, "salesforce")
    opp = data.opportunities
    assert data.report.ok
    assert len(opp) == 6
    # A standard report has no id column: the row a person sees names the deal.
    assert list(opp["opportunity_id"]) == [f"row-{r}" for r in range(2, 8)]
    by_id = opp.set_index("opportunity_id")
    assert by_id.loc["row-2", "amount"] == 120_000.0  # "USD 120,000.00"
    assert by_id.loc["row-3", "amount"] == 85_500.0  # "$85,500.00"
    assert by_id.loc["row-2", "stage"] == "won"  # Closed Won
    assert by_id.loc["row-3", "stage"] == "negotiation"  # Negotiation/Review
    assert by_id.loc["row-5", "probability"] == pytest.approx(0.75)  # "75" with scale 0.01
    assert by_id.loc["row-7", "deal_type"] == "existing_customer"  # Add-On Business
    # One "Close Date": the actual close for closed deals, the expected one for open deals.
    assert by_id.loc["row-2", "close_date"] == pd.Timestamp("2025-03-28")
    assert pd.isna(by_id.loc["row-3", "close_date"])
    assert by_id.loc["row-3", "expected_close_date"] == pd.Timestamp("2025-09-30")
    # The report's footer (total, copyright, ...) is cut, and the report says where.
    footer = [i for i in data.report.warnings if "footer" in i.message]
    assert len(footer) == 1 and footer[0].row == 11 and "5 row(s)" in footer[0].message
    # Reps and accounts come from the names in the export.
    assert sorted(data.reps["rep_id"]) == ["Li Na", "Wang Fang", "Zhang Wei"]
    assert len(data.customers) == 5
    assert set(data.stage_history["opportunity_id"]) == set(opp["opportunity_id"])


def test_hubspot_deals_export_loads():
    data = load_data(HUBSPOT, "hubspot")
    assert data.report.ok, data.report.format()
    opp = data.opportunities.set_index("opportunity_id")
    assert len(opp) == 8
    assert opp.index[0] == "18236454321"  # an id stays text
    assert opp.loc["18236454321", "created_date"] == pd.Timestamp("2025-01-20")  # "09:05" dropped
    assert opp.loc["18236454321", "close_date"] == pd.Timestamp("2025-03-15")  # "10:23" dropped
    assert opp.loc["18236454388", "amount"] == 85_500.5
    assert opp["stage"].to_dict() == {
        "18236454321": "won",
        "18236454388": "negotiation",
        "18236454390": "lost",
        "18236454402": "proposal",
        "18236454415": "qualification",
        "18236454433": "won",
        "18236454447": "discovery",
        "18236454460": "discovery",
    }
    assert pd.isna(opp.loc["18236454415", "deal_type"])  # blank Deal Type stays blank
    assert opp["customer_id"].loc["18236454402"] == "Umbrella Corp"
    # Original Source Type is mapped but not in this export: a warning, not an error.
    assert any("Original Source Type" in str(i) for i in data.report.warnings)
    # Without aliases, the two spellings of one person are two owners.
    assert {"Wei Zhang", "张伟"} <= set(data.reps["rep_id"])


def test_aliases_map_two_spellings_to_one_owner():
    spec = _mapping("hubspot", aliases={"owner": {"Wei Zhang": "Zhang Wei", "张伟": "Zhang Wei"}})
    data = load_data(HUBSPOT, spec)
    owners = data.opportunities.set_index("opportunity_id")["owner_id"]
    assert owners[["18236454321", "18236454402", "18236454447"]].tolist() == ["Zhang Wei"] * 3
    assert sorted(data.reps["rep_id"]) == ["Li Na", "Wang Fang", "Zhang Wei"]


def test_alias_lookup_ignores_case_and_surrounding_spaces(tmp_path):
    _csv(
        tmp_path / "deals.csv",
        HS_HEADER,
        [_deal("1", owner="  wei zhang "), _deal("2", owner="Li Na")],
    )
    spec = _mapping("hubspot", aliases={"owner": {"Wei Zhang": "Zhang Wei"}})
    data = load_data(tmp_path, spec)
    assert sorted(data.opportunities["owner_id"]) == ["Li Na", "Zhang Wei"]


# --------------------------------------------------------------------------- same data, any format


def _typed_hubspot() -> pd.DataFrame:
    """The HubSpot fixture as a spreadsheet or database would hold it: numbers and datetimes."""
    df = pd.read_csv(HUBSPOT / "deals.csv", dtype=str, keep_default_na=False)
    df["Record ID"] = df["Record ID"].astype("int64")
    df["Amount"] = df["Amount"].astype("float64")
    for c in ("Close Date", "Create Date"):
        df[c] = pd.to_datetime(df[c], format="%Y-%m-%d %H:%M")
    df["Deal Type"] = df["Deal Type"].replace("", None)
    return df


def test_csv_excel_parquet_and_sql_give_identical_tables(tmp_path):
    typed = _typed_hubspot()
    typed.to_excel(tmp_path / "deals.xlsx", index=False, engine="openpyxl")
    typed.to_parquet(tmp_path / "deals.parquet", index=False)
    db = tmp_path / "crm.sqlite"
    with sqlite3.connect(db) as con:
        typed.to_sql("deals", con, index=False)

    from_csv = load_data(HUBSPOT, "hubspot")
    others = {
        "xlsx": load_data(tmp_path, _mapping("hubspot", source="deals.xlsx")),
        "parquet": load_data(tmp_path, _mapping("hubspot", source="deals.parquet")),
        "sql": load_data(f"sqlite:///{db}", _mapping("hubspot", source="deals")),
        "sql query": load_data(
            f"sqlite:///{db}",
            _mapping("hubspot", source="SELECT * FROM deals WHERE \"Pipeline\" = 'Sales Pipeline'"),
        ),
    }
    assert len(from_csv.opportunities) == 8
    for fmt, data in others.items():
        assert data.report.ok, f"{fmt}: {data.report.format()}"
        assert set(data.tables) == set(from_csv.tables), fmt
        for name, df in from_csv.tables.items():
            pd.testing.assert_frame_equal(data[name], df, obj=f"{fmt} {name}")
        assert data.as_of == from_csv.as_of


def test_excel_row_numbers_match_the_sheet(tmp_path):
    typed = _typed_hubspot().astype({"Amount": "object"})
    typed.loc[3, "Amount"] = "about 250k"  # the 4th record: row 5 under the header
    blank = pd.DataFrame([[None] * typed.shape[1]], columns=typed.columns)
    pd.concat([typed.iloc[:2], blank, typed.iloc[2:]]).to_excel(
        tmp_path / "deals.xlsx", index=False, engine="openpyxl"
    )  # a blank row 4
    with pytest.raises(DataError) as err:
        load_data(tmp_path, _mapping("hubspot", source="deals.xlsx"))
    (issue,) = err.value.report.errors
    assert (issue.row, issue.column, issue.value) == (6, "amount", "about 250k")


def test_parquet_and_sql_rows_count_from_one(tmp_path):
    typed = _typed_hubspot()
    typed.loc[1, "Amount"] = -5.0
    typed.to_parquet(tmp_path / "deals.parquet", index=False)
    with pytest.raises(DataError) as err:
        load_data(tmp_path, _mapping("hubspot", source="deals.parquet"))
    (issue,) = err.value.report.errors
    assert (issue.row, issue.column, issue.value) == (2, "amount", -5.0)
    assert "row 2, column 'Amount' (amount): got -5;" in str(issue)


def test_parquet_saved_with_its_index_keeps_that_column(tmp_path):
    _typed_hubspot().set_index("Record ID").to_parquet(tmp_path / "deals.parquet")
    data = load_data(tmp_path, _mapping("hubspot", source="deals.parquet"))
    assert data.opportunities["opportunity_id"].iloc[0] == "18236454321"


def test_bad_sql_url_is_a_message(tmp_path):
    with pytest.raises(DataError, match=r"cannot read: .*"):
        load_data("nosuchdialect://x/y", _mapping("hubspot", source="deals"))


# --------------------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2025-03-05", "2025-03-05"),
        ("2025/3/5", "2025-03-05"),
        ("3/15/2025", "2025-03-15"),
        ("15.03.2025", "2025-03-15"),
        ("2025年3月5日", "2025-03-05"),
        ("2025-03-15 10:23", "2025-03-15"),
        ("2025-03-15T10:23:00Z", "2025-03-15"),
        ("20250315", "2025-03-15"),
    ],
)
def test_common_date_formats_parse(text, expected):
    parsed, bad, _ = parse_dates(pd.Series([text, None, ""], dtype=object))
    assert parsed.iloc[0] == pd.Timestamp(expected)
    assert pd.isna(parsed.iloc[1]) and pd.isna(parsed.iloc[2])
    assert not bad.any()  # blanks are missing, not unparseable


def test_a_column_keeps_one_format():
    # 13/03 cannot be month-first, so the column is day-first and 05/03 is 5 March.
    parsed, bad, used = parse_dates(pd.Series(["05/03/2025", "13/03/2025"]))
    assert used == "%d/%m/%Y" and not bad.any()
    assert list(parsed) == [pd.Timestamp("2025-03-05"), pd.Timestamp("2025-03-13")]


def test_mapping_date_format_fixes_an_ambiguous_column(tmp_path):
    rows = [
        _deal("1", close="05/03/2025", created="01/02/2025"),
        _deal("2", close="07/04/2025", created="02/03/2025"),
    ]
    _csv(tmp_path / "deals.csv", HS_HEADER, rows)
    guessed = load_data(tmp_path, "hubspot")
    assert guessed.opportunities["close_date"].iloc[0] == pd.Timestamp("2025-05-03")
    assert any("ambiguous dates" in str(i) for i in guessed.report.warnings)

    fixed = load_data(tmp_path, _mapping("hubspot", date_format="%d/%m/%Y"))
    assert fixed.opportunities["close_date"].iloc[0] == pd.Timestamp("2025-03-05")
    assert fixed.opportunities["created_date"].iloc[1] == pd.Timestamp("2025-03-02")
    assert not any("ambiguous" in str(i) for i in fixed.report.issues)

    # date_formats fixes one column only.
    one = load_data(tmp_path, _mapping("hubspot", date_formats={"created_date": "%d/%m/%Y"}))
    assert one.opportunities["created_date"].iloc[0] == pd.Timestamp("2025-02-01")
    assert one.opportunities["close_date"].iloc[0] == pd.Timestamp("2025-05-03")


@pytest.mark.parametrize(
    "text, expected",
    [
        ("¥1,234.50", 1234.5),
        ("￥1,234.50", 1234.5),
        ("CNY 1,234", 1234.0),
        ("12.5万", 125_000.0),
        ("1.2亿", 120_000_000.0),
        ("RMB 3,000元", 3000.0),
        ("$85,500.00", 85_500.0),
        ("1 234 567", 1_234_567.0),
        ("(100)", -100.0),
        ("-¥100", -100.0),
        ("1.5E+07", 15_000_000.0),
    ],
)
def test_amount_formats_parse(text, expected):
    values, bad = parse_amounts(pd.Series([text], dtype=object))
    assert not bad.iloc[0]
    assert values.iloc[0] == pytest.approx(expected)


@pytest.mark.parametrize("text", ["TBD", "1.234,50", "12,5", "1,23,456", "12 apples", "¥"])
def test_amounts_that_are_not_guessed(text):
    values, bad = parse_amounts(pd.Series([text], dtype=object))
    assert bad.iloc[0] and np.isnan(values.iloc[0])


def test_amounts_through_a_mapping(tmp_path):
    rows = [
        _deal("1", amount="¥1,234.50"),
        _deal("2", amount="CNY 1,234"),
        _deal("3", amount="12.5万"),
        _deal("4", amount="(100)"),
    ]
    _csv(tmp_path / "deals.csv", HS_HEADER, rows)
    with pytest.raises(DataError) as err:
        load_data(tmp_path, "hubspot")
    (issue,) = err.value.report.errors
    assert (issue.row, issue.value) == (5, "(100)")
    assert "column 'Amount' (amount): got '(100)'; negative; expected an amount >= 0" in str(issue)
    data = load_data(tmp_path, "hubspot", strict=False, rejects=tmp_path / "rejects.csv")
    assert data.opportunities.set_index("opportunity_id")["amount"].to_dict() == {
        "1": 1234.5,
        "2": 1234.0,
        "3": 125_000.0,
    }


# --------------------------------------------------------------------------- strict and lenient


def _broken_hubspot(folder: Path) -> Path:
    rows = [
        _deal("1"),
        _deal("2", amount="-50"),
        _deal("3", stage="Contract Signed"),
        _deal("4"),
        _deal("1", amount="700"),
        _deal("5", created="soon"),
    ]
    return _csv(folder / "deals.csv", HS_HEADER, rows)


def test_strict_mode_raises_with_every_issue_and_loads_nothing(tmp_path):
    _broken_hubspot(tmp_path)
    with pytest.raises(DataError) as err:
        load_data(tmp_path, "hubspot")
    report = err.value.report
    assert {(i.row, i.column) for i in report.errors} == {
        (3, "amount"),
        (4, "stage"),
        (6, "opportunity_id"),
        (7, "created_date"),
    }
    assert not (tmp_path / "rejects.csv").exists()
    assert "Read (nothing loaded):" in str(err.value)
    assert "4 error(s):" in str(err.value)


def test_lenient_mode_loads_good_rows_and_writes_the_rest(tmp_path):
    _broken_hubspot(tmp_path)
    data = load_data(tmp_path, "hubspot", strict=False)  # default: beside the data
    rejects = tmp_path / "rejects.csv"
    assert sorted(data.opportunities["opportunity_id"]) == ["1", "4"]
    assert data.report.rejected == {"opportunities": 4}
    assert data.report.rejects_file == str(rejects)
    text = data.report.format()
    assert "4 rejected row(s) written with reasons to" in text
    assert "opportunities         2 rows, 4 rejected" in text

    rej = pd.read_csv(rejects, dtype={"row": int}).set_index("row")
    assert list(rej.columns) == ["table", "file", "reasons", "record"]
    assert sorted(rej.index) == [3, 4, 6, 7]
    assert "negative; expected an amount >= 0 (got '-50')" in rej.loc[3, "reasons"]
    assert "unknown stage value" in rej.loc[4, "reasons"]
    assert "duplicate opportunity_id; first seen on row 2" in rej.loc[6, "reasons"]
    assert "unparseable date" in rej.loc[7, "reasons"]
    assert '"Deal Stage":"Contract Signed"' in rej.loc[4, "record"]  # the row as it was read
    # Nothing dropped silently.
    assert len(data.opportunities) + len(rej) == 6
    # Derived history holds only the loaded deals.
    assert set(data.stage_history["opportunity_id"]) == {"1", "4"}


def test_lenient_mode_rejects_rows_hanging_off_a_rejected_deal(tmp_path):
    folder = tmp_path / "crm"
    shutil.copytree(BAD / "crm_rejected_parent", folder)
    data = load_data(folder, BAD / "mappings" / "crm.yaml", strict=False)
    assert data.report.rejected == {"opportunities": 1, "stage_history": 2}
    assert "O-2" not in set(data.stage_history["opportunity_id"])
    rej = pd.read_csv(folder / "rejects.csv")
    children = rej[rej["table"] == "stage_history"]
    assert list(children["row"]) == [4, 5]
    assert all("its row in opportunities was rejected" in r for r in children["reasons"])
    for name in ("opportunities", "stage_history", "reps", "products"):
        read = len(pd.read_csv(folder / f"{name}.csv"))
        assert data.report.rows[name] + data.report.rejected.get(name, 0) == read, name


def test_lenient_mode_with_nothing_wrong_writes_no_rejects(tmp_path):
    folder = tmp_path / "hs"
    shutil.copytree(HUBSPOT, folder)
    data = load_data(folder, "hubspot", strict=False)
    assert data.report.ok and data.report.rejected == {}
    assert not (folder / "rejects.csv").exists()


def test_structural_errors_stop_even_a_lenient_load(tmp_path):
    with pytest.raises(DataError, match="no data rows below the header"):
        load_data(BAD / "sf_header_only", "salesforce", strict=False, rejects=tmp_path / "r.csv")


# --------------------------------------------------------------------------- mappings


def test_a_mapping_file_may_live_anywhere(tmp_path):
    spec = (HERE.parent / "params" / "mappings" / "hubspot.yaml").read_text(encoding="utf-8")
    (tmp_path / "my_crm.yaml").write_text(spec, encoding="utf-8")
    data = load_data(HUBSPOT, tmp_path / "my_crm.yaml")
    assert len(data.opportunities) == 8


def test_unknown_mapping_name_lists_the_shipped_ones():
    with pytest.raises(ParamError, match="mapping not found.*hubspot, salesforce"):
        load_data(HUBSPOT, "hubspott")


def test_missing_data_path():
    with pytest.raises(DataError, match="data path not found"):
        load_data(HERE / "no_such_folder", "hubspot")


# --------------------------------------------------------------------------- command line


def _check(*args: str) -> list[str]:
    return ["data", "check", *args]


def test_cli_data_check_good_data_exits_0(capsys):
    assert main(_check("--data", str(SALESFORCE), "--mapping", "salesforce")) == 0
    out, err = capsys.readouterr()
    assert "No errors." in out and "opportunities" in out
    assert err == ""


def test_cli_data_check_bad_data_exits_2_with_the_report(capsys):
    code = main(_check("--data", str(BAD / "sf_negative_amount"), "--mapping", "salesforce"))
    out, err = capsys.readouterr()
    assert code == 2
    assert "row 3, column 'Amount' (amount): got '-5,000.00'; negative" in out
    assert "1 error(s); nothing loaded" in err
    assert "Traceback" not in out + err


def test_cli_data_check_lenient_reports_rejects_and_exits_2(capsys, tmp_path):
    rejects = tmp_path / "rejected.csv"
    code = main(
        _check(
            "--data",
            str(BAD / "sf_unknown_stage"),
            "--mapping",
            "salesforce",
            "--lenient",
            "--rejects",
            str(rejects),
        )
    )
    out, _ = capsys.readouterr()
    assert code == 2
    assert f"1 rejected row(s) written with reasons to {rejects}" in out
    assert rejects.exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--data", str(HUBSPOT), "--mapping", "hubspott"], "mapping not found"),
        (
            [
                "--data",
                str(HUBSPOT),
                "--mapping",
                str(
                    HERE
                    / "bad_inputs"
                    / "params"
                    / "mapping_unknown_column"
                    / "mappings"
                    / "crm.yaml"
                ),
            ],
            "did you mean 'amount'?",
        ),
        (["--data", str(HERE / "nowhere"), "--mapping", "hubspot"], "data path not found"),
        (
            ["--data", str(BAD / "hs_json_file" / "deals.json"), "--mapping", "hubspot"],
            "unsupported file type",
        ),
    ],
)
def test_cli_user_errors_are_messages(capsys, args, message):
    code = main(_check(*args))
    out, err = capsys.readouterr()
    assert code == 2
    assert message in out + err
    assert "Traceback" not in out + err


def test_cli_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["data", "check", "--mapping", "hubspot"])
    assert exc.value.code == 2
    _, err = capsys.readouterr()
    assert "--data" in err and "Traceback" not in err


def test_console_script_runs():
    script = Path(sys.executable).with_name("simlib")
    assert script.exists(), f"console script not installed at {script}"
    proc = subprocess.run(
        [
            str(script),
            "data",
            "check",
            "--data",
            str(BAD / "sf_unknown_stage"),
            "--mapping",
            "salesforce",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "row 3, column 'Stage' (stage): got 'Contract Signed'" in proc.stdout
    assert "Traceback" not in proc.stderr
