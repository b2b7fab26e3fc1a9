"""The team-review templates execute under papermill; the rep pack leaks no other rep."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from simlib.reports.render import output_text

ROOT = Path(__file__).resolve().parents[2]
REPORTS = ROOT / "notebooks" / "reports"
TEMPLATES = ("weekly_team_review", "monthly_team_review", "rep_review_pack")


RUNS = {  # small parameters; the three renders run at once (kernel start and imports dominate)
    "weekly_team_review": dict(team="T-SH", week_ending="2026-11-20", lang="en"),
    "monthly_team_review": dict(team="T-SH", month="2026-10", lang="en"),
    "rep_review_pack": dict(rep_id="S003", period="2026-10", lang="zh-CN"),
}


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """Each template executed by papermill (in parallel processes), as parsed JSON."""
    pytest.importorskip("papermill")
    tmp = tmp_path_factory.mktemp("reviews")
    procs = {}
    for name, params in RUNS.items():
        args = [sys.executable, "-m", "papermill", str(REPORTS / f"{name}.ipynb"),
                str(tmp / f"{name}.ipynb"), "--cwd", str(ROOT), "--no-progress-bar", "-k", "python3"]
        for k, v in params.items():
            args += ["-p", k, str(v)]
        procs[name] = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = {}
    for name, p in procs.items():
        log = p.communicate(timeout=300)[0].decode(errors="replace")
        assert p.returncode == 0, f"{name} failed:\n{log[-3000:]}"
        out[name] = json.loads((tmp / f"{name}.ipynb").read_text(encoding="utf-8"))
    return out


def _outputs(nb) -> str:
    return output_text(nb, images=True)


@pytest.mark.parametrize("name", TEMPLATES)
def test_one_typed_parameters_cell_and_no_outputs(name):
    nb = json.loads((REPORTS / f"{name}.ipynb").read_text(encoding="utf-8"))
    tagged = [c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1
    src = "".join(tagged[0]["source"])
    assert ": str =" in src and "#" in src
    for c in nb["cells"]:
        if c["cell_type"] == "code":
            assert c["outputs"] == [] and c["execution_count"] is None


def test_weekly_review_executes(executed):
    text = _outputs(executed["weekly_team_review"])
    assert "Progress against pace" in text and "Zhang Wei" in text
    assert "Alerts active on 2026-11-20" in text and "Expected by pace" in text
    assert "S003" not in text and "node_id" not in text


def test_monthly_review_shows_decomposition_and_check(executed):
    from simlib import tracking
    from simlib.views.team_review import load_facts

    text = _outputs(executed["monthly_team_review"])
    assert "Gap to plan, decomposed" in text and "Check passed" in text
    for word in ("volume", "price", "mix", "new customers", "existing customers"):
        assert word in text
    from simlib.present import Units

    dev = tracking.deviation(load_facts(), "T-SH", "2026-10")
    assert Units("en").amount(dev.gap, unit=True, sign=True) in text  # the page's unit
    assert "to the cent" in text
    assert "Proposed actions" in text


@pytest.fixture(scope="module")
def facts():
    from simlib.views.team_review import load_facts

    return load_facts()


def _mates(reps, rep_id):
    me = reps.set_index("rep_id").loc[rep_id]
    return me, reps[(reps["team_id"] == me["team_id"]) & (reps["rep_id"] != rep_id)]


def test_rep_pack_notebook_shows_only_that_rep(executed):
    from simlib.views.team_review import load_facts

    me, mates = _mates(load_facts().reps, "S003")
    text = _outputs(executed["rep_review_pack"])
    assert me["name_zh"] in text and "团队平均" in text
    assert len(mates) > 3
    for _, r in mates.iterrows():
        assert r["name"] not in text and r["name_zh"] not in text and r["rep_id"] not in text


@pytest.mark.parametrize("rep_id", ["S003", "S054"])  # S054 has a capability gap: a mentor is named
@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_rep_pack_view_names_no_other_rep(facts, rep_id, lang):
    from simlib.views.team_review import rep_pack

    f = facts
    me, mates = _mates(f.reps, rep_id)
    p = rep_pack(f, rep_id, "2026-10", lang)
    text = "\n".join([repr(p.header()), repr(p.scorecard()),
                      p.explanation, p.markdown, repr(p.honours_list()),
                      p.scorecard()._repr_html_()])
    assert (me["name_zh"] if lang == "zh-CN" else me["name"]) in text
    assert not any("  " in line for line in p.markdown.splitlines())  # a name cut out cleanly
    for _, r in mates.iterrows():
        assert r["name"] not in text and r["name_zh"] not in text and r["rep_id"] not in text
