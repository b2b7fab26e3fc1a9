"""Parameter files from an untrusted hand: refused early, with a short, clear message.

- a "billion laughs" YAML document is refused while it is read, in little memory;
- a value echoed in a message is cut, so no message grows past a few KB;
- the standard ``<<:`` merge key works, and explicit keys override merged ones;
- an impossible date (``2026-02-30``) is a :class:`ParamError`, not an internal error;
- fuzzing (Hypothesis): any document gives a :class:`ParamError` or loads, never another
  exception, and the known-bad classes (unknown key, wrong type, duplicate key) are
  never silently accepted.
"""

from __future__ import annotations

import re
import tempfile
import tracemalloc
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simlib.config import (
    ALIAS_EXPANSION_LIMIT,
    NO_VALUE,
    PROBLEMS_SHOWN,
    ParamError,
    Problem,
    _fields_at,
    _step,
    load_yaml,
    show_value,
)
from simlib.params import load_params, model_for, validate_params

PARAMS = Path(__file__).resolve().parent.parent / "params"
#: the longest a single problem may print (plus its file name)
MAX_PROBLEM_CHARS = 2_000


def _bomb(depth: int, key: str = "company_growth") -> str:
    """A billion-laughs document: ``depth`` levels of nine aliases each, under ``key``."""
    names = "abcdefghijklmnop"
    lines = ["year: 2027", f"{key}:", f"  - &a [{', '.join(['lol'] * 9)}]"]
    for i in range(1, depth):
        lines.append(f"  - &{names[i]} [{', '.join(['*' + names[i - 1]] * 9)}]")
    return "\n".join(lines) + "\n"


def _problem_texts_are_short(err: ParamError) -> None:
    for p in err.problems:
        assert len(str(p)) <= MAX_PROBLEM_CHARS + len(p.file), str(p)[:300]
    assert len(str(err)) <= (PROBLEMS_SHOWN + 1) * (MAX_PROBLEM_CHARS + 300)


# --------------------------------------------------------------------------- alias bombs


