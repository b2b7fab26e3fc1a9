"""Report templates and their parameters.

A template is a notebook in ``notebooks/reports/`` with exactly one cell tagged
``parameters``. That cell declares each parameter on one line, typed and commented::

    rep_id: str = "S003"          # whose review
    n_trials: int = 10000         # Monte Carlo trials
    demo_seed: int | None = None  # demo company seed (None: the shipped demo company)

:func:`template_info` reads those lines (with :mod:`ast`, never by executing them);
:func:`check_parameters` rejects unknown names and values of the wrong type *before*
a kernel starts, and :func:`parse_cli_value` turns command-line text into the
declared type.
"""

from __future__ import annotations

import ast
import difflib
import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simlib.i18n import LANGS

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES_DIR = ROOT / "notebooks" / "reports"


class ReportError(ValueError):
    """A report cannot be rendered as asked (unknown template, bad parameter, ...)."""


@dataclass(frozen=True)
class Parameter:
    name: str
    types: tuple[str, ...]  # of "str", "int", "float", "bool", "None", "list", "dict"
    default: Any
    comment: str

    @property
    def type_text(self) -> str:
        return " | ".join(self.types)

    def check(self, value: Any, where: str) -> Any:
        """``value`` if it fits the declared type (an int is a float), else ReportError."""
        kinds = {"None": type(None), "str": str, "bool": bool, "list": (list, tuple), "dict": dict}
        for t in self.types:
            if t == "int" and isinstance(value, int) and not isinstance(value, bool):
                return value
            if t == "float" and isinstance(value, (int, float)) and not isinstance(value, bool):
                return float(value)
            if t in kinds and isinstance(value, kinds[t]):
                if self.name == "lang" and value not in LANGS:
                    break
                return list(value) if t == "list" else value
        expected = (
            f"one of {', '.join(map(repr, LANGS))}" if self.name == "lang" else self.type_text
        )
        raise ReportError(
            f"{where}: parameter {self.name} = {value!r}: expected {expected}"
            + (f" ({self.comment})" if self.comment else "")
        )


@dataclass(frozen=True)
class Template:
    name: str
    path: Path
    parameters: dict[str, Parameter]

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()

    @property
    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.parameters.values()}


def available() -> list[str]:
    """The names of the shipped templates."""
    return sorted(p.stem for p in TEMPLATES_DIR.glob("*.ipynb"))


def resolve(template: str | Path) -> Path:
    """A template name (``rep_review_pack``) or a path to a notebook."""
    text = str(template)
    p = Path(text)
    if p.suffix == ".ipynb" or "/" in text:
        if not p.is_file():
            raise ReportError(f"template {text}: no such notebook")
        return p.resolve()
    path = TEMPLATES_DIR / f"{text}.ipynb"
    if not path.is_file():
        names = available()
        close = difflib.get_close_matches(text, names, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise ReportError(f"unknown template {text!r}{hint}; templates: {', '.join(names)}")
    return path


_ANNOTATION_NAMES = {"str", "int", "float", "bool", "None", "list", "dict"}


def _types(node: ast.expr | None, default: Any, where: str) -> tuple[str, ...]:
    if node is None:  # untyped: the default's type
        return (type(default).__name__ if default is not None else "None",)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _types(node.left, default, where) + _types(node.right, default, where)
    if isinstance(node, ast.Constant) and node.value is None:
        return ("None",)
    if isinstance(node, ast.Subscript):  # list[str], dict[str, int]
        node = node.value
    if isinstance(node, ast.Name) and node.id in _ANNOTATION_NAMES:
        return (node.id,)
    raise ReportError(
        f"{where}: unsupported parameter type {ast.unparse(node)!r} "
        f"(use str, int, float, bool, list, dict or None)"
    )


def template_info(template: str | Path) -> Template:
    """The template's parameters, read from its one ``parameters`` cell."""
    path = resolve(template)
    nb = json.loads(path.read_text(encoding="utf-8"))
    cells = [c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    where = path.name
    if len(cells) != 1:
        raise ReportError(
            f"{where}: expected exactly one cell tagged 'parameters', found {len(cells)}"
        )
    source = "".join(cells[0]["source"])
    lines = source.splitlines()
    params: dict[str, Parameter] = {}
    for stmt in ast.parse(source).body:
        if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
            name, annotation, value = stmt.target.id, stmt.annotation, stmt.value
        elif (
            isinstance(stmt, ast.Assign)
            and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], ast.Name)
        ):
            name, annotation, value = stmt.targets[0].id, None, stmt.value
        else:
            raise ReportError(
                f"{where}: line {stmt.lineno} of the parameters cell is not "
                "'name: type = value  # comment'"
            )
        try:
            default = ast.literal_eval(value) if value is not None else None
        except ValueError:
            raise ReportError(f"{where}: parameter {name}: the default must be a literal") from None
        rest = lines[stmt.end_lineno - 1][stmt.end_col_offset :]
        comment = rest.split("#", 1)[1].strip() if "#" in rest else ""
        params[name] = Parameter(
            name, _types(annotation, default, f"{where}: {name}"), default, comment
        )
    return Template(path.stem, path, params)


