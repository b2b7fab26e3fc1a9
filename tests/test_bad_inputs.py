"""The bad-input corpus: each broken file must produce its own, specific message.

Cases live in ``tests/bad_inputs/cases.yaml`` (the format is described at its top);
the files they name sit beside it under ``data/`` and ``params/``. A case passes only
when one reported issue carries every expected part - file, row, column, value and
message - and the text shown to a person contains that issue.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pandas as pd
import pytest
import yaml

from simlib.config import ParamError
from simlib.data import DataError, load_data
from simlib.params import load_params

BAD = Path(__file__).parent / "bad_inputs"
CASES = yaml.safe_load((BAD / "cases.yaml").read_text(encoding="utf-8"))
DATA_CASES = CASES["data"]
PARAM_CASES = CASES["params"]


def _printed(value) -> str:
    """How a value appears after "got" in a message."""
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _matches_issue(issue, want: dict) -> bool:
    text = str(issue)
    if not issue.file.endswith(want["file"]) or want["file"] not in text:
        return False
    if issue.row != want["row"]:
        return False
    if issue.severity != want.get("severity", "error"):
        return False
    col = want["column"]
    if col is None:
        if issue.column is not None:
            return False
    elif f"column {col!r}" not in text:
        return False
    if want["value"] is None:
        if ": got " in text:
            return False
    elif f"got {_printed(want['value'])};" not in text:
        return False
    return all(m in text for m in want["message"])


def _find_issue(issues, want: dict):
    hits = [i for i in issues if _matches_issue(i, want)]
    assert hits, f"no issue matches {want}\nreported:\n" + "\n".join(f"  {i}" for i in issues)
    return hits[0]


def _data_source(case: dict, tmp_path: Path) -> str | Path:
    if "sqlite" in case:
        spec = case["sqlite"]
        db = tmp_path / "crm.sqlite"
        with sqlite3.connect(db) as con:
            pd.read_csv(BAD / spec["csv"], dtype=str).to_sql(spec["table"], con, index=False)
        return f"sqlite:///{db}"
    return BAD / case["path"]


def _mapping(case: dict) -> str | Path:
    m = case["mapping"]
    return BAD / m if m.endswith(".yaml") else m


def _source_rows(path: Path) -> int:
    """Records in a CSV, counted independently of the loader (blank lines are not records)."""
    return len(pd.read_csv(path, dtype=str, skip_blank_lines=True).dropna(how="all"))


def test_corpus_is_big_enough():
    files = [p for p in (BAD / "data").rglob("*") if p.is_file() and "mappings" not in p.parts]
    files += [p for p in (BAD / "params").rglob("*") if p.is_file()]
    assert len(files) >= 25
    assert len(DATA_CASES) + len(PARAM_CASES) >= 25
    ids = [c["id"] for c in DATA_CASES + PARAM_CASES]
    assert len(ids) == len(set(ids)), "case ids must be unique"


@pytest.mark.parametrize("case", DATA_CASES, ids=[c["id"] for c in DATA_CASES])
def test_data_case(case, tmp_path):
    source = _data_source(case, tmp_path)
    mapping = _mapping(case)
    expect = case.get("expect", [])
    if case.get("mode", "strict") == "lenient":
        rejects = tmp_path / "rejects.csv"
        data = load_data(source, mapping, strict=False, rejects=rejects)
        for want in expect:
            issue = _find_issue(data.report.issues, want)
            assert str(issue) in data.report.format(limit=1000)
        assert data.report.rejected == case["rejected"]
        text = data.report.format()
        total = sum(case["rejected"].values())
        assert f"{total} rejected row(s) written with reasons to {rejects}" in text
        # Every rejected row is in the rejects file, with its reason.
        rej = pd.read_csv(rejects, dtype={"row": int})
        assert len(rej) == total
        for want in expect:
            row = rej[rej["file"].str.endswith(want["file"]) & (rej["row"] == want["row"])]
            assert len(row) == 1, f"row {want['row']} of {want['file']} not in the rejects file"
            assert want["message"][0] in row["reasons"].iloc[0]
        # Nothing dropped silently: what loaded plus what was rejected is what was read.
        for table, tm in _load_spec(mapping).tables.items():
            path = source / tm.source
            assert data.report.rows[table] + data.report.rejected.get(table, 0) == _source_rows(
                path
            )
        return
    if case.get("ok"):
        data = load_data(source, mapping)
        assert data.report.ok, data.report.format()
        for want in expect:
            _find_issue(data.report.issues, want)
        for table, columns in case.get("loads", {}).items():
            df = data[table]
            for column, values in columns.items():
                got = df[column]
                if pd.api.types.is_datetime64_any_dtype(got):
                    got = got.dt.strftime("%Y-%m-%d")
                got = [None if pd.isna(v) else v for v in got]
                assert got == values, f"{table}.{column}"
        return
    with pytest.raises(DataError) as err:
        load_data(source, mapping)
    report = err.value.report
    assert not report.ok
    for want in expect:
        issue = _find_issue(report.issues, want)
        assert str(issue) in str(err.value), "the message a person sees must show the issue"
    assert "Loaded:" not in str(err.value), "strict mode loads nothing and must not say it did"


def _load_spec(mapping):
    from simlib.data.io import _load_mapping

    return _load_mapping(mapping)


@pytest.mark.parametrize("case", PARAM_CASES, ids=[c["id"] for c in PARAM_CASES])
def test_param_case(case):
    folder = BAD / case["dir"]
    with pytest.raises(ParamError) as err:
        load_params(case["file"], params_dir=folder)
    want = case["expect"]
    problems = err.value.problems
    hits = [
        p
        for p in problems
        if p.file.endswith(want["file"])
        and p.path == want["path"]
        and (
            f"got {_printed(want['value'])};" in str(p)
            if want["value"] is not None
            else ": got " not in str(p)
        )
        and all(m in str(p) for m in want["message"])
    ]
    assert hits, f"no problem matches {want}\nreported:\n" + "\n".join(f"  {p}" for p in problems)
    assert str(hits[0]) in str(err.value)
    # The message starts with the file, then the dotted path: where to look, then what.
    where = f"{hits[0].file}: {want['path']}:" if want["path"] else f"{hits[0].file}: "
    assert str(hits[0]).startswith(where)