def test_billion_laughs_depth_9_fails_fast_in_little_memory(tmp_path):
    text = _bomb(9)
    assert len(text) < 1024  # 1 KB that would expand to 9**9 strings
    (tmp_path / "targets.yaml").write_text(text, encoding="utf-8")
    tracemalloc.start()
    try:
        with pytest.raises(ParamError) as err:
            load_params("targets.yaml", params_dir=tmp_path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Before the limit: depth 6 printed a 4.3 MB message, depth 7 39 MB (80 MB traced).
    assert peak < 2 * 2**20, f"peak {peak / 2**20:.1f} MB"
    msg = str(err.value)
    assert msg == (
        f"{tmp_path / 'targets.yaml'}: line 7: too many aliases (YAML alias expansion limit "
        f"of {ALIAS_EXPANSION_LIMIT:,} nodes exceeded at *d); expected a plain parameter file"
    )


def test_bomb_is_refused_by_validate_params_too(tmp_path):
    (tmp_path / "plans").mkdir()
    (tmp_path / "plans" / "x.yaml").write_text(_bomb(9, key="description"), encoding="utf-8")
    with pytest.raises(ParamError, match="too many aliases"):
        validate_params(tmp_path)


def test_bomb_below_the_limit_loads_but_its_echo_is_short(tmp_path):
    # depth 4 adds about 7,400 nodes: allowed, and the wrong-typed value is echoed cut.
    (tmp_path / "targets.yaml").write_text(_bomb(4), encoding="utf-8")
    with pytest.raises(ParamError) as err:
        load_params("targets.yaml", params_dir=tmp_path)
    (p,) = [p for p in err.value.problems if p.path == "targets.company_growth"]
    assert "… (a list of 4 items)" in str(p)
    _problem_texts_are_short(err.value)


def test_recursive_alias_is_refused(tmp_path):
    (tmp_path / "company.yaml").write_text("currency: &c [*c]\n", encoding="utf-8")
    with pytest.raises(ParamError, match=r"line 1: recursive alias \*c"):
        load_params("company.yaml", params_dir=tmp_path)


def test_deep_nesting_is_refused(tmp_path):
    (tmp_path / "company.yaml").write_text("currency: " + "[" * 500 + "]" * 500 + "\n")
    with pytest.raises(ParamError, match="line 1: nested more than 100 levels deep"):
        load_params("company.yaml", params_dir=tmp_path)


def test_too_long_number_is_refused(tmp_path):
    (tmp_path / "company.yaml").write_text("fiscal_year_start_month: " + "9" * 5000 + "\n")
    with pytest.raises(ParamError, match="a number of 5000 digits is too long to read"):
        load_params("company.yaml", params_dir=tmp_path)


# --------------------------------------------------------------------------- echoes


def test_long_value_is_cut_in_the_message(tmp_path):
    blob = "CNY" * 2000
    (tmp_path / "company.yaml").write_text(f"name: x\ncurrency: {blob}\n", encoding="utf-8")
    with pytest.raises(ParamError) as err:
        load_params("company.yaml", params_dir=tmp_path)
    (p,) = err.value.problems
    text = str(p)
    assert f"got '{blob[:199]}… (6000 characters); input should be 'CNY'" in text
    assert blob not in text
    assert len(text) < 500


def test_show_value():
    assert show_value([{"year": 2027}, (1,), {2, 3}, None]) == repr(
        [{"year": 2027}, (1,), {2, 3}, None]
    )
    assert show_value("x" * 500, limit=5) == "'xxxx… (500 characters)"
    assert show_value(list(range(1000))).endswith(", 5… (a list of 1000 items)")
    assert show_value({"k": "v" * 1000}).endswith("… (a mapping of 1 key)")
    shared = ["lol"] * 9
    for _ in range(12):  # 9**12 strings when expanded: never walked whole
        shared = [shared] * 9
    assert len(show_value(shared)) < 250
    assert show_value(10**5000).startswith("<int>")


def test_problem_text_is_bounded_whatever_the_parts():
    p = Problem("f.yaml", "a." + "k" * 5000, "v" * 10**6, "m" * 10**5)
    text = str(p)
    assert len(text) < MAX_PROBLEM_CHARS
    assert "(5002 characters)" in text and "(1000000 characters)" in text
    assert "(100000 characters)" in text
    assert str(Problem("f.yaml", "x", [1, "a"], "bad")) == "f.yaml: x: got [1, 'a']; bad"


def test_many_problems_are_summarised():
    problems = [Problem("f.yaml", f"x[{i}]", i, "bad") for i in range(PROBLEMS_SHOWN + 50)]
    err = ParamError(problems)
    assert len(err.problems) == PROBLEMS_SHOWN + 50
    assert str(err).endswith("... and 50 more problems")
    assert str(err).count("\n") == PROBLEMS_SHOWN + 1


# --------------------------------------------------------------------------- merge keys


MERGED_PLAN = """\
description: Two plans' worth of tiers from one set of defaults
basis: attainment
tiers:
  - &base {threshold: 0, rate: 0.04, label: base}
  - <<: *base
    threshold: 1.0
    label: above quota
gate: &gate {min_attainment: 0.5}
cap:
  <<: [{per_period: 90000, per_deal: 1}, {per_deal: 20000}]
"""


def test_merge_key_in_a_real_plan(tmp_path):
    (tmp_path / "plans").mkdir()
    (tmp_path / "plans" / "merged.yaml").write_text(MERGED_PLAN, encoding="utf-8")
    plan = load_params("plans/merged.yaml", params_dir=tmp_path)
    assert [(b.threshold, b.rate, b.label) for b in plan.tiers] == [
        (0, 0.04, "base"),
        (1.0, 0.04, "above quota"),  # rate merged, threshold and label overridden
    ]
    assert plan.gate.min_attainment == 0.5
    # in a list of sources the first wins
    assert (plan.cap.per_period, plan.cap.per_deal) == (90000, 1)


def test_merge_keys_override_and_chain(tmp_path):
    f = tmp_path / "x.yaml"
    f.write_text(
        "defs:\n  - &t {a: 1, b: 1}\n  - &s {<<: *t, a: 2}\n"
        "x: {<<: *s, c: 3}\ny:\n  b: 9\n  <<: *s\n",
        encoding="utf-8",
    )
    data = load_yaml(f)
    assert data["x"] == {"a": 2, "b": 1, "c": 3}  # PyYAML alone gives a == 1 here
    assert data["y"] == {"a": 2, "b": 9}


def test_duplicate_keys_are_still_refused_beside_a_merge(tmp_path):
    f = tmp_path / "x.yaml"
    f.write_text("d: &d {a: 1}\nx:\n  <<: *d\n  b: 1\n  b: 2\n", encoding="utf-8")
    with pytest.raises(ParamError, match=r"duplicate key 'b' \(first on line 4\) at line 5"):
        load_yaml(f)


# --------------------------------------------------------------------------- dates


DAY = "expected a real calendar date as YYYY-MM-DD"


@pytest.mark.parametrize(
    "text,why",
    [
        ("2026-02-30", f"February has 28 days in 2026); {DAY}"),
        ("2024-02-30", f"February has 29 days in 2024); {DAY}"),
        ("2026-04-31", f"April has 30 days in 2026); {DAY}"),
        ("2026-13-01", f"there is no month 13; months run 1 to 12); {DAY}"),
        (
            "2026-01-01T25:00:00",
            "the time of day is wrong: hour must be in 0..23); "
            "expected a time of day from 00:00:00 to 23:59:59",
        ),
    ],
)
def test_impossible_date(tmp_path, text, why):
    (tmp_path / "plans").mkdir()
    plan = f"description: x\neffective_from: {text}\ntiers: [{{threshold: 0, rate: 0.04}}]\n"
    (tmp_path / "plans" / "x.yaml").write_text(plan, encoding="utf-8")
    with pytest.raises(ParamError) as err:
        load_params("plans/x.yaml", params_dir=tmp_path)
    assert str(err.value) == f"{tmp_path / 'plans' / 'x.yaml'}: line 2: not a date: {text} ({why}"


@pytest.mark.parametrize(
    "value,message",
    [
        ("'2026-02-30'", "got '2026-02-30'; not a date (February has 28 days in 2026)"),
        ("20260230", "got 20260230; expected a date written as YYYY-MM-DD"),
        ("0", "got 0; expected a date written as YYYY-MM-DD"),  # not 1970-01-01
    ],
)
def test_plan_date_that_pydantic_would_misread(tmp_path, value, message):
    (tmp_path / "plans").mkdir()
    plan = f"description: x\neffective_from: {value}\ntiers: [{{threshold: 0, rate: 0.04}}]\n"
    (tmp_path / "plans" / "x.yaml").write_text(plan, encoding="utf-8")
    with pytest.raises(ParamError) as err:
        load_params("plans/x.yaml", params_dir=tmp_path)
    assert f"plans.x.effective_from: {message}" in str(err.value)


# --------------------------------------------------------------------------- fuzzing


def _seeds() -> list[tuple[str, str]]:
    out = []
    for path in sorted(PARAMS.rglob("*.yaml")):
        rel = path.relative_to(PARAMS).as_posix()
        if model_for(rel) is not None:
            out.append((rel, path.read_text(encoding="utf-8")))
    return out


SEEDS = _seeds()
NAMES = sorted({rel for rel, _ in SEEDS} | {"plans/x.yaml", "scorecard.yaml"})
FUZZ = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
KNOWN_BAD = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

FRAGMENTS = [
    "&a ",
    "*a",
    "<<: *a\n",
    "<<: ",
    "2026-02-30",
    "2026-13-01",
    "2026-01-01T25:00:00",
    "- ",
    ": ",
    "{",
    "}",
    "[",
    "]",
    "\n  ",
    "\n",
    "\t",
    "!!binary ",
    "!!set ",
    "!!omap ",
    "!!python/object:os.system ",
    "? ",
    "---\n",
    "~",
    "1e999",
    "-.inf",
    ".nan",
    "0x1F",
    "9" * 30,
    "'",
    '"',
    "#",
    "|",
    ">",
    "&b [*a, *a, *a]",
    "yes",
]

KEYS = st.sampled_from(
    ["description", "tiers", "threshold", "rate", "kind", "active", "weight_sets", "kpis",
     "year", "company_growth", "currency", "period", "name", "weight", "rules", "<<"]
) | st.text(max_size=12)  # fmt: skip
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(10**20), 10**20)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=30)
    | st.dates()
    | st.sampled_from(["2026-02-30", "CNY", "quarter", "threshold", "0.5", "yes"])
)
DATA = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=5),
    max_leaves=25,
)


