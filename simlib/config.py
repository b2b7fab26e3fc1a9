"""Loader machinery for parameter files: YAML in, validated, frozen, typed models out.

Every error names the file, the dotted path inside it (prefixed with the file's place
under ``params/``, e.g. ``plans.field_sales.tiers[2].rate``), the bad value and what
is allowed. Unknown keys are rejected with the closest valid key suggested.

This module holds the machinery only (:class:`StrictModel`, :func:`load_model`,
:func:`load_file`, the errors). Each parameter model lives beside the code that uses
it (the calendar's in :mod:`simlib.calendar`, a plan's in :mod:`simlib.plans`, ...);
:mod:`simlib.params` says which file is validated by which model.
"""

from __future__ import annotations

import calendar
import datetime as dt
import difflib
import re
import types
import typing
from collections.abc import Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Union

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

__all__ = [
    "NO_VALUE",
    "At",
    "ParamDate",
    "ParamError",
    "Problem",
    "StrictModel",
    "validate_data",
    "default_params_dir",
    "hint",
    "load_file",
    "load_model",
    "load_yaml",
    "loc_path",
    "show_value",
]


# --------------------------------------------------------------------------- errors


#: Longest echo of a value in a message; a longer one is cut (see :func:`show_value`).
SHOW_LIMIT = 200
#: Longest dotted path and message text in a :class:`Problem` before they are cut.
PATH_LIMIT = 300
MESSAGE_LIMIT = 1000
#: Problems written out in a :class:`ParamError` message (all stay in ``.problems``).
PROBLEMS_SHOWN = 100


class _Full(Exception):
    """The echo of a value ran out of room."""


def _describe(value: Any) -> str:
    """What a cut echo stood for: ``"5000 characters"``, ``"a list of 9 items"``."""
    if isinstance(value, str):
        return f"{len(value)} characters"
    if isinstance(value, (bytes, bytearray)):
        return f"{len(value)} bytes"
    n = len(value) if isinstance(value, (dict, list, tuple, set, frozenset)) else 0
    if isinstance(value, dict):
        return f"a mapping of {n} key{'s' * (n != 1)}"
    if isinstance(value, (list, tuple, set, frozenset)):
        kind = "list" if isinstance(value, list) else type(value).__name__
        return f"a {kind} of {n} item{'s' * (n != 1)}"
    try:
        return f"{len(repr(value))} characters"
    except Exception:  # noqa: BLE001 - a value that cannot even be shown
        return f"a {type(value).__name__}"


