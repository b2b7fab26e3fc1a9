"""The rendered documents of an output folder, and who gets which.

Read from the run records (``manifests/<run id>.json``: each item's template, parameters
and outcome; a report pack's record also says each document's ``audience``), with the
pack's ``index.json`` as a second source of audiences. File names are never parsed: a
document's audience comes from the record or, failing that, from its template and
parameters.

Who gets what (SPEC R20/R25): a rep their own documents (review pack, statement); a
manager their team's (weekly and monthly reviews, the team's forecast); the director the
company's (director pack). A team without a manager: its documents go to the director,
and the plan says so.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

from simlib.delivery.directory import Directory, Person
from simlib.reports.pack import TITLES, period_text
from simlib.reports.templates import ReportError

__all__ = ["Document", "Route", "audience_of", "read_documents", "route"]

#: Templates whose documents are about one rep (parameter ``rep_id``).
_REP_TEMPLATES = {"rep_review_pack", "commission_statement"}
#: Templates about a team (parameter ``team``).
_TEAM_TEMPLATES = {"weekly_team_review", "monthly_team_review"}
#: Templates about an org node (parameter), for its manager or, above teams, the director.
_NODE_TEMPLATES = {"attainment_forecast": "node", "commission_summary": "scope"}


@dataclass(frozen=True)
class Document:
    name: str  # its place in the folder, without extension
    template: str
    parameters: dict
    audience: str | None  # director | manager:<team> | rep:<rep id> | None (unknown)
    html: Path
    pdf: Path | None
    sha256: str  # of the HTML as it is on disk: the document's identity in the log
    run_id: str = ""
    changed: bool = False  # the file differs from what its run recorded

    def title(self, lang: str) -> str:
        en, zh = TITLES.get(self.template, (self.template.replace("_", " "), ""))
        return zh if lang == "zh-CN" and zh else en

    def period(self, lang: str) -> str:
        return period_text(self.parameters, lang)

    @property
    def subject(self) -> str:
        """Who the document is about: a rep or team id, or '' for the company."""
        return self.audience.partition(":")[2] if self.audience else ""


def audience_of(template: str, params: dict, levels: dict[str, str] | None = None) -> str | None:
    """The audience of a document from its template and parameters (None: unknown)."""
    if template in _REP_TEMPLATES and params.get("rep_id"):
        return f"rep:{params['rep_id']}"
    if template in _TEAM_TEMPLATES and params.get("team"):
        return f"manager:{params['team']}"
    if template in _NODE_TEMPLATES:
        node = str(params.get(_NODE_TEMPLATES[template]) or "")
        if levels and levels.get(node) == "team":
            return f"manager:{node}"
        return "director"
    if template in ("target_workshop_summary", "forecast_backtest"):
        return "director"
    return None


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_documents(
    folder: str | Path,
    *,
    run: str | None = None,
    levels: dict[str, str] | None = None,
    names: Collection[str] | None = None,
) -> tuple[list[Document], list[str]]:
    """(documents, warnings) of ``folder``: the newest successful render of each document
    its run records name (only run ``run`` when given: a run id or a manifest path; only
    the documents ``names`` when given)."""
    folder = Path(folder)
    mdir = folder / "manifests"
    if not folder.is_dir():
        raise ReportError(f"deliver: {folder} is not a folder of rendered reports")
    paths = sorted(mdir.glob("*.json")) if mdir.is_dir() else []
    if run:
        want = Path(run).stem
        paths = [p for p in paths if p.stem == want]
        if not paths:
            raise ReportError(f"deliver: no run {want} in {mdir}")
    if not paths:
        raise ReportError(
            f"deliver: {folder} has no run records (manifests/*.json); render the reports "
            "into it first (simlib demo, simlib render, simlib schedule run-due)"
        )
    index: dict[str, str] = {}
    ipath = folder / "index.json"
    if ipath.exists():
        try:
            for e in json.loads(ipath.read_text(encoding="utf-8")):
                if isinstance(e, dict) and e.get("name") and e.get("audience"):
                    index[str(e["name"])] = str(e["audience"])
        except (OSError, ValueError, TypeError):
            pass  # the run records suffice
    warnings: list[str] = []
    latest: dict[str, tuple[dict, dict]] = {}
    for p in paths:
        try:
            doc = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            warnings.append(f"run record {p.name} unreadable ({e}); skipped")
            continue
        if not isinstance(doc, dict):
            continue
        for item in doc.get("items", []):
            if not isinstance(item, dict) or item.get("status") != "ok":
                continue
            if names is not None and item.get("name") not in names:
                continue
            latest[str(item["name"])] = (doc, item)
    out: list[Document] = []
    for name, (doc, item) in latest.items():
        html = folder / f"{name}.html"
        if not html.exists():
            warnings.append(f"{name}: recorded as rendered but its HTML is gone; not delivered")
            continue
        pdf = folder / f"{name}.pdf" if item.get("pdf") else None
        if pdf is not None and not pdf.exists():
            pdf = None
        params = item.get("parameters") or {}
        template = str(item.get("template") or "")
        audience = (
            (doc.get("audience") or {}).get(name)
            or index.get(name)
            or audience_of(template, params, levels)
        )
        sha = _sha256(html)
        changed = bool(item.get("checksum")) and item["checksum"] != sha
        if changed:
            warnings.append(f"{name}: the file changed after it was rendered; delivered as it is")
        out.append(
            Document(
                name,
                template,
                params,
                audience,
                html,
                pdf,
                sha,
                str(doc.get("run_id", "")),
                changed,
            )
        )
    out.sort(key=lambda d: d.name)
    return out, warnings


@dataclass
class Route:
    """Who gets what: documents per person; what reaches nobody, with why."""

    documents: dict[str, list[Document]] = field(default_factory=dict)  # by person id
    notes: dict[str, list[str]] = field(default_factory=dict)  # by person id: (en) remarks
    nobody: list[tuple[Document, str]] = field(default_factory=list)  # (document, why)


def route(documents: list[Document], directory: Directory) -> Route:
    """Each document to the people of its audience (see the module's docstring)."""
    r = Route()

    def give(p: Person, d: Document) -> None:
        r.documents.setdefault(p.id, []).append(d)

    for d in documents:
        role, _, target = (d.audience or "").partition(":")
        if role == "director":
            people = directory.directors()
            if not people:
                r.nobody.append((d, "no director in the org data"))
            for p in people:
                give(p, d)
        elif role == "manager":
            people = directory.managers_of(target)
            if not people:
                people = directory.directors()
                for p in people:
                    r.notes.setdefault(p.id, []).append(f"no-manager:{target}")
            if not people:
                r.nobody.append((d, "no manager of this team and no director in the org data"))
            for p in people:
                give(p, d)
        elif role == "rep":
            p = directory.people.get(target)
            if p is None:
                r.nobody.append((d, "this rep is not in the org data"))
            else:
                give(p, d)
        else:
            r.nobody.append((d, "its run record says nobody it is for"))
    return r
