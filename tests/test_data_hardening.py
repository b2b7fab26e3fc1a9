"""Hostile and implausible inputs: no internal error, no silent wrong result, no hang.

From a security/fault review of ``simlib data check``: org loops, look-alike owner
names, absurd amounts and dates, CRM "no date" placeholders, pipes and folders where
files were expected, a folder shadowing a mapping name, thousands of issues in one
report - and a fuzz test that throws generated CSV rows at the loader.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sys
import tempfile
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simlib.cli import main
from simlib.config import ParamError, load_model
from simlib.data import DataError, load_data, validate_tables
from simlib.data.io import _load_mapping
from simlib.data.mapping import MappingSpec
from simlib.data.org import cycles, depths
from simlib.data.schema import STAGES, TABLES
from simlib.params import load_params

HERE = Path(__file__).parent
TINY = HERE / "fixtures" / "tiny"
BAD = HERE / "bad_inputs" / "data"
CANONICAL_OPPS = BAD / "mappings" / "canonical_opps.yaml"
OPP_COLS = TABLES["opportunities"].column_names


def _spec(name: str, **top) -> MappingSpec:
    """A shipped mapping with top-level keys (aliases, checks) replaced."""
    raw = load_params(f"mappings/{name}.yaml").model_dump()
    raw.update(top)
    return MappingSpec.model_validate(raw)


def _opps(folder: Path, rows: list[dict]) -> Path:
    """An opportunities.csv in canonical columns (reps, customers, products derived)."""
    folder.mkdir(parents=True, exist_ok=True)
    base = dict(
        customer_id="C-1",
        owner_id="R-1",
        product_id="P-1",
        amount="1000",
        stage="won",
        created_date="2025-02-01",
        expected_close_date="2025-03-01",
        close_date="2025-03-01",
    )
    frame = pd.DataFrame([{**base, **r} for r in rows])
    frame.to_csv(folder / "opportunities.csv", index=False)
    return folder


def _in_thread(fn, timeout: float = 30.0):
    """Run ``fn`` in a thread; fail (rather than hang the suite) if it blocks."""
    box: dict = {}

    def run():
        try:
            box["value"] = fn()
        except BaseException as e:  # noqa: BLE001 - handed back to the test
            box["error"] = e

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(timeout)
    assert not t.is_alive(), f"still running after {timeout}s: the loader blocked"
    return box


# --------------------------------------------------------------------------- org loops


def test_cycles_lists_every_loop_once():
    parent = {"CO": "T-SH", "R-EAST": "CO", "T-SH": "R-EAST", "X": "X", "Y": "X", "Z": None}
    assert cycles(parent) == [["CO", "T-SH", "R-EAST"], ["X"]]
    assert cycles({"CO": None, "R": "CO", "T": "R", "U": "gone"}) == []
    with pytest.raises(ValueError):  # what cycles() finds, depths() refuses
        depths(parent)


def test_every_org_loop_is_reported_at_once(tmp_path):
    (tmp_path / "org.csv").write_text(
        "node_id,parent_id,level,name\n"
        "CO,,company,Company\n"
        "R-EAST,R-EAST,region,East\n"
        "R-WEST,T-W,region,West\n"
        "T-W,R-WEST,team,West team\n"
        "T-SH,R-EAST,team,Shanghai\n"
        "T-X,R-NONE,team,Orphan\n",
        encoding="utf-8",
    )
    with pytest.raises(DataError) as err:
        load_data(tmp_path, BAD / "mappings" / "org.yaml")
    got = {(i.row, i.column, i.value) for i in err.value.report.errors}
    assert (3, "parent_id", "R-EAST") in got  # self-parent
    assert {(4, "parent_id", "T-W"), (5, "parent_id", "R-WEST")} <= got  # the cycle
    assert (7, "parent_id", "R-NONE") in got  # a parent that is not a node
    assert "unknown org node: not in org.node_id" in str(err.value)


def test_validate_tables_catches_an_org_loop():
    org = pd.DataFrame(
        {
            "node_id": ["CO", "R1"],
            "parent_id": ["R1", "CO"],
            "level": ["company", "region"],
            "name": ["Co", "R"],
        }
    )
    report = validate_tables({"org": org})
    assert [(i.row, i.column) for i in report.errors] == [(1, "parent_id"), (2, "parent_id")]
    assert "the organisation has a cycle: 'CO' → 'R1' → 'CO'" in report.format()


# --------------------------------------------------------------------------- owners


def test_lookalike_owners_merge_once_the_suggested_aliases_are_added(tmp_path):
    folder = BAD / "sf_lookalike_owners"
    warned = load_data(folder, "salesforce")
    (issue,) = [i for i in warned.report.warnings if "look-alike" in i.message]
    assert warned.opportunities["owner_id"].nunique() == 3  # the split the warning is about
    # The message holds the YAML to paste; pasted, the three spellings are one rep.
    aliases = yaml.safe_load(issue.message.split("add to the mapping: ")[1])["aliases"]
    assert aliases == {"owner": {"HU YING": "Hu Ying", "Hu Y\u0456ng": "Hu Ying"}}
    data = load_data(folder, _spec("salesforce", aliases=aliases))
    assert set(data.opportunities["owner_id"]) == {"Hu Ying"}
    assert len(data.reps) == 1
    assert not [i for i in data.report.warnings if "look-alike" in i.message]


@pytest.mark.parametrize(
    "names",
    [
        ["Li Na", "LI NA"],  # case
        ["Li Na", "Li  Na"],  # spacing
        ["Li Na", "Ｌｉ Ｎａ"],  # full-width (NFKC)
        ["Olga", "\u039flga"],  # Greek capital omicron
        ["Petrov", "P\u0435tr\u043ev"],  # Cyrillic е and о
        ["Li Na", "Li\u200b Na"],  # an invisible zero-width space
    ],
)
def test_lookalike_kinds(tmp_path, names):
    _opps(tmp_path, [dict(opportunity_id=f"O{k}", owner_id=n) for k, n in enumerate(names)])
    data = load_data(tmp_path, CANONICAL_OPPS)
    hits = [i for i in data.report.warnings if "look-alike" in i.message]
    assert len(hits) == 1 and hits[0].row == 3 and hits[0].value == names[1]


def test_different_people_are_not_lookalikes(tmp_path):
    names = ["Li Na", "Li Ning", "Wang Fang", "张伟", "張偉"]
    _opps(tmp_path, [dict(opportunity_id=f"O{k}", owner_id=n) for k, n in enumerate(names)])
    data = load_data(tmp_path, CANONICAL_OPPS)
    assert not [i for i in data.report.warnings if "look-alike" in i.message]


# --------------------------------------------------------------------------- amounts


def _amounts(folder: Path, amounts: list[str]) -> Path:
    return _opps(folder, [dict(opportunity_id=f"O{k}", amount=a) for k, a in enumerate(amounts)])


def test_huge_and_infinite_amounts_are_errors(tmp_path):
    _amounts(tmp_path, ["1000", "1e17", "1E+30", "1e400", "9999999999999"])
    with pytest.raises(DataError) as err:
        load_data(tmp_path, CANONICAL_OPPS)
    got = {i.row: i.message for i in err.value.report.errors}
    assert set(got) == {3, 4, 5}  # 9,999,999,999,999 is below the limit
    assert "implausibly large amount" in got[3] and "implausibly large amount" in got[4]
    assert got[5] == "not a finite number"


def test_max_amount_is_configurable(tmp_path):
    _amounts(tmp_path, ["1000", "2000000"])
    spec = MappingSpec.model_validate(
        {**_load_mapping(CANONICAL_OPPS).model_dump(), "checks": {"max_amount": 1e6}}
    )
    with pytest.raises(DataError, match="expected at most 1,000,000"):
        load_data(tmp_path, spec)


def test_sub_cent_rounding_is_half_up_and_counted(tmp_path):
    _amounts(tmp_path, ["100.005", "0.125", "1.5万", "2.675", "10.10"])
    data = load_data(tmp_path, CANONICAL_OPPS)
    amounts = data.opportunities.set_index("opportunity_id")["amount"]
    assert list(amounts[["O0", "O1", "O2", "O3", "O4"]]) == [100.01, 0.13, 15000.0, 2.68, 10.1]
    (w,) = [i for i in data.report.warnings if "fractions of a cent" in i.message]
    assert w.message.startswith("3 value(s)") and w.row == 2 and w.value == "100.005"


def _spread(n: int, seed: int = 7) -> list[str]:
    rng = np.random.default_rng(seed)
    return [f"{v:.2f}" for v in np.exp(rng.normal(np.log(150_000), 0.6, n))]


def test_outliers_warn_by_default(tmp_path):
    amounts = _spread(60)
    amounts[10] = "150000000000"  # 1,000,000x the typical deal, below the hard limit
    amounts[20] = "1.50"
    _amounts(tmp_path, amounts)
    data = load_data(tmp_path, CANONICAL_OPPS)
    flagged = {i.row: i for i in data.report.warnings if "usual range" in i.message}
    assert set(flagged) == {12, 22}
    assert "a typo?" in flagged[12].message and "checks.outlier_mads" in flagged[12].message
    assert len(data.opportunities) == 60  # a warning keeps the row


def test_outliers_rejected_when_configured(tmp_path):
    amounts = _spread(60)
    amounts[10] = "150000000000"
    _amounts(tmp_path, amounts)
    spec = MappingSpec.model_validate(
        {**_load_mapping(CANONICAL_OPPS).model_dump(), "checks": {"outliers": "reject"}}
    )
    with pytest.raises(DataError) as err:
        load_data(tmp_path, spec)
    assert [i.row for i in err.value.report.errors] == [12]
    data = load_data(tmp_path, spec, strict=False, rejects=tmp_path / "rej.csv")
    assert data.report.rejected == {"opportunities": 1}


def test_outlier_bounds_per_column_and_off(tmp_path):
    _amounts(tmp_path, ["1000", "5000", "80000"])
    base = _load_mapping(CANONICAL_OPPS).model_dump()
    fixed = MappingSpec.model_validate(
        {**base, "checks": {"columns": {"opportunities.amount": {"max": 50000}}}}
    )
    data = load_data(tmp_path, fixed)
    assert [i.row for i in data.report.warnings if "checks.columns" in i.message] == [4]
    off = MappingSpec.model_validate(
        {
            **base,
            "checks": {
                "outliers": "off",
                "columns": {"opportunities.amount": {"max": 50000}},
            },
        }
    )
    # A column's own setting wins over the default; here it inherits "off".
    assert not [i for i in load_data(tmp_path, off).report.warnings if "range" in i.message]


def test_checks_section_is_validated(tmp_path):
    path = tmp_path / "mappings" / "x.yaml"
    path.parent.mkdir()
    path.write_text(
        "name: x\ntables:\n  opportunities: {source: opportunities.csv}\n"
        "checks:\n  columns:\n    opportunities.amout: {max: 10}\n",
        encoding="utf-8",
    )
    with pytest.raises(ParamError, match="did you mean 'opportunities.amount'"):
        load_model(path, MappingSpec, "mappings.x")


def test_shipped_mappings_still_validate_with_default_checks():
    for path in sorted((HERE.parent / "params" / "mappings").glob("*.yaml")):
        spec = _load_mapping(path)
        assert spec.checks.max_amount == 1e13 and spec.checks.outliers == "warn"


def test_payments_above_their_invoice(tmp_path):
    shutil.copytree(BAD / "invoice_overpaid", tmp_path / "b")
    mapping = BAD / "mappings" / "billing.yaml"
    data = load_data(tmp_path / "b", mapping, strict=False, rejects=tmp_path / "r.csv")
    assert sorted(data.payments["payment_id"]) == ["PAY-1", "PAY-2"]
    assert data.report.rejected == {"payments": 2}
    spec = MappingSpec.model_validate(
        {
            **_load_mapping(mapping).model_dump(),
            "checks": {"overpayment": "warn", "payment_tolerance": 1.05},
        }
    )
    data = load_data(tmp_path / "b", spec)  # 125,000 paid on 120,000 is within 5%
    assert [i.row for i in data.report.warnings] == [4]


# --------------------------------------------------------------------------- dates


@pytest.mark.parametrize("text", ["9999-12-31", "2300-01-01", "0001-01-01", "4712-12-31"])
def test_sentinel_in_an_optional_date_is_read_as_empty(tmp_path, text):
    _opps(tmp_path, [dict(opportunity_id="O1", stage="proposal", close_date=text)])
    spec = _load_mapping(CANONICAL_OPPS)
    data = load_data(tmp_path, spec)
    assert data.opportunities["close_date"].isna().all()
    assert [i.message.split(" ")[0] for i in data.report.warnings if "placeholder" in i.message]
    reject = MappingSpec.model_validate(
        {**spec.model_dump(), "checks": {"sentinel_action": "reject"}}
    )
    with pytest.raises(DataError, match="sentinel_action: reject"):
        load_data(tmp_path, reject)


@pytest.mark.parametrize(
    "text, message",
    [
        ("1899-12-31", "date before 1970-01-01"),
        ("2500-06-15", "years ahead"),  # not a placeholder, and out of pandas' range
        ("0999-01-01", "date before 1970-01-01"),
        ("2262-04-12", "years ahead"),
    ],
)
def test_implausible_dates_are_errors_without_crashing(tmp_path, text, message):
    _opps(tmp_path, [dict(opportunity_id="O1", created_date=text)])
    with pytest.raises(DataError) as err:
        load_data(tmp_path, CANONICAL_OPPS)
    (issue,) = [i for i in err.value.report.errors if i.column == "created_date"]
    assert issue.row == 2 and issue.value == text and message in issue.message


def test_min_date_is_configurable(tmp_path):
    spec = MappingSpec.model_validate(
        {**_load_mapping("salesforce").model_dump(), "checks": {"min_date": "1900-01-01"}}
    )
    data = load_data(BAD / "sf_date_1900", spec)
    assert str(data.opportunities["created_date"].min().date()) == "1900-01-01"


def test_sentinels_in_parquet_datetimes_do_not_crash(tmp_path):
    frame = pd.DataFrame(
        {
            "opportunity_id": ["O1", "O2"],
            "customer_id": "C",
            "owner_id": "R",
            "product_id": "P",
            "amount": [1.0, 2.0],
            "stage": ["proposal", "won"],
            "created_date": pd.to_datetime(["2025-01-01", "2025-01-02"]),
            "expected_close_date": pd.to_datetime(["2025-02-01", "2025-02-01"]),
            "close_date": np.array(["9999-12-31", "2025-02-01"], dtype="datetime64[us]"),
        }
    )
    frame.to_parquet(tmp_path / "opportunities.parquet")
    spec = MappingSpec.model_validate(
        {"name": "p", "tables": {"opportunities": {"source": "opportunities.parquet"}}}
    )
    data = load_data(tmp_path, spec)
    assert data.opportunities["close_date"].isna().sum() == 1  # the open deal's sentinel


# --------------------------------------------------------------------------- files


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_named_pipe_is_refused_without_hanging(tmp_path):
    os.mkfifo(tmp_path / "opportunities.csv")
    box = _in_thread(lambda: load_data(tmp_path, CANONICAL_OPPS))
    assert isinstance(box.get("error"), DataError), box
    assert "a named pipe, not a file; expected a regular file" in str(box["error"])
    box = _in_thread(lambda: load_data(tmp_path / "opportunities.csv", CANONICAL_OPPS))
    assert "a named pipe, not a file" in str(box.get("error"))


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
def test_device_is_refused_without_hanging(tmp_path):
    (tmp_path / "opportunities.csv").symlink_to("/dev/zero")
    box = _in_thread(lambda: load_data(tmp_path, CANONICAL_OPPS))
    assert "a device, not a file" in str(box.get("error"))


def test_unreadable_file_is_a_message(tmp_path):
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        pytest.skip("root reads everything")
    _amounts(tmp_path, ["1"])
    (tmp_path / "opportunities.csv").chmod(0)
    try:
        with pytest.raises(DataError, match="cannot read the file"):
            load_data(tmp_path, CANONICAL_OPPS)
    finally:
        (tmp_path / "opportunities.csv").chmod(0o644)


def test_a_folder_does_not_shadow_a_mapping_name(tmp_path, monkeypatch, capsys):
    shutil.copytree(TINY, tmp_path / "demo")
    monkeypatch.chdir(tmp_path)
    assert main(["data", "check", "--data", "demo", "--mapping", "demo"]) == 0
    assert "No errors." in capsys.readouterr().out
    with pytest.raises(ParamError, match="is a folder, not a mapping"):
        load_data("demo", "./demo")


# --------------------------------------------------------------------------- reports


def test_many_issues_are_grouped_and_all_written_with_issues(tmp_path, capsys):
    _amounts(tmp_path / "d", ["abc"] * 60 + ["-5"] * 2)
    with pytest.raises(DataError) as err:
        load_data(tmp_path / "d", CANONICAL_OPPS)
    text = err.value.report.format()
    assert "62 error(s): 2 kind(s), grouped by table, column and message" in text
    assert "column 'amount': not a number; expected an amount like" in text
    assert ": 60 rows, e.g." in text and "... and 57 more like these" in text
    assert len([line for line in text.splitlines() if "got 'abc'" in line]) == 3
    assert "--issues FILE" in text

    out_csv = tmp_path / "issues.csv"
    code = main(
        [
            "data",
            "check",
            "--data",
            str(tmp_path / "d"),
            "--mapping",
            str(CANONICAL_OPPS),
            "--issues",
            str(out_csv),
        ]
    )
    assert code == 2
    assert f"issue(s) written to {out_csv}" in capsys.readouterr().out
    issues = pd.read_csv(out_csv)
    errors = issues[issues["severity"] == "error"]
    assert len(errors) == 62 and sorted(errors["row"]) == list(range(2, 64))
    assert {"file", "row", "column", "value", "message"} <= set(issues.columns)


# --------------------------------------------------------------------------- fuzz

#: One planted row of each known-bad class: (column, value) laid over a good row.
KNOWN_BAD = [
    ("amount", "-5"),
    ("amount", "1e17"),
    ("amount", "1E+30"),
    ("amount", "1e400"),
    ("amount", "twelve"),
    ("created_date", "9999-12-31"),
    ("created_date", "1/1/0001"),
    ("created_date", "1900-01-01"),
    ("created_date", "2300-01-01"),
    ("created_date", "not a date"),
    ("expected_close_date", "2300-01-01"),
    ("stage", "Contract Signed"),
    ("owner_id", ""),
    ("owner_id", "NOBODY"),
    ("product_id", "P-NONE"),
]

_junk = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    max_size=12,
)
_numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(min_value=-(10**20), max_value=10**20).map(str),
    st.decimals(allow_nan=False, allow_infinity=False, places=4).map(str),
    st.sampled_from(["1,234.50", "12.5万", "(100)", "¥1,000", "1e17", "1e-9", "", " ", "0"]),
    _junk,
)
_dates = st.one_of(
    st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31)).map(str),
    st.dates(min_value=dt.date(2020, 1, 1), max_value=dt.date(2027, 1, 1)).map(
        lambda d: d.strftime("%m/%d/%Y")
    ),
    st.sampled_from(["9999-12-31", "1/1/0001", "2300-01-01", "2026-02-30", "", "0000-00-00"]),
    _junk,
)
_columns = {
    "opportunity_id": st.one_of(st.text(max_size=6).map(lambda t: f"F-{t}"), st.just("")),
    "name": _junk,
    "customer_id": st.sampled_from(["K1", "S1", "S2", "K9", "", "k1"]),
    "owner_id": st.one_of(st.sampled_from(["A", "B", "C", "D", "a", "Ａ", "\u0410", ""]), _junk),
    "product_id": st.sampled_from(["P1", "P2", "P9", ""]),
    "amount": _numbers,
    "stage": st.one_of(st.sampled_from(STAGES), _junk),
    "created_date": _dates,
    "expected_close_date": _dates,
    "close_date": _dates,
    "lead_source": _junk,
    "deal_type": st.sampled_from(["new_customer", "existing_customer", "", "partner"]),
    "probability": _numbers,
}
_row = st.fixed_dictionaries(_columns)
#: the tables an opportunity needs, from the tiny company (keeps each example fast)
FUZZ_SPEC = MappingSpec.model_validate(
    {
        "name": "fuzz",
        "tables": {
            t: {"source": f"{t}.csv"}
            for t in ("org", "reps", "products", "customers", "opportunities")
        },
    }
)


def _records(path: Path) -> int:
    """Records the loader reads (blank lines are not records), counted independently."""
    raw = pd.read_csv(
        path, dtype=str, keep_default_na=False, na_values=[""], skip_blank_lines=False
    )
    return len(raw.dropna(how="all"))


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    rows=st.lists(_row, max_size=6),
    bad=st.sampled_from(KNOWN_BAD),
    at=st.integers(min_value=0, max_value=6),
)
def test_fuzz_generated_rows_never_crash_nor_pass_a_planted_bad_row(rows, bad, at):
    good = pd.read_csv(TINY / "opportunities.csv", dtype=str, keep_default_na=False)
    planted = good.iloc[0].to_dict() | {"opportunity_id": "PLANTED", bad[0]: bad[1]}
    extra = rows[:at] + [planted] + rows[at:]
    frame = pd.concat([good, pd.DataFrame(extra, columns=OPP_COLS)], ignore_index=True)
    planted_row = len(good) + min(at, len(rows)) + 2  # header is row 1
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "crm"
        folder.mkdir()
        for t in ("org", "reps", "products", "customers"):
            shutil.copy(TINY / f"{t}.csv", folder / f"{t}.csv")
        frame.to_csv(folder / "opportunities.csv", index=False)

        # strict: a DataError that names the planted row (or the file), never success
        try:
            load_data(folder, FUZZ_SPEC, as_of=dt.date(2026, 10, 31))
        except DataError as e:
            report = e.report
            assert report.errors
            structural = any(i.row is None for i in report.errors)
            assert structural or any(
                i.table == "opportunities" and i.row == planted_row for i in report.errors
            ), f"planted {bad} on row {planted_row} not reported:\n{report.format()}"
        except ParamError:
            pass
        else:
            pytest.fail(f"strict load accepted the planted bad row {bad}")

        # lenient: the planted row is rejected with its number; nothing dropped silently
        rejects = Path(tmp) / "rejects.csv"
        try:
            data = load_data(folder, FUZZ_SPEC, strict=False, rejects=rejects)
        except (DataError, ParamError) as e:
            assert not isinstance(e, DataError) or any(i.row is None for i in e.report.errors)
            return
        assert "PLANTED" not in set(data.opportunities["opportunity_id"])
        rej = pd.read_csv(rejects, dtype={"row": int}, keep_default_na=False)
        assert planted_row in set(rej.loc[rej["table"] == "opportunities", "row"])
        read = _records(folder / "opportunities.csv")
        assert data.report.rows["opportunities"] + data.report.rejected["opportunities"] == read


def test_fuzz_helpers_see_the_planted_row():
    # the fuzz test's own arithmetic: planted row numbers match what the loader reports
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for t in ("org", "reps", "products", "customers"):
            shutil.copy(TINY / f"{t}.csv", folder / f"{t}.csv")
        good = pd.read_csv(TINY / "opportunities.csv", dtype=str, keep_default_na=False)
        planted = good.iloc[0].to_dict() | {"opportunity_id": "PLANTED", "amount": "-1"}
        pd.concat([good, pd.DataFrame([planted])]).to_csv(folder / "opportunities.csv", index=False)
        with pytest.raises(DataError) as err:
            load_data(folder, FUZZ_SPEC)
        assert [i.row for i in err.value.report.errors] == [len(good) + 2]


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