def check_parameters(template: Template, values: dict[str, Any]) -> dict[str, Any]:
    """``values`` checked against the template: names known, types as declared."""
    where = f"template {template.name}"
    out = {}
    for name, value in values.items():
        if name not in template.parameters:
            close = difflib.get_close_matches(name, list(template.parameters), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise ReportError(
                f"{where}: unknown parameter {name!r}{hint}; it takes "
                + ", ".join(f"{p.name}: {p.type_text}" for p in template.parameters.values())
            )
        out[name] = template.parameters[name].check(value, where)
    return out


def parse_cli_value(template: Template, name: str, text: str) -> Any:
    """Command-line text (``-p n_trials=500``) as the parameter's declared type."""
    if name not in template.parameters:
        check_parameters(template, {name: text})  # raises with the did-you-mean
    p = template.parameters[name]
    for t in p.types:
        if t == "None" and text.strip().lower() in ("none", "null"):
            return None
        if t == "int":
            try:
                return int(text)
            except ValueError:
                pass
        if t == "float":
            try:
                return float(text)
            except ValueError:
                pass
        if t == "bool" and text.strip().lower() in ("true", "false", "yes", "no", "1", "0"):
            return text.strip().lower() in ("true", "yes", "1")
        if t in ("list", "dict"):
            try:
                v = json.loads(text)
            except json.JSONDecodeError:
                continue
            return v
    if "str" in p.types:
        return p.check(text, f"template {template.name}")
    raise ReportError(
        f"template {template.name}: parameter {name} = {text!r}: expected {p.type_text}"
        + (f" ({p.comment})" if p.comment else "")
    )


_SQLITE_RELATIVE = re.compile(r"^(sqlite(?:\+\w+)?:///)(?!/)([^?]+)(\?.*)?$")


def absolute_paths(params: dict[str, Any], base: str | Path | None = None) -> dict[str, Any]:
    """``params`` with a relative ``source`` (and ``mapping`` path) made absolute.

    Report kernels run in the checkout, not where the caller is: ``-p source=crm/``
    means the caller's ``crm/``. Other SQLAlchemy URLs are left alone; a relative
    SQLite file (``sqlite:///crm.db``) is made absolute; a mapping given by name
    (``salesforce``) stays a name.
    """
    base = Path(base) if base is not None else Path.cwd()
    out = dict(params)
    source = out.get("source")
    if isinstance(source, str) and source:
        m = _SQLITE_RELATIVE.match(source)
        if m and m[2] != ":memory:":
            out["source"] = m[1] + os.path.abspath(base / m[2]) + (m[3] or "")
        elif "://" not in source and not Path(source).expanduser().is_absolute():
            out["source"] = os.path.abspath(base / source)
        elif "://" not in source:
            out["source"] = str(Path(source).expanduser())
    mapping = out.get("mapping")
    if isinstance(mapping, str) and mapping:
        p = Path(mapping).expanduser()
        looks_like_path = any(sep in mapping for sep in ("/", "\\")) or p.suffix.lower() in (
            ".yaml",
            ".yml",
        )
        if looks_like_path and not p.is_absolute() and (base / p).is_file():
            out["mapping"] = os.path.abspath(base / p)
    return out
