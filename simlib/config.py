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

import datetime as dt
import difflib
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

__all__ = [
    "NO_VALUE",
    "At",
    "ParamError",
    "Problem",
    "StrictModel",
    "default_params_dir",
    "hint",
    "load_file",
    "load_model",
    "load_yaml",
    "loc_path",
]


# --------------------------------------------------------------------------- errors


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a parameter file."""

    file: str
    path: str
    value: Any
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.path}" if self.path else self.file
        if self.value is NO_VALUE:
            return f"{where}: {self.message}"
        shown = self.value.isoformat() if isinstance(self.value, dt.date) else repr(self.value)
        return f"{where}: got {shown}; {self.message}"


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
        lines = [str(p) for p in self.problems]
        head = "invalid parameters" if len(lines) > 1 else "invalid parameter"
        super().__init__(f"{head}:\n  " + "\n  ".join(lines) if len(lines) > 1 else lines[0])


# --------------------------------------------------------------------------- YAML


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys (PyYAML silently keeps the last)."""


def _construct_mapping(loader, node, deep=False):
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"duplicate key {key!r} (first on line {seen[key] + 1})",
                key_node.start_mark,
            )
        seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_yaml(path: str | Path) -> Any:
    """Read a YAML file; syntax errors and duplicate keys become a :class:`ParamError`."""
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


# --------------------------------------------------------------------------- models


class StrictModel(BaseModel):
    """Frozen model that rejects unknown keys; the base of every parameter model."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


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
        full = f"{prefix}.{path}" if path else prefix
        kind = err["type"]
        value = err.get("input", NO_VALUE)
        ctx = err.get("ctx") or {}
        if isinstance(ctx.get("error"), At):
            at = ctx["error"]
            path = loc_path(loc + at.loc)
            full = f"{prefix}.{path}" if path else prefix
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
            hint = f"; did you mean {close[0]!r}?" if close else ""
            allowed = f" (allowed: {', '.join(valid)})" if valid else ""
            problems.append(Problem(file, full, NO_VALUE, f"unknown key {key!r}{hint}{allowed}"))
        elif kind == "missing":
            problems.append(Problem(file, full, NO_VALUE, "required key is missing"))
        else:
            msg = err["msg"]
            if msg.startswith("Value error, "):
                msg = msg[len("Value error, ") :]
            if isinstance(value, dict):
                value = NO_VALUE  # a whole mapping: the message says what is wrong
            problems.append(Problem(file, full, value, msg[0].lower() + msg[1:]))
    return problems


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