def show_value(value: Any, limit: int = SHOW_LIMIT) -> str:
    """``repr(value)``, cut after ``limit`` characters without ever building it whole.

    Parameters
    ----------
    value : Any
        What to echo; nested mappings and lists are walked only as far as ``limit``
        reaches, so a value built by YAML aliases (shared, and huge when expanded)
        costs no more to show than a short one.
    limit : int
        Characters of the echo to keep.

    Returns
    -------
    str
        ``repr(value)`` when it fits; otherwise its first ``limit`` characters,
        then ``"… (N characters)"`` or a summary such as ``"… (a list of 9 items)"``.

    Examples
    --------
    >>> show_value([1, "a"])
    "[1, 'a']"
    >>> show_value("x" * 500, limit=5)
    "'xxxx… (500 characters)"
    """
    parts: list[str] = []
    room = [limit]

    def put(text: str) -> None:
        parts.append(text)
        room[0] -= len(text)
        if room[0] < 0:
            raise _Full

    def items(seq, open_: str, close: str) -> None:
        put(open_)
        for i, item in enumerate(seq):
            if i:
                put(", ")
            walk(item)
        put(close)

    def walk(v: Any) -> None:
        if isinstance(v, dict):
            put("{")
            for i, (k, x) in enumerate(v.items()):
                if i:
                    put(", ")
                walk(k)
                put(": ")
                walk(x)
            put("}")
        elif isinstance(v, list):
            items(v, "[", "]")
        elif isinstance(v, tuple):
            items(v, "(", ",)" if len(v) == 1 else ")")
        elif isinstance(v, (set, frozenset)) and v:
            name = "" if type(v) is set else f"{type(v).__name__}("
            items(v, name + "{", "}" + (")" if name else ""))
        elif isinstance(v, (str, bytes)):
            put(repr(v[: room[0] + 1]))  # a long text never goes through repr whole
        else:
            try:
                text = repr(v)
            except Exception:  # noqa: BLE001 - e.g. an int too long to print
                text = f"<{type(v).__name__}>"
            put(text[: limit + 1])

    try:
        walk(value)
    except _Full:
        return "".join(parts)[:limit] + f"… ({_describe(value)})"
    except RecursionError:
        return f"<{_describe(value)}>"
    return "".join(parts)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} characters)"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a parameter file.

    Its text never grows past a few KB whatever the input: the value is echoed by
    :func:`show_value`, and a very long path or message is cut.
    """

    file: str
    path: str
    value: Any
    message: str

    def __str__(self) -> str:
        path = _clip(str(self.path), PATH_LIMIT)
        where = f"{self.file}: {path}" if path else self.file
        message = _clip(str(self.message), MESSAGE_LIMIT)
        if self.value is NO_VALUE:
            return f"{where}: {message}"
        if isinstance(self.value, dt.date):
            shown = self.value.isoformat()
        else:
            shown = show_value(self.value)
        return f"{where}: got {shown}; {message}"


#: "no value to show" in a :class:`Problem` (the message says it).
NO_VALUE = object()


class At(ValueError):
    """Raised by a model validator to blame one key below the model, not the whole model.

    ``loc`` is the key path relative to the model (``("growth", "cap")``,
    ``("working_weekends", 3)``); ``value`` the offending value (omit it when the
    message says it).
    """

    def __init__(self, loc: tuple, message: str, value: Any = NO_VALUE):
        super().__init__(message)
        self.loc = tuple(loc)
        self.value = value


class ParamError(ValueError):
    """A parameter file is invalid; ``problems`` lists every finding."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        lines = [str(p) for p in self.problems[:PROBLEMS_SHOWN]]
        if len(self.problems) > PROBLEMS_SHOWN:
            lines.append(f"... and {len(self.problems) - PROBLEMS_SHOWN} more problems")
        head = "invalid parameters" if len(lines) > 1 else "invalid parameter"
        super().__init__(f"{head}:\n  " + "\n  ".join(lines) if len(lines) > 1 else lines[0])


# --------------------------------------------------------------------------- YAML


#: Nodes that aliases may add to a document, counting each use of an alias as the
#: whole node it names. A parameter file needs a few hundred at most (``<<: *defaults``
#: in each plan); a "billion laughs" document needs billions.
ALIAS_EXPANSION_LIMIT = 10_000
#: Mappings and lists nested inside each other; parameter files nest a handful.
NESTING_LIMIT = 100

_MERGE_TAG = "tag:yaml.org,2002:merge"
_PLAIN_FILE = "expected a plain parameter file"


