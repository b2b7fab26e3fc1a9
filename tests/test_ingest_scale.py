"""The synthetic Salesforce export, and data check's column-at-once paths against the
per-cell ones they stand in for (same issues, same tables)."""

from __future__ import annotations

import pandas as pd
import pytest

from simlib.data import DataError, load_data
from simlib.data import io as dio
from simlib.data.synthetic import BAD_KINDS, planted, write_export

MAPPING = "salesforce_history"


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    return write_export(tmp_path_factory.mktemp("clean"), n_opportunities=3000, n_owners=12)


@pytest.fixture(scope="module")
def bad(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bad")
    return write_export(folder, n_opportunities=3000, n_owners=12, seed=3, bad_rows=12)


def per_cell(monkeypatch):
    """Switch the column-at-once paths off: every column is read cell by cell."""
    monkeypatch.setattr(dio, "_arrow_strings", lambda values: None)
    monkeypatch.setattr(dio, "_read_csv_arrow", lambda *a: None)
    monkeypatch.setattr(dio, "_DISTINCT_CACHE", None)


# --------------------------------------------------------------------------- the generator


def test_small_export_passes_data_check_clean(clean):
    data = load_data(clean, MAPPING)
    assert data.report.errors == []
    # the only warnings: the tables a Salesforce export does not have, derived
    assert all("derived" in w.message for w in data.report.warnings)
    assert len(data.opportunities) == 3000
    assert len(data.stage_history) > 3 * 3000  # several rows a deal
    assert data.reps["rep_id"].nunique() == 12
    assert any(not n.isascii() for n in data.reps["rep_id"])  # names, some Chinese
    stages = data.opportunities["stage"].value_counts()
    assert {"won", "lost"} <= set(stages.index) and stages.drop(["won", "lost"]).sum() > 0
    assert data.as_of.isoformat() == "2026-11-30"


def test_export_is_deterministic_by_seed(tmp_path, clean):
    again = write_export(tmp_path / "again", n_opportunities=3000, n_owners=12)
    for name in ("opportunities.csv", "opportunity_history.csv"):
        assert (again / name).read_bytes() == (clean / name).read_bytes()
    other = write_export(tmp_path / "other", n_opportunities=3000, n_owners=12, seed=1)
    assert (other / "opportunities.csv").read_bytes() != (clean / "opportunities.csv").read_bytes()


def test_each_planted_bad_cell_is_reported_at_its_row_column_and_value(bad):
    cells = planted(bad)
    assert sorted({c["kind"] for c in cells}) == sorted(BAD_KINDS)
    assert len(cells) == 12
    with pytest.raises(DataError) as e:
        load_data(bad, MAPPING)
    report = e.value.report
    errors = {(i.table, i.row, i.source_column or i.column): i for i in report.errors}
    assert len(report.errors) == 12
    for c in cells:
        issue = errors[(c["table"], c["row"], c["source_column"])]
        assert issue.column == c["column"]
        assert issue.value == c["value"]
        assert issue.file.endswith(
            "opportunities.csv" if c["table"] == "opportunities" else "opportunity_history.csv"
        )
        if c["kind"] == "duplicate_id":
            assert issue.message == f"duplicate opportunity_id; first seen on row {c['row'] - 1}"
    text = report.format()
    # grouped by kind: six kinds of two rows each
    assert "12 error(s): 6 kind(s), grouped by table, column and message" in text
    for what in (
        "unparseable date",
        "negative; expected an amount >= 0",
        "unknown stage value",
        "duplicate opportunity_id",
        "unknown opportunity: not in opportunities.opportunity_id",
        "missing value; owner_id is required",
    ):
        assert what in text
    assert text.count(": 2 rows, e.g.") == 6


# --------------------------------------------------------------------------- agreement


def _same_report(a, b):
    assert [str(i) for i in a.issues] == [str(i) for i in b.issues]
    assert a.rows == b.rows


def test_whole_load_agrees_with_the_per_cell_path(bad, clean, monkeypatch, tmp_path):
    fast_bad = pytest.raises(DataError, load_data, bad, MAPPING).value.report
    fast = load_data(clean, MAPPING)
    lenient = load_data(bad, MAPPING, strict=False, rejects=tmp_path / "fast.csv")
    per_cell(monkeypatch)
    slow_bad = pytest.raises(DataError, load_data, bad, MAPPING).value.report
    slow = load_data(clean, MAPPING)
    slow_lenient = load_data(bad, MAPPING, strict=False, rejects=tmp_path / "slow.csv")
    _same_report(fast_bad, slow_bad)
    _same_report(fast.report, slow.report)
    assert fast.fingerprint == slow.fingerprint
    for name in fast.tables:
        assert dict(fast[name].dtypes) == dict(slow[name].dtypes), name
    _same_report(lenient.report, slow_lenient.report)
    assert lenient.fingerprint == slow_lenient.fingerprint
    assert (tmp_path / "fast.csv").read_bytes() == (tmp_path / "slow.csv").read_bytes()


MESSY = (
    "Opportunity ID,Opportunity Owner,Account Name,Opportunity Name,Product,Stage,Amount,"
    "Probability (%),Close Date,Created Date,Lead Source,Type\n"
    'A1, Zhang Wei ,Acme,x,Sensors,Closed Won,"¥1,234.50",100,3/28/2025,2/11/2025,Web,'
    "New Business\n"
    "A2,zhang wei,Acme,x,Sensors,Negotiation/Review,12.5万,90,9/30/2025,8/2/2025,Web,Renewal\n"
    "A3,李娜,Globex,,Sensors,closed lost,(100),0,6/15/2025,4/10/2025,,Upsell\n"
    "A4,李娜\u3000,Globex,y,Gateway,Stalled,abc,75,13/45/2025,not a date,Web,Weird\n"
    "\n"
    "A5,,Initech,z,Gateway,Qualification,USD 5,10,12/19/2025, 10/1/2025 ,Web,\n"
    "A5,Li Na,Initech,z,Gateway,Qualification,-3,10,12/19/2025,10/01/2025,Web,New Business\n"
    "A6,Li Na,Initech,z,Gateway,Qualification,1e3,200,01/01/9999,10/01/2025,Web,New Business\n"
    "A7,Li Na, ,z,Gateway,Qualification,  ,10,12/19/2025,10/01/2025,Web,New Business\n"
    "\n"
    "Total,,,,,,,,,,,\n"
    "Copyright (c) 2000-2025 salesforce.com\n"
)
HISTORY = (
    "Opportunity ID,Stage,Amount,Probability (%),Close Date,Edit Date\n"
    "A1,Qualification,1000,10,3/28/2025,2/11/2025 10:15 AM\n"
    "A1,Closed Won,1234.5,100,3/28/2025,3/28/2025 4:00 PM\n"
    "A9,Qualification,5,10,3/28/2025,2/11/2025 10:15 AM\n"
    "A2,Needs Analysis,,20,9/30/2025,1/1/2025 9:00 AM\n"
)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_every_kind_of_issue_agrees_with_the_per_cell_path(tmp_path, monkeypatch, encoding):
    (tmp_path / "opportunities.csv").write_bytes(MESSY.encode(encoding))
    (tmp_path / "opportunity_history.csv").write_bytes(HISTORY.encode(encoding))
    fast = pytest.raises(DataError, load_data, tmp_path, MAPPING).value.report
    per_cell(monkeypatch)
    slow = pytest.raises(DataError, load_data, tmp_path, MAPPING).value.report
    _same_report(fast, slow)
    assert len(fast.errors) >= 10


TEXTS = [" a ", "a", "", None, "\u3000b", "c\u2009", "x y", "12.0", "\u0085"]
DATES = ["3/28/2025", " 2/11/2025", "", None, "13/45/2025", "12/1/2025", "x"]
AMOUNTS = ["1,234.50", "¥1,234.50", "12.5万", "(100)", "-3", " 7 ", "", None, "abc", "1e3",
           "USD 5", "5 EUR", "1.234,50", "0.10", "+4", "3%"]  # fmt: skip


def _both(values):
    """The same cells as Arrow text and as Python objects."""
    return pd.Series(values, dtype=dio._STR), pd.Series(values, dtype=object)


@pytest.mark.parametrize(
    "dates",
    [
        DATES,
        ["2025-01-02", "2025-01-03"] * 5,
        ["01/02/2025", "02/01/2025"],  # reads both ways
        ["02/11/2025 10:15 AM", "3/28/2025 4:00 PM", "bad"],
        ["", None],
        ["2025年3月1日", "2025-03-01"],
    ],
)
def test_dates_agree(dates):
    fast, slow = _both(dates)
    a, b = dio._parse_dates_wide(fast), dio._parse_dates_wide(slow)
    pd.testing.assert_series_equal(a[0], b[0])
    assert a[1].tolist() == b[1].tolist() and a[2] == b[2]
    for fmt in ("%m/%d/%Y", "%Y-%m-%d"):
        a, b = dio._parse_dates_wide(fast, fmt), dio._parse_dates_wide(slow, fmt)
        pd.testing.assert_series_equal(a[0], b[0])
        assert a[1].tolist() == b[1].tolist()


def test_amounts_currencies_and_text_agree():
    fast, slow = _both(AMOUNTS * 3)
    (a, abad), (b, bbad) = dio.parse_amounts(fast), dio.parse_amounts(slow)
    pd.testing.assert_series_equal(a, b)
    assert abad.tolist() == bbad.tolist()
    assert dio._currencies(fast) == dio._currencies(slow) == {"CNY": 1, "USD": 10, "EUR": 11}
    fast, slow = _both(TEXTS)
    assert dio._text(fast).tolist() == dio._text(slow).tolist()
    got = dio._arrow_text_stripped(fast)
    assert [None if pd.isna(v) else v for v in got] == [
        None if pd.isna(v) else v for v in dio._text(slow)
    ]


def test_python_whitespace_is_what_str_strip_removes():
    spaces = "".join(chr(c) for c in range(0x110000) if chr(c).isspace())
    assert dio._PY_SPACE_CHARS == spaces


@pytest.mark.parametrize(
    "text",
    [
        "a,b\n1,2\n\n3,\n",  # a blank line, an empty cell
        '"a";"b"\n"x;y";"2"\n',  # semicolons, sniffed
        'a,b\n"two\nlines",2\n',  # a quoted newline
        "a,b\n1,2,3\n",  # a row too wide: the per-line reader's error
        "a,a\n1,2\n",  # duplicate names: pandas renames them
        "a,\n1,2\n",  # an empty name
        "\ufeffa,b\n1,2\n",
        "a,b\r\n1,2\r\n",
        "a,b\n1,2\n\n",  # a blank last line
        "a,b\n1,2",  # no line break at the end
        'a\n"x\ny"\n2\n',  # one column, a quoted newline
    ],
)
def test_csv_reader_agrees(tmp_path, monkeypatch, text):
    path = tmp_path / "f.csv"
    path.write_text(text, encoding="utf-8")

    def read():
        try:
            return dio._read_csv(path, 0, None)
        except Exception as e:  # noqa: BLE001 - compared below
            return f"{type(e).__name__}: {e}"

    fast = read()
    monkeypatch.setattr(dio, "_read_csv_arrow", lambda *a: None)
    slow = read()
    if isinstance(slow, str):
        assert fast == slow
    else:
        pd.testing.assert_frame_equal(fast, slow)


def test_map_by_unique_keys_agrees():
    by = pd.Series(
        pd.to_datetime(["2025-01-01", "2025-02-01", "2025-03-01"]),
        index=pd.Index(["a", None, "c"], dtype=dio._STR),
    )
    values = pd.Series(["c", "a", None, "zz", "a"], dtype=dio._STR)
    pd.testing.assert_series_equal(dio._map_unique(values, by), values.map(by))


@pytest.mark.parametrize("shuffle", [False, True])
def test_key_order_is_a_stable_sort_values(shuffle):
    import numpy as np

    d = pd.Timestamp
    frame = pd.DataFrame(
        {
            "opportunity_id": pd.Series(
                ["OPP-2", "ÖPP-1", "OPP-10", None, "OPP-2", "OPP-2", "opp-1", "OPP-10", "", "😀"],
                dtype=dio._STR,
            ),
            "changed_date": [
                d("2025-01-02"),
                d("2025-01-01"),
                pd.NaT,
                d("2025-01-01"),
                d("2025-01-02"),
                d("2024-12-31"),
                d("2025-01-01"),
                d("2025-01-01"),
                pd.NaT,
                d("2025-01-01"),
            ],  # fmt: skip
            "stage": pd.Series(["b", "a", "a", "a", "a", None, "a", "a", "a", "a"], dtype=dio._STR),
            "n": np.arange(10),
        }
    )
    if shuffle:
        frame = frame.sample(frac=1.0, random_state=3).reset_index(drop=True)
    for key in (["opportunity_id"], ["opportunity_id", "changed_date", "stage"], ["n"]):
        order = dio._key_order(frame, key)
        want = frame.sort_values(key, kind="stable")
        pd.testing.assert_frame_equal(frame.take(order), want, check_exact=True)
    assert dio._key_order(frame.assign(x=1.5), ["x"]) is None  # floats: pandas sorts