@st.composite
def _dumped(draw) -> tuple[str, bytes]:
    data = draw(DATA)
    text = yaml.safe_dump(
        data,
        sort_keys=False,
        allow_unicode=draw(st.booleans()),
        default_flow_style=draw(st.sampled_from([False, True, None])),
    )
    return draw(st.sampled_from(NAMES)), text.encode("utf-8")


@st.composite
def _mutated(draw) -> tuple[str, bytes]:
    rel, text = draw(st.sampled_from(SEEDS))
    for _ in range(draw(st.integers(1, 4))):
        pos = draw(st.integers(0, len(text)))
        op = draw(st.sampled_from(["insert", "insert", "delete", "dup_line"]))
        if op == "insert":
            frag = draw(st.sampled_from(FRAGMENTS) | st.text(max_size=8))
            text = text[:pos] + frag + text[pos:]
        elif op == "delete":
            text = text[:pos] + text[pos + draw(st.integers(1, 40)) :]
        else:
            lines = text.splitlines(keepends=True)
            if lines:
                i = pos % len(lines)
                lines.insert(i, lines[i])
                text = "".join(lines)
    return rel, text.encode("utf-8")


@st.composite
def _noise(draw) -> tuple[str, bytes]:
    alphabet = st.sampled_from(list("ab01:-[]{}&*!|>'\"#%@,?\n \t.<~") + FRAGMENTS)
    parts = draw(st.lists(alphabet, max_size=60))
    raw = "".join(parts).encode("utf-8")
    if draw(st.booleans()):
        raw = draw(st.binary(max_size=80)) if draw(st.booleans()) else raw + b"\xff\xfe"
    return draw(st.sampled_from(NAMES)), raw