class _LoadProblem(yaml.YAMLError):
    """A problem found while reading YAML, shown as ``line N: message``."""

    def __init__(self, mark, message: str):
        super().__init__(message)
        self.mark = mark
        self.message = message


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys, alias bombs and impossible dates.

    * duplicate keys (PyYAML silently keeps the last) are refused; the ``<<`` merge
      key is not a key, and an explicit key overrides a merged one;
    * aliases may add at most :data:`ALIAS_EXPANSION_LIMIT` nodes in total, counted
      while composing, before anything is built, and may not refer to the node they
      sit in; nesting is limited to :data:`NESTING_LIMIT` levels;
    * a value that looks like a date but is not one (``2026-02-30``), or a number
      Python refuses to read, is a :class:`_LoadProblem` with its line.
    """

    def __init__(self, stream):
        super().__init__(stream)
        self._sizes: dict[int, int] = {}  # id(node) -> nodes it stands for, expanded
        self._expanded = 0  # nodes added by aliases so far
        self._depth = 0
        self._explicit: dict[int, list] = {}  # id(mapping node) -> its own key nodes

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            node = super().compose_node(parent, index)
            size = self._sizes.get(id(node))
            if size is None:
                raise _LoadProblem(
                    event.start_mark,
                    f"recursive alias *{event.anchor} (it refers to a node that contains it); "
                    + _PLAIN_FILE,
                )
            self._expanded += size
            if self._expanded > ALIAS_EXPANSION_LIMIT:
                raise _LoadProblem(
                    event.start_mark,
                    "too many aliases (YAML alias expansion limit of "
                    f"{ALIAS_EXPANSION_LIMIT:,} nodes exceeded at *{event.anchor}); " + _PLAIN_FILE,
                )
            return node
        if self.check_event(yaml.SequenceStartEvent, yaml.MappingStartEvent):
            self._depth += 1
            if self._depth > NESTING_LIMIT:
                raise _LoadProblem(
                    self.peek_event().start_mark,
                    f"nested more than {NESTING_LIMIT} levels deep; " + _PLAIN_FILE,
                )
        node = super().compose_node(parent, index)
        if isinstance(node, yaml.SequenceNode):
            self._depth -= 1
            self._sizes[id(node)] = 1 + sum(self._sizes[id(c)] for c in node.value)
        elif isinstance(node, yaml.MappingNode):
            self._depth -= 1
            self._sizes[id(node)] = 1 + sum(
                self._sizes[id(k)] + self._sizes[id(v)] for k, v in node.value
            )
            # Merging rewrites node.value in place; keep the keys the file wrote here.
            self._explicit[id(node)] = [k for k, _ in node.value if k.tag != _MERGE_TAG]
        else:
            self._sizes[id(node)] = 1
        return node

    def flatten_mapping(self, node):
        """Replace ``<<`` entries by the pairs they merge, placed so that the right one wins.

        PyYAML's own version keeps the first pair per key string it meets, so a chained
        merge (``<<: *s`` where ``s`` itself has ``<<: *t`` and overrides a key of
        ``t``) takes ``t``'s value. Here the merged pairs come first and the file's own
        last (``construct_mapping`` keeps the last of equal keys), and in
        ``<<: [*a, *b]`` ``a`` wins over ``b``, as the YAML merge-key spec says.
        """
        sources = []
        kept = []
        for key_node, value_node in node.value:
            if key_node.tag != _MERGE_TAG:
                if key_node.tag == "tag:yaml.org,2002:value":
                    key_node.tag = "tag:yaml.org,2002:str"
                kept.append((key_node, value_node))
            elif isinstance(value_node, yaml.MappingNode):
                sources.append(value_node)
            elif isinstance(value_node, yaml.SequenceNode):
                for sub in value_node.value:
                    if not isinstance(sub, yaml.MappingNode):
                        raise yaml.constructor.ConstructorError(
                            "while constructing a mapping",
                            node.start_mark,
                            f"expected a mapping for merging, but found {sub.id}",
                            sub.start_mark,
                        )
                    sources.append(sub)
            else:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping",
                    node.start_mark,
                    "expected a mapping or list of mappings for merging, "
                    f"but found {value_node.id}",
                    value_node.start_mark,
                )
        if not sources:
            return
        merged = []
        for sub in reversed(sources):  # the first source is written last, so it wins
            self.flatten_mapping(sub)
            merged += sub.value
        node.value = merged + kept

    def construct_object(self, node, deep=False):
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, OverflowError) as e:
            text = node.value if isinstance(node, yaml.ScalarNode) else ""
            if node.tag.endswith(":int"):
                msg = f"a number of {len(text)} digits is too long to read"
            else:
                msg = f"cannot read {show_value(text)} ({e})"
            raise _LoadProblem(node.start_mark, f"{msg}; {_PLAIN_FILE}") from None


def _why_not_a_date(text: str, error: Exception) -> tuple[str, str]:
    """Why ``text`` (shaped like a date) is not one, and what was expected.

    >>> _why_not_a_date("2026-02-30", ValueError())[0]
    'February has 28 days in 2026'
    """
    date_expected = "a real calendar date as YYYY-MM-DD"
    m = re.match(r"\s*(\d{4})-(\d{1,2})-(\d{1,2})", text)
    if m is None:  # pragma: no cover - the resolver only sends text shaped like this
        return str(error), date_expected
    year, month, day = (int(g) for g in m.groups())
    if year < dt.MINYEAR:
        return "there is no year 0", date_expected
    if not 1 <= month <= 12:
        return f"there is no month {month}; months run 1 to 12", date_expected
    days = calendar.monthrange(year, month)[1]
    if not 1 <= day <= days:
        return f"{calendar.month_name[month]} has {days} days in {year}", date_expected
    return f"the time of day is wrong: {error}", "a time of day from 00:00:00 to 23:59:59"


def _construct_timestamp(loader, node):
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except (ValueError, OverflowError) as e:
        why, expected = _why_not_a_date(node.value, e)
        raise _LoadProblem(
            node.start_mark,
            f"not a date: {_clip(node.value, 60)} ({why}); expected {expected}",
        ) from None


def _construct_mapping(loader, node, deep=False):
    seen: dict[Any, int] = {}
    for key_node in loader._explicit.get(id(node), [k for k, _ in node.value]):
        if key_node.tag == _MERGE_TAG:
            continue
        key = loader.construct_object(key_node, deep=deep)
        if not isinstance(key, Hashable):
            continue  # construct_mapping says "found unhashable key" with its line
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"duplicate key {show_value(key)} (first on line {seen[key] + 1})",
                key_node.start_mark,
            )
        seen[key] = key_node.start_mark.line
    # construct_mapping merges ``<<`` entries first, so the file's own keys win.
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_UniqueKeyLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)


def load_yaml(path: str | Path) -> Any:
    """Read a YAML file as plain data.

    Parameters
    ----------
    path : path-like
        The file.

    Returns
    -------
    Any
        What the file holds (``None`` for an empty file).

    Raises
    ------
    ParamError
        Naming the file and the line, for: a missing or non-UTF-8 file, a YAML syntax
        error, a duplicate key, an impossible date (``2026-02-30``), a number too long
        to read, a recursive alias, nesting beyond :data:`NESTING_LIMIT` levels, or
        aliases that would expand beyond :data:`ALIAS_EXPANSION_LIMIT` nodes (a
        "billion laughs" document is refused before it is built). The standard ``<<``
        merge key is supported.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ParamError([Problem(str(path), "", NO_VALUE, "file not found")]) from None
    except UnicodeDecodeError as e:
        line = e.object[: e.start].count(b"\n") + 1
        msg = f"not UTF-8 text ({e.reason} on line {line}); save the file as UTF-8"
        raise ParamError([Problem(str(path), "", NO_VALUE, msg)]) from None
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)
    except _LoadProblem as e:
        msg = f"line {e.mark.line + 1}: {e.message}"
        raise ParamError([Problem(str(path), "", NO_VALUE, msg)]) from None
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        msg = f"{e.problem or e.context}" + (f" at {where}" if where else "")
        if e.problem and e.context and e.context_mark and e.context_mark is not mark:
            # the place the parser noticed is often a line after the mistake
            msg += f" ({e.context} at line {e.context_mark.line + 1})"
        raise ParamError([Problem(str(path), "", NO_VALUE, f"invalid YAML: {msg}")]) from None
    except yaml.YAMLError as e:
        raise ParamError([Problem(str(path), "", NO_VALUE, f"invalid YAML: {e}")]) from None
    except RecursionError:
        msg = f"nested too deeply to read; {_PLAIN_FILE}"
        raise ParamError([Problem(str(path), "", NO_VALUE, msg)]) from None


