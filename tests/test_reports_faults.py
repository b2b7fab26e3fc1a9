"""Report delivery under faults: full disk, read-only or mis-shaped output, damaged or
poisoned schedule state, relative data paths, no CJK font, and kill -9 mid-batch.

Most tests replace the kernel by a stand-in renderer (:class:`_StubRenderer`), so they
exercise the delivery code (atomic output, failed/, manifest, state) in a second; the
kill -9 test runs real batches in a subprocess group.
"""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
import warnings
from pathlib import Path

import pytest

import simlib.reports.batch as batch_mod
import simlib.reports.render as render_mod
from simlib.reports.render import Renderer, check_output_dir
from simlib.reports.templates import ReportError, absolute_paths

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "tests" / "fixtures" / "reports" / "tiny_report.ipynb"
PYTHON = sys.executable


class _StubRenderer(Renderer):
    """A Renderer whose 'kernel' writes a one-cell notebook at once (no kernel starts)."""

    def execute(self, path, params, out_ipynb):
        import nbformat

        if params.get("fail"):
            raise RuntimeError(f"asked to fail for {params.get('who')}")
        nb = nbformat.v4.new_notebook(
            cells=[nbformat.v4.new_markdown_cell(f"hello {params.get('who')}")]
        )
        nbformat.write(nb, str(out_ipynb))
        return nb


@pytest.fixture
def stub(monkeypatch):
    """Batches, the CLI and the schedule render with :class:`_StubRenderer`."""
    monkeypatch.setattr(
        batch_mod, "_renderer", lambda cwd, fresh, pdf=True: _StubRenderer(cwd=cwd, pdf=False)
    )
    return _StubRenderer()


def _scratch(folder: Path) -> list[Path]:
    """Temporary and staging files left in ``folder`` (hidden .tmp/.new, .work/)."""
    return sorted(
        p
        for p in folder.rglob("*")
        if p.is_file()
        and (p.name.endswith((".tmp", ".new")) or ".work" in p.relative_to(folder).parts)
    )


