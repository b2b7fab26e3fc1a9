"""The install story: pyproject and environment.yml agree; README commands are what CI runs."""

import re
from pathlib import Path

import tomllib
import yaml

ROOT = Path(__file__).resolve().parent.parent


def _req(spec: str) -> tuple[str, str]:
    m = re.match(r"^\s*([A-Za-z0-9_.\-\[\]]+?)\s*((?:[<>=!~]=?|==).*)?$", spec)
    assert m, spec
    name = re.sub(r"\[.*\]", "", m.group(1)).lower().replace("_", "-")
    return name, (m.group(2) or "").replace(" ", "")


def test_environment_yml_matches_pyproject():
    py = tomllib.loads((ROOT / "pyproject.toml").read_text())
    wanted = dict(_req(s) for s in py["project"]["dependencies"])
    for extra in py["project"].get("optional-dependencies", {}).values():
        wanted.update(_req(s) for s in extra)
    wanted["python"] = py["project"]["requires-python"].replace(" ", "")
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = {}
    for dep in env["dependencies"]:
        if isinstance(dep, str) and dep != "pip":
            name, bound = _req(dep)
            conda[name] = bound
    assert conda == wanted, (
        "environment.yml and pyproject.toml disagree:\n"
        f"only in pyproject: { {k: v for k, v in wanted.items() if conda.get(k) != v} }\n"
        f"only in environment.yml: { {k: v for k, v in conda.items() if wanted.get(k) != v} }"
    )


def _readme_commands():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    quick = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```(?:bash|sh)?\n(.*?)```", quick, flags=re.S)
    return [b.strip() for b in blocks]


def test_readme_quick_start_has_exactly_two_one_line_commands():
    blocks = _readme_commands()
    assert len(blocks) == 2, blocks
    assert all("\n" not in b for b in blocks), blocks


def test_ci_runs_the_readme_test_command():
    test_cmd = _readme_commands()[1]
    ci = (ROOT / ".ci" / "run").read_text()
    assert test_cmd in ci.splitlines(), f"{test_cmd!r} not a line of .ci/run"


def test_console_script_declared():
    py = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert py["project"]["scripts"]["simlib"] == "simlib.cli:main"