@FUZZ
@given(doc=st.one_of(_dumped(), _mutated(), _noise()))
def test_fuzzed_documents_give_a_param_error_or_load(doc):
    rel, raw = doc
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(raw)
        try:
            validate_params(d)
        except ParamError as e:  # anything else is an internal error: the test fails
            assert e.problems
            _problem_texts_are_short(e)


def _model_mappings(model, root):
    """``(loc, valid keys)`` of every mapping in ``root`` that a model validates."""

    def walk(node, loc):
        if isinstance(node, dict):
            fields = _fields_at(model, loc, root)
            if fields:
                yield loc, fields
            for k, v in node.items():
                yield from walk(v, (*loc, k))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                yield from walk(v, (*loc, i))

    return list(walk(root, ()))


def _annotations(model, loc) -> list:
    anns: list = [model]
    for part in loc:
        anns = [x for a in anns for x in _step(a, part)]
    return anns


def _set(data, loc, value):
    node = data
    for part in loc[:-1]:
        node = node[part]
    node[loc[-1]] = value


def _dump(data) -> bytes:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=10**9).encode()


def _validate(rel: str, raw: bytes) -> ParamError | None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(raw)
        try:
            validate_params(d)
        except ParamError as e:
            return e
    return None


@pytest.mark.parametrize("rel", [rel for rel, _ in SEEDS])
def test_seeds_dumped_again_are_valid(rel):
    text = dict(SEEDS)[rel]
    assert _validate(rel, _dump(yaml.safe_load(text))) is None