def _enospc(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


# --------------------------------------------------------------------------- full disk
def test_a_full_disk_leaves_no_temporary_file_and_the_old_file_whole(tmp_path, monkeypatch):
    target = tmp_path / "a.json"
    target.write_text("old", encoding="utf-8")
    monkeypatch.setattr(os, "fsync", _enospc)
    with pytest.raises(OSError, match="No space"):
        render_mod._write_atomic(target, "new" * 1000)
    assert target.read_text(encoding="utf-8") == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json"]


def test_a_render_on_a_full_disk_fails_with_a_message_and_keeps_the_last_report(
    stub, tmp_path, monkeypatch
):
    good = stub.render(TINY, {"who": "ann"}, tmp_path, name="r")
    assert good.ok, good.error
    before = Path(good.html).read_bytes()
    assert good.checksum == hashlib.sha256(before).hexdigest()
    monkeypatch.setattr(os, "fsync", _enospc)
    bad = stub.render(TINY, {"who": "bob"}, tmp_path, name="r")
    assert not bad.ok and "no space left on the device" in bad.error
    assert Path(good.html).read_bytes() == before
    assert _scratch(tmp_path) == [], "a failed render left temporary files"


def test_the_cli_says_when_the_manifest_cannot_be_written(stub, tmp_path, monkeypatch, capsys):
    from simlib.cli import main

    def no_space(out_dir, run, results):
        raise OSError(errno.ENOSPC, "No space left on device", str(out_dir / "manifests"))

    monkeypatch.setattr(batch_mod, "write_manifest", no_space)
    out = tmp_path / "out"
    rc = main(["render", str(TINY), "-p", "who=x", "--out", str(out), "--workers", "1", "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2 and "manifest not written" in err and "no space left" in err
    assert "internal error" not in err
    assert (out / "tiny_report__x.html").exists(), "good output must stay"


# --------------------------------------------------------------------------- the output folder
def test_a_read_only_output_folder_is_one_message_naming_it(stub, tmp_path, monkeypatch, capsys):
    from simlib.cli import main

    ro = tmp_path / "ro"
    ro.mkdir()
    if os.geteuid() == 0:  # root writes anywhere: make the probe fail as it would
        real = render_mod.tempfile.mkstemp

        def mkstemp(*a, dir=None, **kw):
            if Path(dir) == ro:
                raise PermissionError(errno.EACCES, "Permission denied", str(ro))
            return real(*a, dir=dir, **kw)

        monkeypatch.setattr(render_mod.tempfile, "mkstemp", mkstemp)
    else:
        ro.chmod(0o555)
    try:
        rc = main(["render", str(TINY), "-p", "who=x", "--out", str(ro), "--quiet"])
    finally:
        ro.chmod(0o755)
    err = capsys.readouterr().err
    assert rc == 2 and f"output folder {ro} is not writable" in err, err
    assert not any(ro.iterdir())


def test_a_file_where_the_output_folder_should_be(tmp_path, capsys):
    from simlib.cli import main

    f = tmp_path / "out"
    f.write_text("not a folder", encoding="utf-8")
    with pytest.raises(ReportError, match="is a file, not a folder"):
        check_output_dir(f)
    with pytest.raises(ReportError, match="cannot create it"):
        check_output_dir(f / "sub")
    rc = main(["render", str(TINY), "--out", str(f / "sub"), "--quiet"])
    assert rc == 2 and "cannot create it" in capsys.readouterr().err


def test_a_folder_where_the_report_file_should_be(stub, tmp_path, capsys):
    from simlib.cli import main

    (tmp_path / "x.html").mkdir()
    (tmp_path / "x.html" / "keep.txt").write_text("mine", encoding="utf-8")
    r = stub.render(TINY, {"who": "x"}, tmp_path, name="x")
    assert not r.ok and f"output {tmp_path / 'x.html'} is a folder" in r.error
    assert (tmp_path / "x.html" / "keep.txt").read_text(encoding="utf-8") == "mine"
    assert _scratch(tmp_path) == []
    rc = main(
        [
            "render",
            str(TINY),
            "-p",
            "who=x",
            "--name",
            "{who}",
            "--out",
            str(tmp_path),
            "--workers",
            "1",
            "--quiet",
        ]
    )
    out = capsys.readouterr()
    assert rc == 1 and "is a folder" in out.out and "internal error" not in out.err


def test_the_manifest_follows_the_batch(stub, tmp_path):
    seen = []

    def look(r):
        path = next((tmp_path / "manifests").glob("*.json"))
        seen.append(json.loads(path.read_text(encoding="utf-8")))

    b = batch_mod.render_batch(
        TINY,
        {"who": ["a", "b", "c"], "fail": [False]},
        tmp_path,
        pattern="{who}",
        workers=1,
        progress=False,
        on_result=look,
    )
    assert [m["status"] for m in seen] == ["running"] * 3
    assert [len(m["pending"]) for m in seen] == [2, 1, 0]
    final = json.loads(b.manifest.read_text(encoding="utf-8"))
    assert final["status"] == "complete" and final["complete"] and final["pending"] == []
    for item in final["items"]:
        assert item["checksum"] == hashlib.sha256(Path(item["html"]).read_bytes()).hexdigest()


def test_a_dead_run_is_marked_interrupted_and_its_scratch_removed(tmp_path):
    dead = subprocess.Popen([PYTHON, "-c", "pass"])
    dead.wait()
    tag = f"{render_mod._HOST}-{dead.pid}"
    (tmp_path / "manifests").mkdir()
    m = tmp_path / "manifests" / "old.json"
    import socket

    m.write_text(
        json.dumps(
            {"run_id": "old", "status": "running", "pid": dead.pid, "host": socket.gethostname()}
        ),
        encoding="utf-8",
    )
    (tmp_path / ".work").mkdir()
    leftovers = [
        tmp_path / ".work" / f"x.{tag}.1.ipynb",
        tmp_path / f".x.html.{tag}.1.new",
        tmp_path / f".x.json.{tag}.tmp",
    ]
    mine = tmp_path / f".y.html.{render_mod.scratch_tag()}.1.new"  # a live process's
    for p in [*leftovers, mine]:
        p.write_text("partial", encoding="utf-8")
    assert render_mod.mark_dead_runs(tmp_path) == [m]
    assert json.loads(m.read_text(encoding="utf-8"))["status"] == "interrupted"
    assert render_mod.clean_stale_scratch(tmp_path) == 3
    assert not any(p.exists() for p in leftovers) and mine.exists()


# --------------------------------------------------------------------------- data paths
def test_relative_data_paths_are_the_callers(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "maps").mkdir()
    (tmp_path / "maps" / "m.yaml").write_text("{}", encoding="utf-8")
    got = absolute_paths({"source": "crm", "mapping": "maps/m.yaml", "n": 1})
    assert got == {
        "source": str(tmp_path / "crm"),
        "mapping": str(tmp_path / "maps/m.yaml"),
        "n": 1,
    }
    assert (
        absolute_paths({"source": "sqlite:///crm.db"})["source"] == f"sqlite:///{tmp_path}/crm.db"
    )
    for url in ("postgresql://u@h/db", "sqlite:////abs/crm.db", "sqlite:///:memory:"):
        assert absolute_paths({"source": url})["source"] == url
    assert absolute_paths({"mapping": "salesforce"}) == {"mapping": "salesforce"}

    captured = {}
    monkeypatch.setattr(
        batch_mod, "run_items", lambda items, *a, **k: captured.setdefault("items", items)
    )
    batch_mod.render_batch(
        "rep_review_pack", {"rep_id": "S003", "source": "crm", "mapping": "demo"}, tmp_path / "o"
    )
    (item,) = captured["items"]
    assert item.params["source"] == str(tmp_path / "crm") and item.params["mapping"] == "demo"
    assert item.cwd != str(tmp_path)  # the kernel runs elsewhere: hence the absolute path


# --------------------------------------------------------------------------- the schedule
def _schedule(tmp_path, cron="0 9 * * *"):
    import yaml

    from simlib.config import load_model
    from simlib.reports.schedule import ScheduleParams

    path = tmp_path / "schedule.yaml"
    text = {
        "timezone": "Asia/Shanghai",
        "output": str(tmp_path / "out"),
        "catch_up": 3,
        "jobs": {"daily": {"template": str(TINY), "cron": cron, "grid": {"who": "{date}"}}},
    }
    path.write_text(yaml.safe_dump(text), encoding="utf-8")
    return path, load_model(path, ScheduleParams)


def test_now_far_from_the_clock_is_refused_unless_forced(stub, tmp_path, capsys):
    from simlib.cli import main

    path, _ = _schedule(tmp_path)
    args = ["schedule", "run-due", "--schedule", str(path), "--quiet", "--workers", "1"]
    rc = main([*args, "--now", "9999-12-31T23:59"])
    err = capsys.readouterr().err
    assert rc == 2 and "ahead of the clock" in err and "--force" in err
    assert not (tmp_path / "out" / ".schedule-state.json").exists()
    assert main([*args, "--now", "9999-12-31T23:59", "--dry-run"]) == 0  # looking is harmless
    assert main(["schedule", "list", "--schedule", str(path), "--now", "9999-12-31T23:59"]) == 0
    capsys.readouterr()
    # forced: the run is recorded in the future, and the real clock ignores it, saying so
    assert main([*args, "--now", "9999-12-31T23:59", "--force"]) == 0
    state = json.loads((tmp_path / "out" / ".schedule-state.json").read_text(encoding="utf-8"))
    assert state["version"] == 1 and state["jobs"]["daily"]["last_success"].startswith("9999-12-31")
    capsys.readouterr()
    assert main(["schedule", "list", "--schedule", str(path)]) == 0
    assert "run-due ignores it" in capsys.readouterr().out
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "is in the future" in err
    state = json.loads((tmp_path / "out" / ".schedule-state.json").read_text(encoding="utf-8"))
    last = dt.datetime.fromisoformat(state["jobs"]["daily"]["last_success"])
    assert last <= dt.datetime.now(dt.timezone.utc), "the real clock's run replaced it"


@pytest.mark.parametrize(
    "damage",
    [
        '{"version": 1, "jobs": {"daily": {"last_succ',  # cut short by a full disk
        "",
        "[1, 2]",
        '{"jobs": {"daily": {"last_success": "yesterday"}}}',
        b"\xff\xfe\x00garbage",
        None,  # a folder in its place
    ],
)
def test_a_damaged_state_is_moved_aside_and_the_schedule_goes_on(stub, tmp_path, capsys, damage):
    from simlib.reports.schedule import job_table, run_due

    _, s = _schedule(tmp_path)
    state = tmp_path / "out" / ".schedule-state.json"
    state.parent.mkdir(parents=True)
    if damage is None:
        state.mkdir()
    elif isinstance(damage, bytes):
        state.write_bytes(damage)
    else:
        state.write_text(damage, encoding="utf-8")
    table = job_table(s, now=dt.datetime(2026, 11, 18, 10))  # read-only: warns, moves nothing
    assert table.iloc[0]["last_success"] == "never"
    assert "damaged" in capsys.readouterr().err and state.exists()
    done = run_due(
        s, now=dt.datetime(2026, 11, 18, 10), progress=False, workers=1, say=lambda m: None
    )
    assert [(d.occurrence.day, d.status) for d in done] == [(18, "ok")], (
        "never run: the latest only"
    )
    err = capsys.readouterr().err
    aside = list(state.parent.glob(".schedule-state.json.damaged-*"))
    assert len(aside) == 1 and aside[0].name in err and "never run" in err
    assert json.loads(state.read_text(encoding="utf-8"))["version"] == 1


def test_a_state_from_a_newer_simlib_is_a_message(tmp_path):
    from simlib.reports.schedule import job_table

    _, s = _schedule(tmp_path)
    state = tmp_path / "out" / ".schedule-state.json"
    state.parent.mkdir(parents=True)
    state.write_text('{"version": 99, "jobs": {}}', encoding="utf-8")
    with pytest.raises(ReportError, match="version 99, written by a newer simlib"):
        job_table(s, now=dt.datetime(2026, 11, 18, 10))


def test_an_unwritable_schedule_output_is_a_message(tmp_path):
    from simlib.reports.schedule import run_due

    _, s = _schedule(tmp_path)
    (tmp_path / "out").write_text("a file", encoding="utf-8")
    with pytest.raises(ReportError, match="cannot write the lock file"):
        run_due(s, now=dt.datetime(2026, 11, 18, 10), progress=False, say=lambda m: None)


# --------------------------------------------------------------------------- fonts
def test_no_cjk_font_is_one_clear_warning_not_one_per_glyph(monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import simlib.plots as plots

    monkeypatch.setattr(plots, "cjk_font", lambda: None)
    monkeypatch.setattr(plots, "_WARNED_NO_CJK", False)
    with (
        matplotlib.rc_context({"font.family": "sans-serif", "font.sans-serif": ["DejaVu Sans"]}),
        warnings.catch_warnings(record=True) as caught,
    ):
        warnings.simplefilter("always")
        assert plots.use_cjk_font() is None and plots.use_cjk_font() is None
        fig, ax = plt.subplots()
        ax.set_title("华东销售达成率")
        ax.set_yticks([0, 1], ["华南", "华北"])
        fig.canvas.draw()
        plt.close(fig)
    texts = [str(w.message) for w in caught]
    assert not [t for t in texts if "Glyph" in t], texts
    mine = [w for w in caught if issubclass(w.category, plots.MissingCJKFontWarning)]
    assert len(mine) == 1 and "fonts-wqy-microhei" in str(mine[0].message)


# --------------------------------------------------------------------------- kill -9
MARK = "SIMLIB_FAULT_TEST"


def _marked(mark: str) -> list[int]:
    """Live processes carrying our marker in their environment (kernels inherit it)."""
    try:
        import psutil
    except ImportError:
        psutil = None
    found = []
    if psutil is not None:
        for p in psutil.process_iter():
            try:
                if p.status() != psutil.STATUS_ZOMBIE and p.environ().get(MARK) == mark:
                    found.append(p.pid)
            except psutil.Error:
                pass
        return found
    needle = f"{MARK}={mark}".encode()
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if needle in (d / "environ").read_bytes().split(b"\0"):
                    found.append(int(d.name))
            except OSError:
                pass
    return found


def _newest_manifest(out: Path, pid: int) -> dict | None:
    for path in sorted((out / "manifests").glob("*.json")) if (out / "manifests").exists() else []:
        doc = json.loads(path.read_text(encoding="utf-8"))  # every manifest parses: atomic
        if doc.get("pid") == pid:
            return doc
    return None


def _check_disk(out: Path, manifest: dict | None, where: str) -> None:
    """Whole files only, and every 'ok' of the manifest is the file on disk."""
    for p in out.rglob("*"):
        rel = p.relative_to(out)
        if not p.is_file() or any(part.startswith(".") for part in rel.parts):
            continue  # scratch (.work/, hidden staging files) is not output
        if p.suffix == ".html":
            assert p.read_text(encoding="utf-8").rstrip().endswith("</html>"), f"{where}: {rel}"
        elif p.suffix in (".ipynb", ".json"):
            json.loads(p.read_text(encoding="utf-8"))  # whole JSON
    if any(out.rglob("*.html")):
        assert manifest is not None, f"{where}: reports on disk but no manifest of the run"
    if manifest is None:
        return
    for item in manifest["items"]:
        if item["status"] == "ok":
            html = Path(item["html"])
            assert hashlib.sha256(html.read_bytes()).hexdigest() == item["checksum"], where
            assert Path(item["ipynb"]).exists()
    names = {i["name"] for i in manifest["items"]} | set(manifest["pending"])
    assert len(names) == manifest["total"]


def _kill_batch_at(out: Path, when, mark: str) -> tuple[int, dict | None]:
    """Start a batch in its own process group, kill -9 its main process when ``when(out)``
    holds (or after 90 s), and return (pid, its manifest)."""
    env = dict(os.environ, **{MARK: mark})
    cmd = [
        PYTHON,
        "-m",
        "simlib.cli",
        "render",
        str(TINY),
        "--grid",
        "who=a,b,c,d",
        "--name",
        "{who}",
        "--out",
        str(out),
        "--workers",
        "2",
        "--quiet",
    ]
    proc = subprocess.Popen(
        cmd,
        cwd=ROOT,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and proc.poll() is None and not when(out, proc.pid):
            time.sleep(0.1)
        os.kill(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()
    return proc.pid, _newest_manifest(out, proc.pid)


@pytest.mark.slow  # two batches of real kernels, killed: ~30-60 s
def test_kill_9_mid_batch_leaves_no_orphan_whole_files_and_a_true_manifest(tmp_path):
    seed = int(os.environ.get("SIMLIB_FAULT_SEED") or time.time_ns() % 10**6)
    rng = random.Random(seed)
    mark = uuid.uuid4().hex
    out = tmp_path / "out"
    t_early, t_late = rng.uniform(0.5, 12.0), rng.uniform(0.0, 1.5)
    t_seen: dict[tuple[str, int], float] = {}

    def early(out, pid):  # somewhere in start-up: imports, forkserver, kernels starting
        t0 = t_seen.setdefault(("start", pid), time.monotonic())
        return time.monotonic() - t0 > t_early

    def after_first_report(out, pid):  # mid-batch: a report done, others rendering
        m = _newest_manifest(out, pid)
        if m is None or m["ok"] < 1:
            return False
        t0 = t_seen.setdefault(("first", pid), time.monotonic())
        return time.monotonic() - t0 > t_late

    try:
        for when in (early, after_first_report):
            pid, manifest = _kill_batch_at(out, when, mark)
            deadline = time.monotonic() + 20
            while _marked(mark) and time.monotonic() < deadline:
                time.sleep(0.2)
            where = f"kill -9 of {pid} ({when.__name__}, SIMLIB_FAULT_SEED={seed})"
            assert _marked(mark) == [], f"orphans after {where}"
            _check_disk(out, manifest, where)
        assert manifest is not None and manifest["ok"] >= 1
        # the next batch into the folder says the killed runs were interrupted, drops scratch
        render_mod.mark_dead_runs(out)
        render_mod.clean_stale_scratch(out)
        for path in (out / "manifests").glob("*.json"):
            assert json.loads(path.read_text(encoding="utf-8"))["status"] != "running"
        assert _scratch(out) == []
    finally:
        for pid in _marked(mark):  # never leave a process behind, even when failing
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
