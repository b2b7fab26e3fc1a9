"""Report delivery: parameters checked up front, atomic output, batches, manifest, schedule.

The mechanics are exercised on a tiny fixture template (fast); the real templates
are rendered in tests/notebooks/test_report_pack.py.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import pytest

from simlib.reports.batch import expand_grid, org_ids, render_batch
from simlib.reports.render import Renderer, output_name, output_text, safe_part
from simlib.reports.templates import (
    ReportError,
    available,
    check_parameters,
    parse_cli_value,
    template_info,
)

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "tests" / "fixtures" / "reports" / "tiny_report.ipynb"


# --------------------------------------------------------------------------- parameters
@pytest.mark.parametrize("name", available())
def test_every_template_declares_typed_commented_parameters(name, caplog):
    import logging

    from papermill.translators import PythonTranslator

    t = template_info(name)
    cell = next(
        c
        for c in json.loads(t.path.read_text(encoding="utf-8"))["cells"]
        if "parameters" in c["metadata"].get("tags", [])
    )
    with caplog.at_level(logging.WARNING):
        PythonTranslator.inspect({"source": "".join(cell["source"])})
    assert "Unable to parse" not in caplog.text  # papermill warns on every render otherwise
    assert t.parameters, name
    for p in t.parameters.values():
        assert p.types and p.comment, f"{name}: {p.name} needs a type and a comment"
        p.check(p.default, name)  # the default fits its own type
    nb = json.loads(t.path.read_text(encoding="utf-8"))
    for c in nb["cells"]:
        if c["cell_type"] == "code":
            assert c["outputs"] == [] and c["execution_count"] is None, f"{name} has outputs"


def test_unknown_and_mistyped_parameters_are_rejected_with_the_reason():
    t = template_info("rep_review_pack")
    with pytest.raises(ReportError, match=r"unknown parameter 'rep'.*did you mean rep_id"):
        check_parameters(t, {"rep": "S003"})
    with pytest.raises(ReportError, match=r"rep_id = 3: expected str"):
        check_parameters(t, {"rep_id": 3})
    with pytest.raises(ReportError, match=r"lang = 'fr': expected one of 'en', 'zh-CN'"):
        check_parameters(t, {"lang": "fr"})
    with pytest.raises(ReportError, match=r"demo_seed = 'x1': expected int \| None"):
        parse_cli_value(t, "demo_seed", "x1")
    assert parse_cli_value(t, "demo_seed", "7") == 7
    assert parse_cli_value(t, "demo_seed", "None") is None
    with pytest.raises(
        ReportError, match="unknown template 'rep_reveiw_pack'.*did you mean rep_review_pack"
    ):
        template_info("rep_reveiw_pack")


def test_a_bad_grid_fails_before_anything_runs(tmp_path):
    with pytest.raises(ReportError, match="n = 'many': expected int"):
        render_batch(TINY, {"who": ["a", "b"], "n": [2, "many"]}, tmp_path, workers=1)
    assert not any(tmp_path.iterdir()), "nothing may be written when the grid is wrong"


def test_grid_expansion_and_output_names():
    t = template_info(TINY)
    items = expand_grid(t, {"who": ["a", "b"], "n": [1, 2, 3]})
    assert len(items) == 6 and items[0] == {"who": "a", "n": 1}
    reps = expand_grid(template_info("rep_review_pack"), {"rep_id": "all"})
    assert [p["rep_id"] for p in reps] == org_ids("reps") and len(reps) == 60
    assert output_name(t, {"who": "../../etc/passwd"}) == "tiny_report__etc_passwd"
    assert output_name(t, {"who": "x", "n": 2}, "g/{who}/{n}") == "g/x/2"
    assert safe_part("<b>张伟</b>") == "b_张伟_b"
    with pytest.raises(ReportError, match="several items would write"):
        render_batch(TINY, {"who": ["a", "b"]}, "unused", pattern="same", workers=1)


# --------------------------------------------------------------------------- rendering
@pytest.fixture(scope="module")
def renderer():
    from simlib.reports.batch import _renderer

    return _renderer(str(ROOT), False)  # the in-process warm kernel batches of 1 use too


def _text_outputs(ipynb: Path) -> str:
    return output_text(ipynb)


def test_render_writes_html_without_code_and_the_executed_notebook(renderer, tmp_path):
    r = renderer.render(TINY, {"who": "<script>alert(1)</script>", "n": 2}, tmp_path, name="x")
    assert r.ok, r.error
    html = Path(r.html).read_text(encoding="utf-8")
    assert "hello &lt;script&gt;alert(1)&lt;/script&gt; #1" in html
    assert "<script>alert(1)</script>" not in html  # shown as text, never executed
    assert "secret_of_this_report" not in html and "import html" not in html  # no code cells
    assert "image/png" in html or "data:image/png" in html  # the figure is there
    assert r.checksum == hashlib.sha256(Path(r.html).read_bytes()).hexdigest()
    assert "hello" in _text_outputs(Path(r.ipynb))


def test_a_warm_kernel_gives_each_report_a_clean_namespace(renderer, tmp_path):
    a = renderer.render(TINY, {"who": "alice"}, tmp_path, name="a")
    b = renderer.render(TINY, {"who": "bob"}, tmp_path, name="b")
    assert a.ok and b.ok
    out_b = _text_outputs(Path(b.ipynb))
    assert "leaked: []" in out_b, "a variable of the previous report survived"
    assert "cursive" not in out_b, "matplotlib settings of the previous report survived"
    fresh = Renderer(fresh=True).render(TINY, {"who": "bob"}, tmp_path, name="b_fresh")
    assert _text_outputs(Path(fresh.ipynb)) == out_b


def test_a_failed_render_never_replaces_the_last_good_report(renderer, tmp_path):
    good = renderer.render(TINY, {"who": "carol"}, tmp_path, name="team/report")
    before = Path(good.html).read_bytes()
    bad = renderer.render(TINY, {"who": "carol", "fail": True}, tmp_path, name="team/report")
    assert not bad.ok and "RuntimeError: asked to fail for carol" in bad.error
    assert Path(good.html).read_bytes() == before
    failed = tmp_path / "failed" / "team" / "report.ipynb"
    assert failed.exists() and bad.failed_notebook == str(failed)
    assert "asked to fail" in (tmp_path / "failed" / "team" / "report.error.txt").read_text()
    # the kernel recovers: the next report renders
    assert renderer.render(TINY, {"who": "dave"}, tmp_path, name="after").ok


def _check_manifest(path: Path, n: int, failed: int):
    m = json.loads(path.read_text(encoding="utf-8"))
    assert m["template"] == "tiny_report" and len(m["template_sha256"]) == 64
    assert len(m["data_fingerprint"]) == 64 and m["complete"]
    assert m["status"] == "complete" and m["pending"] == [] and m["total"] == n
    assert (m["ok"], m["failed"]) == (n - failed, failed)
    for item in m["items"]:
        assert set(item) >= {"parameters", "status", "checksum", "duration_s", "error"}
        if item["status"] == "ok":
            assert item["checksum"] == hashlib.sha256(Path(item["html"]).read_bytes()).hexdigest()
    return m


@pytest.mark.slow  # two fresh kernels, ~20 s
def test_batch_in_a_process_pool_one_failure_stops_nothing(tmp_path):
    b = render_batch(
        TINY,
        [{"who": "a"}, {"who": "b", "fail": True}, {"who": "c"}, {"who": "d"}],
        tmp_path,
        pattern="{who}",
        workers=2,
        progress=False,
    )
    assert [r.status for r in b.results] == ["ok", "failed", "ok", "ok"]
    assert [r.name for r in b.failed] == ["b"] and "b: cell" in b.summary()
    _check_manifest(b.manifest, 4, 1)


@pytest.mark.slow  # a Dask cluster, ~20 s
def test_batch_on_a_dask_local_cluster_matches_the_pool(tmp_path):
    distributed = pytest.importorskip("distributed")
    grid = {"who": ["p", "q", "r"], "n": 2}
    local = render_batch(TINY, grid, tmp_path / "pool", pattern="{who}", workers=1, progress=False)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        remote = render_batch(
            TINY, grid, tmp_path / "dask", pattern="{who}", client=client, progress=False
        )
    assert remote.ok and len(remote.results) == 3
    m = _check_manifest(remote.manifest, 3, 0)
    assert m["backend"] == "dask" and m["workers"] == 2
    for a, b in zip(local.results, remote.results):
        assert _text_outputs(Path(a.ipynb)) == _text_outputs(Path(b.ipynb))


def test_cli_render_exits_nonzero_and_names_the_failures(tmp_path, capsys):
    from simlib.cli import main

    rc = main(
        [
            "render",
            str(TINY),
            "--grid",
            "who=x,y",
            "--grid",
            "fail=false,true",
            "--name",
            "{who}-{fail}",
            "--out",
            str(tmp_path),
            "--workers",
            "1",
            "--quiet",
        ]
    )
    out = capsys.readouterr()
    assert rc == 1
    assert "2 of 4 reports rendered" in out.out and "x-True: cell" in out.out
    assert (tmp_path / "x-False.html").exists() and not (tmp_path / "x-True.html").exists()
    rc = main(["render", str(TINY), "-p", "n=lots", "--out", str(tmp_path)])
    assert rc == 2 and "n = 'lots': expected int" in capsys.readouterr().err


# --------------------------------------------------------------------------- schedule
def _schedule(tmp_path, **job):
    from simlib.config import load_model
    from simlib.reports.schedule import ScheduleParams

    text = {
        "timezone": "Asia/Shanghai",
        "output": str(tmp_path / "out"),
        "jobs": {
            "daily": {
                "template": str(TINY),
                "cron": "0 9 * * *",
                "grid": {"who": ["{date}", "{previous_month}"], "n": 1},
                "output": "{who}",
                **job,
            }
        },
    }
    path = tmp_path / "schedule.yaml"
    import yaml

    path.write_text(yaml.safe_dump(text), encoding="utf-8")
    return path, load_model(path, ScheduleParams)


def test_run_due_renders_what_fell_due_once(tmp_path):
    from simlib.reports.schedule import job_table, run_due

    path, s = _schedule(tmp_path)
    t0 = dt.datetime(2026, 11, 18, 10, 0)
    done = run_due(s, now=t0, progress=False, workers=1, say=lambda m: None)
    assert [(d.job, d.occurrence.day, d.status) for d in done] == [("daily", 18, "ok")]
    out = tmp_path / "out"
    assert (out / "2026-11-18.html").exists() and (out / "2026-10.html").exists()
    assert (
        run_due(s, now=t0 + dt.timedelta(minutes=5), progress=False, workers=1, say=lambda m: None)
        == []
    )
    # two days later: both missed days, each with its own date (capped at the data's 2026-11-20)
    done = run_due(
        s, now=dt.datetime(2026, 11, 21, 9, 30), progress=False, workers=1, say=lambda m: None
    )
    assert [d.occurrence.day for d in done] == [19, 20, 21]
    assert (out / "2026-11-19.html").exists() and (out / "2026-11-20.html").exists()
    table = job_table(s, now=dt.datetime(2026, 11, 21, 9, 30))
    row = table.iloc[0]
    assert row["last_success"] == "2026-11-21 09:00" and row["due_now"] == 0
    assert row["next_run"].startswith("2026-11-22 09:00")


def test_run_due_retries_a_failed_occurrence(tmp_path):
    from simlib.reports.schedule import run_due

    _, s = _schedule(tmp_path, grid={"who": "z", "fail": True})
    t0 = dt.datetime(2026, 11, 18, 10, 0)
    done = run_due(s, now=t0, progress=False, workers=1, say=lambda m: None)
    assert done[0].status == "failed" and done[0].failed == ["z"]
    again = run_due(
        s, now=t0 + dt.timedelta(minutes=10), progress=False, workers=1, say=lambda m: None
    )
    assert [d.status for d in again] == ["failed"], "a failed occurrence stays due"


def test_run_due_is_a_no_op_while_another_run_holds_the_lock(tmp_path):
    import fcntl
    import os

    from simlib.reports.schedule import run_due

    _, s = _schedule(tmp_path)
    lock = tmp_path / "out" / ".schedule.lock"
    lock.parent.mkdir(parents=True)
    fd = os.open(lock, os.O_CREAT | os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)
    said = []
    try:
        assert (
            run_due(
                s, now=dt.datetime(2026, 11, 18, 10), progress=False, workers=1, say=said.append
            )
            == []
        )
    finally:
        os.close(fd)
    assert "nothing done" in said[0]


def test_schedule_file_errors_name_the_path(tmp_path):
    from simlib.config import ParamError

    for job, match in (
        (dict(cron="every monday"), r"jobs\.daily\.cron.*not a cron expression"),
        (dict(template="weekly_reveiw"), r"jobs\.daily\.template.*did you mean"),
        (dict(cron="0 9 * * *", grid={"who": "{tomorrow}"}), None),
    ):
        if match is None:
            from simlib.reports.schedule import run_due

            _, s = _schedule(tmp_path, **job)
            with pytest.raises(ReportError, match=r"unknown placeholder 'tomorrow'"):
                run_due(
                    s,
                    now=dt.datetime(2026, 11, 18, 10),
                    progress=False,
                    workers=1,
                    say=lambda m: None,
                )
            continue
        with pytest.raises(ParamError, match=match):
            _schedule(tmp_path, **job)


def test_shipped_schedule_is_valid_and_lists_every_job():
    from simlib.reports.schedule import job_table, load_schedule

    s = load_schedule()
    assert {"weekly_team_review", "monthly_team_review", "rep_review_pack"} <= set(s.jobs)
    for job in s.jobs.values():
        template_info(job.template)
    table = job_table(s, now=dt.datetime(2026, 11, 27, 12), out="/nonexistent-simlib-test")
    assert list(table["last_success"].unique()) == ["never"]
    assert (ROOT / "deploy" / "simlib-schedule.timer").exists()
    assert "schedule run-due" in (ROOT / "deploy" / "crontab.example").read_text()


# --------------------------------------------------------------------------- the data
@pytest.mark.slow  # three rep review packs, ~35 s
def test_reports_render_from_a_crm_export_through_a_mapping(tmp_path):
    """The same company as CSV exports gives the same report and the same fingerprint."""
    from simlib.data import load_demo, write_tables

    export = tmp_path / "crm"
    write_tables(load_demo().tables, export, "csv")
    grid = [
        {"rep_id": "S003", "period": "2026-10", "lang": "en"},
        {
            "rep_id": "S003",
            "period": "2026-10",
            "lang": "en",
            "source": str(export),
            "mapping": "demo",
        },
        {"rep_id": "S003", "period": "2026-10", "lang": "en", "source": str(export)},
    ]
    b = render_batch("rep_review_pack", grid, tmp_path / "out", workers=1, progress=False)
    demo, export_run, no_mapping = b.results
    assert demo.ok and export_run.ok, b.summary()
    assert _text_outputs(Path(demo.ipynb)) == _text_outputs(Path(export_run.ipynb))
    assert not no_mapping.ok and "needs a mapping" in no_mapping.error
    m = json.loads(b.manifest.read_text(encoding="utf-8"))
    assert str(export) in m["data"] and "demo company" in m["data"]
    assert load_demo().fingerprint in m["data_fingerprint"].split(",")


def test_report_html_is_self_contained():
    """No script or stylesheet is fetched from a CDN: reports are read offline."""
    import re

    import nbformat

    from simlib.reports.render import html_of

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Review $x^2$")]
    page = html_of(nb)
    fetched = re.findall(r'<(?:script|link|img)[^>]+(?:src|href)="(https?:[^"]+)"', page)
    assert fetched == []
    assert "mathjax" not in page.lower() and "require.js" not in page.lower()
