"""What an app opens and keeps: :mod:`simlib.apps.session` and the disk part of
:mod:`simlib.cache` (keys, warm hits, misses, damaged files, unwritable folders, the size
limit, clearing), the language an app page is shown in, and ``simlib app --data``
checked before any server starts."""

from __future__ import annotations

import pickle
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

import simlib.cache as cache_mod
from simlib.apps import session
from simlib.apps.session import app_lang, app_source, cached_for, open_data
from simlib.cache import (
    cache_dir,
    clear_disk_cache,
    code_digest,
    disk_cached,
    disk_key,
    disk_usage,
)

ROOT = Path(__file__).resolve().parents[1]
SALESFORCE = ROOT / "tests" / "fixtures" / "salesforce"


@pytest.fixture(autouse=True)
def fresh_cache(tmp_path, monkeypatch):
    """Every test has its own empty cache folder and no app data in the environment."""
    d = tmp_path / "cache"
    monkeypatch.setenv("SIMLIB_CACHE_DIR", str(d))
    monkeypatch.delenv("SIMLIB_CACHE_MAX_MB", raising=False)
    for name in (session.SOURCE_ENV, session.MAPPING_ENV, "QUERY_STRING", "VOILA_PREHEAT"):
        monkeypatch.delenv(name, raising=False)
    return d


class Counter:
    """A computation that says how often it ran."""

    def __init__(self, value):
        self.value, self.calls = value, 0

    def __call__(self):
        self.calls += 1
        return self.value


def fake_data(fp="f" * 64):
    return SimpleNamespace(fingerprint=fp)


def pkl_files(d: Path) -> list[Path]:
    return sorted(d.glob("*/*.pkl"))


# --------------------------------------------------------------------------- disk_cached


def test_cache_dir_follows_the_environment(fresh_cache):
    assert cache_dir() == fresh_cache


def test_warm_hit_returns_the_same_content_without_recomputing(fresh_cache):
    value = {"trials": list(range(1000)), "name": "华东"}
    compute = Counter(value)
    first = cached_for(fake_data(), "lab-trials", {"n_trials": 400, "seed": 7}, compute)
    again = cached_for(fake_data(), "lab-trials", {"seed": 7, "n_trials": 400}, compute)
    assert first == again == value
    assert compute.calls == 1  # params in another order: the same key
    assert len(pkl_files(fresh_cache)) == 1


def test_changed_fingerprint_params_or_kind_misses():
    compute = Counter([1, 2, 3])
    cached_for(fake_data(), "k", {"seed": 7}, compute)
    cached_for(fake_data("0" * 64), "k", {"seed": 7}, compute)
    cached_for(fake_data(), "k", {"seed": 8}, compute)
    cached_for(fake_data(), "k2", {"seed": 7}, compute)
    assert compute.calls == 4
    cached_for(fake_data(), "k", {"seed": 7}, compute)
    assert compute.calls == 4


def test_the_key_carries_simlibs_source_digest(monkeypatch):
    """A change to simlib's code (here: its digest) never reads an older result back."""
    assert code_digest() == code_digest() and len(code_digest()) == 16
    before = disk_key("k", 1)
    compute = Counter("old")
    disk_cached("k", before, compute)
    monkeypatch.setattr(cache_mod, "_CODE_DIGEST", "edited-source")
    after = disk_key("k", 1)
    assert after != before
    assert disk_cached("k", after, Counter("new")) == "new"


def test_a_damaged_file_is_recomputed_and_replaced(fresh_cache):
    key = disk_key("damaged")
    disk_cached("k", key, Counter("good"))
    (path,) = pkl_files(fresh_cache)
    path.write_bytes(b"\x80\x05not a pickle at all")
    compute = Counter("recomputed")
    assert disk_cached("k", key, compute) == "recomputed"
    assert compute.calls == 1
    assert pickle.loads(path.read_bytes()) == "recomputed"  # replaced, readable again
    path.write_bytes(b"")  # truncated
    assert disk_cached("k", key, Counter("again")) == "again"