@KNOWN_BAD
@given(seed=st.sampled_from(SEEDS), data=st.data())
def test_unknown_key_is_never_accepted(seed, data):
    rel, text = seed
    model = model_for(rel)
    doc = load_yaml_text(text)
    spots = _model_mappings(model, doc)
    loc, fields = data.draw(st.sampled_from(spots))
    key = "zz_" + data.draw(st.text("abcdefghij_", min_size=1, max_size=8))
    assert key not in fields
    _set(doc, (*loc, key), data.draw(SCALARS))
    err = _validate(rel, _dump(doc))
    assert err is not None, f"unknown key {key!r} at {loc} accepted in {rel}"
    assert any(f"unknown key '{key}'" in p.message for p in err.problems), str(err)


def _accepts(anns, types: tuple) -> bool:
    """Whether any annotation reachable here could take a value of ``types``."""
    import typing
    from typing import Any

    for a in anns:
        if a is Any or a in types:
            return True
        origin = typing.get_origin(a)
        if origin is typing.Annotated:
            if _accepts([typing.get_args(a)[0]], types):
                return True
        elif origin is not None and origin not in (list, tuple, dict, typing.Literal):
            if _accepts(typing.get_args(a), types):
                return True
    return False


@KNOWN_BAD
@given(seed=st.sampled_from(SEEDS), data=st.data())
def test_wrong_type_is_never_accepted(seed, data):
    rel, text = seed
    model = model_for(rel)
    doc = load_yaml_text(text)
    leaves = []
    for loc, fields in _model_mappings(model, doc):
        node = doc
        for part in loc:
            node = node[part]
        for k, v in node.items():
            if k in fields and not isinstance(v, dict):
                leaves.append(((*loc, k), v))
    loc, old = data.draw(st.sampled_from(leaves))
    anns = _annotations(model, loc)
    # a number, date or flag gets a word; a word or list gets a nested list
    new = "zz not a value" if isinstance(old, (int, float)) or hasattr(old, "year") else [["zz"]]
    if _accepts(anns, (str,) if isinstance(new, str) else (list,)):
        return  # this field takes free text (or anything): nothing to test here
    _set(doc, loc, new)
    err = _validate(rel, _dump(doc))
    assert err is not None, f"{new!r} accepted at {loc} in {rel} (was {old!r})"


@KNOWN_BAD
@given(seed=st.sampled_from(SEEDS), data=st.data())
def test_duplicate_key_is_never_accepted(seed, data):
    rel, text = seed
    lines = _dump(load_yaml_text(text)).decode().splitlines(keepends=True)
    entry = re.compile(r"^ *[A-Za-z_][A-Za-z0-9_]*: [^|>\s]")
    spots = [i for i, line in enumerate(lines) if entry.match(line)]
    i = data.draw(st.sampled_from(spots))
    lines.insert(i + 1, lines[i])
    err = _validate(rel, "".join(lines).encode())
    assert err is not None, f"duplicate of line {i + 1} accepted in {rel}"
    assert any("duplicate key" in p.message for p in err.problems), str(err)
    assert err.problems[0].value is NO_VALUE


def load_yaml_text(text: str):
    with tempfile.TemporaryDirectory() as d:
        f = Path(d) / "x.yaml"
        f.write_text(text, encoding="utf-8")
        return load_yaml(f)