# --------------------------------------------------------------------------- models


class StrictModel(BaseModel):
    """Frozen model that rejects unknown keys; the base of every parameter model."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


def _param_date(value: Any) -> Any:
    """Refuse what pydantic would quietly turn into a date: a number (read as a Unix
    time, so ``0`` would be 1970-01-01) or ``true``; explain an impossible date."""
    if isinstance(value, (bool, int, float)):
        raise ValueError("expected a date written as YYYY-MM-DD")
    if isinstance(value, str):
        m = re.fullmatch(r"\s*(\d{4})-(\d{1,2})-(\d{1,2})\s*", value)
        if m is not None:
            try:
                dt.date(*(int(g) for g in m.groups()))
            except ValueError as e:
                why, expected = _why_not_a_date(value, e)
                raise ValueError(f"not a date ({why}); expected {expected}") from None
    return value


#: A date in a parameter file: ``2026-01-01`` (numbers and impossible dates refused).
ParamDate = Annotated[dt.date, BeforeValidator(_param_date)]
Fraction01 = Annotated[float, Field(ge=0.0, le=1.0)]
PositiveMoney = Annotated[float, Field(gt=0.0, allow_inf_nan=False)]
Money = Annotated[float, Field(ge=0.0, allow_inf_nan=False)]


def default_params_dir() -> Path:
    """The ``params/`` folder of this checkout (or ``$SIMLIB_PARAMS``)."""
    import os

    env = os.environ.get("SIMLIB_PARAMS")
    if env:
        return Path(env)
    return Path(__file__).resolve().parent.parent / "params"


def _prefix(rel: str) -> str:
    stem = rel[:-5] if rel.endswith(".yaml") else rel
    return stem.replace("/", ".")


def loc_path(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _unwrap(tp):
    """The model classes an annotation can hold (through Optional, list, dict, Annotated)."""
    origin = typing.get_origin(tp)
    if origin is Annotated:
        return _unwrap(typing.get_args(tp)[0])
    if origin in (Union, types.UnionType):
        out = []
        for a in typing.get_args(tp):
            out += _unwrap(a)
        return out
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return [tp]
    return []


def _step(ann, part) -> list:
    """Annotations one level below ``ann`` at key or index ``part``."""
    origin, args = typing.get_origin(ann), typing.get_args(ann)
    if origin is Annotated:
        return _step(args[0], part)
    if origin in (Union, types.UnionType):
        return [x for a in args for x in _step(a, part)]
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        f = ann.model_fields.get(part) if isinstance(part, str) else None
        return [f.annotation] if f is not None else []
    if origin in (list, tuple) and args and isinstance(part, int):
        return [args[0]]
    if origin is dict and len(args) == 2:
        return [args[1]]
    return []


def _fields_at(model: type[BaseModel], loc: tuple, data: Any) -> list[str] | None:
    """Valid keys of the mapping at ``loc`` (for 'did you mean'); None if unknown."""
    anns: list = [model]
    node = data
    for part in loc:
        anns = [x for a in anns for x in _step(a, part)]
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            node = None
    names: list[str] = []
    for cls in (c for a in anns for c in _unwrap(a)):
        kind_field = cls.model_fields.get("kind")
        if kind_field is not None and isinstance(node, dict) and "kind" in node:
            if node["kind"] not in typing.get_args(kind_field.annotation):
                continue  # another member of a discriminated union
        names += [n for n in cls.model_fields if n not in names]
    return names or None


def _tags_at(model, loc: tuple, tag: str) -> str:
    """The allowed values of the discriminator ``tag`` for the union at ``loc``."""
    anns: list = [model]
    for part in loc:
        anns = [x for a in anns for x in _step(a, part)]
    tags = []
    for cls in (c for a in anns for c in _unwrap(a)):
        f = cls.model_fields.get(tag)
        if f is not None:
            tags += [repr(v) for v in typing.get_args(f.annotation)]
    return ", ".join(tags) or "?"


def _drop_union_tags(loc: tuple, data: Any) -> tuple:
    """Remove the tag pydantic inserts after a discriminated-union member's position.

    Only where the data at that spot really is a mapping whose ``kind`` is that tag,
    so a real field that happens to share a tag's name is kept.
    """
    out: list = []
    node = data
    for part in loc:
        if isinstance(node, dict) and node.get("kind") == part and part not in node:
            continue
        out.append(part)
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            node = None
    return tuple(out)


def _problems_from(e: ValidationError, file: str, prefix: str, model, data) -> list[Problem]:
    problems = []
    for err in e.errors(include_url=False):
        loc = tuple(err["loc"])
        # Discriminated unions add the tag name to the location; a reader wants the
        # path in the file, so drop it.
        loc = _drop_union_tags(loc, data)
        path = loc_path(loc)
        full = f"{prefix}.{path}" if path and prefix else (path or prefix)
        kind = err["type"]
        value = err.get("input", NO_VALUE)
        ctx = err.get("ctx") or {}
        if isinstance(ctx.get("error"), At):
            at = ctx["error"]
            path = loc_path(loc + at.loc)
            full = f"{prefix}.{path}" if path and prefix else (path or prefix)
            problems.append(Problem(file, full, at.value, str(at)))
            continue
        if kind in ("union_tag_invalid", "union_tag_not_found"):
            tag = ctx.get("discriminator", "'kind'").strip("'")
            full = f"{full}.{tag}"
            expected = ctx.get("expected_tags") or _tags_at(model, loc, tag)
            if kind == "union_tag_invalid":
                problems.append(Problem(file, full, ctx.get("tag"), f"expected one of {expected}"))
            else:
                problems.append(
                    Problem(
                        file,
                        full,
                        NO_VALUE,
                        f"required key is missing; expected one of {expected}",
                    )
                )
            continue
        if kind == "extra_forbidden":
            key = loc[-1]
            valid = _fields_at(model, loc[:-1], data) or []
            close = difflib.get_close_matches(str(key), valid, n=1, cutoff=0.5)
            same = SYNONYMS.get(str(key).lower().replace("-", "_"))
            if same in valid:  # another name for a key we have
                close = [same]
            hint = f"; did you mean {close[0]!r}?" if close else ""
            allowed = f" (allowed: {', '.join(valid)})" if valid else ""
            problems.append(
                Problem(file, full, NO_VALUE, f"unknown key {show_value(key)}{hint}{allowed}")
            )
        elif kind == "missing":
            problems.append(Problem(file, full, NO_VALUE, "required key is missing"))
        elif kind in _NUMBER_ERRORS and _is_percent(value):
            problems.append(Problem(file, full, value, _percent_message(value)))
        else:
            msg = err["msg"]
            if msg.startswith("Value error, "):
                msg = msg[len("Value error, ") :]
            if isinstance(value, dict):
                value = NO_VALUE  # a whole mapping: the message says what is wrong
            problems.append(Problem(file, full, value, msg[0].lower() + msg[1:]))
    return problems


#: Names people give a key, in published plans and other tools, → the key simlib uses.
SYNONYMS: dict[str, str] = {
    "minimum_commission": "floor",
    "min_commission": "floor",
    "minimum_pay": "floor",
    "minimum": "floor",
    "guarantee": "floor",
    "maximum_commission": "cap",
    "max_commission": "cap",
    "maximum_payout": "cap",
    "max_payout": "cap",
    "ceiling": "cap",
    "accelerators": "multipliers",
    "decelerators": "multipliers",
    "kickers": "multipliers",
    "brackets": "tiers",
    "bands": "tiers",
    "rate_table": "tiers",
    "hurdle": "gate",
    "threshold_gate": "gate",
    "advance": "draw",
    "spiffs": "spifs",
    "bonuses": "spifs",
    "chargeback": "clawback",
    "chargebacks": "clawback",
}

_NUMBER_ERRORS = ("float_parsing", "float_type", "int_parsing", "int_type", "decimal_parsing")


def _is_percent(value) -> bool:
    return isinstance(value, str) and value.strip().endswith("%")


def _percent_message(value: str) -> str:
    """One line for a rate written with a percent sign: say how to write it."""
    from decimal import Decimal, InvalidOperation

    try:
        share = Decimal(value.strip()[:-1].strip().replace(",", "")) / 100
        fix = f"write {value.strip()} as {format(share.normalize(), 'f')}"
    except InvalidOperation:
        fix = "write 10% as 0.1"
    return f"rates and shares are fractions here, not percentages: {fix}"


def load_model(path: str | Path, model: type[BaseModel], prefix: str | None = None):
    """Load one YAML file into ``model``; raise :class:`ParamError` naming every problem."""
    path = Path(path)
    data = load_yaml(path)
    prefix = prefix if prefix is not None else path.stem
    if data is None:
        raise ParamError(
            [
                Problem(
                    str(path),
                    prefix,
                    NO_VALUE,
                    "the file is empty; expected a mapping of keys to values",
                )
            ]
        )
    if not isinstance(data, dict):
        raise ParamError(
            [Problem(str(path), prefix, data, "the file must hold a mapping of keys to values")]
        )
    return validate_data(data, model, path, prefix)


def validate_data(data: dict, model: type[BaseModel], path: str | Path, prefix: str):
    """Validate ``data`` (read from ``path``, perhaps merged with defaults) into ``model``;
    raise :class:`ParamError` naming every problem as :func:`load_model` does."""
    try:
        return model.model_validate(data)
    except ValidationError as e:
        raise ParamError(_problems_from(e, str(path), prefix, model, data)) from None


def load_file(
    name: str | Path,
    model: type[BaseModel],
    params_dir: str | Path | None = None,
    prefix: str | None = None,
):
    """Load ``name`` (a path, or a name relative to ``params_dir``) into ``model``.

    The dotted path in messages starts with ``prefix``, by default the file's place
    under ``params/`` (``plans.tiered_cn.tiers[2].rate``).
    """
    params_dir = Path(params_dir) if params_dir is not None else default_params_dir()
    path = Path(name)
    if not path.is_absolute() and not path.exists():
        path = params_dir / path
    return load_model(path, model, prefix if prefix is not None else param_prefix(path, params_dir))


def param_prefix(path: Path, params_dir: Path) -> str:
    """``plans.tiered_cn`` for ``params/plans/tiered_cn.yaml`` (the stem outside params/)."""
    try:
        rel = path.resolve().relative_to(Path(params_dir).resolve()).as_posix()
    except ValueError:
        rel = path.name
    stem = rel[:-5] if rel.endswith(".yaml") else rel
    return stem.replace("/", ".")


def hint(name, options) -> str:
    """``"; did you mean 'x'?"`` for the closest of ``options``, or ``""``."""
    close = difflib.get_close_matches(str(name), [str(o) for o in options], n=1)
    return f"; did you mean {close[0]!r}?" if close else ""