def test_an_unwritable_cache_folder_only_costs_the_recomputation(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("SIMLIB_CACHE_DIR", str(blocker / "cache"))  # cannot be created
    compute = Counter({"x": 1})
    assert disk_cached("k", disk_key("x"), compute) == {"x": 1}
    assert disk_cached("k", disk_key("x"), compute) == {"x": 1}
    assert compute.calls == 2
    assert blocker.read_text() == "not a folder"


def test_a_value_that_cannot_be_pickled_is_returned_and_not_kept(fresh_cache):
    fn = lambda: 1  # noqa: E731 - a lambda cannot be pickled
    assert disk_cached("k", disk_key("lambda"), lambda: fn) is fn
    assert pkl_files(fresh_cache) == []
    assert not any(p.name.endswith(".tmp") for p in fresh_cache.rglob("*"))


def test_the_folder_is_kept_under_its_size_limit(fresh_cache, monkeypatch):
    """Least recently used first: a file read back counts as used."""
    import os
    import time

    monkeypatch.setenv("SIMLIB_CACHE_MAX_MB", str(2.5 / 1024))  # 2.5 kB
    blob = b"x" * 1000
    keys = [disk_key("size", i) for i in range(3)]
    for i, key in enumerate(keys[:2]):
        disk_cached("k", key, Counter(blob))
        path = fresh_cache / "k" / f"{key}.pkl"
        os.utime(path, (time.time() - 100 + i, time.time() - 100 + i))
    disk_cached("k", keys[0], Counter(None))  # read back: now the most recently used
    disk_cached("k", keys[2], Counter(blob))  # over 2.5 kB: the oldest (keys[1]) goes
    kept = {p.stem for p in pkl_files(fresh_cache)}
    assert kept == {keys[0], keys[2]}
    assert disk_usage()[0] == 2


def test_clear_removes_results_and_nothing_else(fresh_cache):
    disk_cached("a", disk_key(1), Counter(1))
    disk_cached("b", disk_key(2), Counter(2))
    (fresh_cache / "README.txt").write_text("mine")
    (fresh_cache / "a" / "notes.txt").write_text("mine too")
    assert clear_disk_cache("a")[0] == 1
    assert disk_usage()[0] == 1
    files, size = clear_disk_cache()
    assert files == 1 and size > 0
    assert disk_usage() == (0, 0)
    assert (fresh_cache / "README.txt").read_text() == "mine"
    assert (fresh_cache / "a" / "notes.txt").exists()


def test_clear_on_a_missing_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("SIMLIB_CACHE_DIR", str(tmp_path / "never-made"))
    assert clear_disk_cache() == (0, 0)
    assert disk_usage() == (0, 0)


# --------------------------------------------------------------------------- app_lang


def test_app_lang_address_then_notebook_then_company(monkeypatch):
    import simlib.company

    monkeypatch.setattr(simlib.company, "default_language", lambda *a: "zh-CN")
    assert app_lang("") == "zh-CN"  # the company's language
    assert app_lang("en") == "en"  # the notebook's parameter
    monkeypatch.setenv("QUERY_STRING", "lang=en")
    assert app_lang("zh-CN") == "en"  # the address wins
    monkeypatch.setenv("QUERY_STRING", "x=1&lang=zh-CN")
    assert app_lang("en") == "zh-CN"
    for junk in ("lang=fr", "lang=<script>", "lang=", "lang", "%%%"):
        monkeypatch.setenv("QUERY_STRING", junk)
        assert app_lang("en") == "en", junk
        assert app_lang("") == "zh-CN", junk
    monkeypatch.setattr(simlib.company, "default_language", lambda *a: "en")
    monkeypatch.delenv("QUERY_STRING")
    assert app_lang("klingon") == "en"


def test_app_lang_in_a_preheated_kernel_without_a_server(monkeypatch):
    """A kernel Voilà started ahead of a request waits for it; with no server to ask,
    the notebook's language stands (no hang, no error)."""
    import voila.utils

    monkeypatch.setenv("VOILA_PREHEAT", "True")

    def no_server(url=None):
        raise OSError("no Voilà here")

    monkeypatch.setattr(voila.utils, "wait_for_request", no_server)
    assert app_lang("zh-CN") == "zh-CN"

    def request_arrives(url=None):
        import os

        os.environ["QUERY_STRING"] = "lang=en"

    monkeypatch.setattr(voila.utils, "wait_for_request", request_arrives)
    monkeypatch.setenv("QUERY_STRING", "")  # recorded, so the request's value is undone
    monkeypatch.delenv("QUERY_STRING")
    assert app_lang("zh-CN") == "en"


# --------------------------------------------------------------------------- open_data


def test_app_source_argument_then_environment(monkeypatch):
    assert app_source() == ("", "")
    monkeypatch.setenv(session.SOURCE_ENV, "/data/crm")
    monkeypatch.setenv(session.MAPPING_ENV, "salesforce")
    assert app_source() == ("/data/crm", "salesforce")
    assert app_source("/other", "hubspot") == ("/other", "hubspot")


def test_open_data_with_a_bad_mapping_says_what_is_wrong():
    from simlib.config import ParamError

    with pytest.raises(ParamError, match="no-such-crm: mapping not found.*salesforce"):
        open_data(str(SALESFORCE), "no-such-crm")
    with pytest.raises(ValueError, match="needs a column mapping"):
        open_data(str(SALESFORCE), "")


def test_open_data_with_an_export_that_does_not_fit_the_mapping():
    from simlib.data import DataError

    with pytest.raises(DataError, match="deals.csv; file not found"):
        open_data(str(SALESFORCE), "hubspot")
    with pytest.raises(DataError, match="data path not found"):
        open_data(str(SALESFORCE / "missing"), "salesforce")


def test_open_data_keeps_the_export_until_its_files_change(tmp_path, fresh_cache, monkeypatch):
    import simlib.data

    export = tmp_path / "export"
    shutil.copytree(SALESFORCE, export)
    monkeypatch.setenv(session.SOURCE_ENV, str(export))
    monkeypatch.setenv(session.MAPPING_ENV, "salesforce")
    first = open_data()
    assert len(first.opportunities) == 6
    calls = []
    real = simlib.data.load_data
    monkeypatch.setattr(simlib.data, "load_data", lambda *a, **k: calls.append(a) or real(*a, **k))
    again = open_data()
    assert calls == []  # read back from disk
    assert again.fingerprint == first.fingerprint
    assert again.opportunities.equals(first.opportunities)
    csv = export / "opportunities.csv"
    csv.write_text(csv.read_text(encoding="utf-8") + "\n", encoding="utf-8")  # a changed file
    open_data()
    assert len(calls) == 1


# --------------------------------------------------------------------------- simlib app --data


def run_cli(*argv):
    import socket

    from simlib.cli import main

    with socket.socket() as s:  # a port nobody uses: it is only probed, never bound
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return main(["app", "--port", str(port), *argv])


def test_simlib_app_checks_the_export_before_starting(capsys, monkeypatch):
    import simlib.apps.server

    started = []
    monkeypatch.setattr(simlib.apps.server, "serve", lambda *a, **k: started.append(k) or 0)
    assert run_cli("--data", str(SALESFORCE), "--mapping", "no-such-crm") == 2
    err = capsys.readouterr().err
    assert "no-such-crm: mapping not found" in err and "Traceback" not in err
    assert run_cli("--data", str(SALESFORCE / "gone"), "--mapping", "salesforce") == 2
    assert "data path not found" in capsys.readouterr().err
    assert run_cli("--data", str(SALESFORCE)) == 2
    assert "needs --mapping" in capsys.readouterr().err
    assert run_cli("--mapping", "salesforce") == 2
    assert "--mapping needs --data" in capsys.readouterr().err
    assert started == []
    assert run_cli("--data", str(SALESFORCE), "--mapping", "salesforce") == 0
    (kw,) = started
    assert kw["source"] == str(SALESFORCE.resolve()) and kw["mapping"] == "salesforce"
    assert run_cli() == 0
    assert started[-1]["source"] == ""  # the demo company


def test_the_workshop_is_kept_on_disk_and_reopens_without_simulating(tmp_path, monkeypatch):
    """The workshop's history and trials are written to the disk cache (they once could
    not be pickled, and every visit simulated again) and a second open reads them."""
    import simlib.targets.risk as risk
    from simlib.apps.target_workshop import TargetWorkshop

    monkeypatch.setenv("SIMLIB_CACHE_DIR", str(tmp_path / "cache"))
    first = TargetWorkshop.open(n_trials=200, lang="en", charts=False)
    kept = sorted(p.parent.name for p in (tmp_path / "cache").rglob("*") if p.is_file())
    assert "workshop-cache" in kept, kept

    def no_simulation(*a, **k):
        raise AssertionError("simulated again on a warm open")

    monkeypatch.setattr(risk, "simulate_for_targets", no_simulation)
    again = TargetWorkshop.open(n_trials=200, lang="en", charts=False)
    assert again.view.ok
    assert again.summary() == first.summary()
