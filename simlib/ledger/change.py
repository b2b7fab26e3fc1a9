"""Plans and scenarios (targets) under change control (issue 15).

A plan or scenario file is recorded as an immutable *version* (author, time, the text,
its sha256, a unified diff against the previous version, a reason). Versions move
draft → submitted → approved or rejected; every step is an event on the ledger's
hash chain, and the state of a version is read by folding those events — nothing is
updated. The approved version of a name is the locked one: :meth:`approved` returns it,
a new version is only ever a draft until it is approved in turn, and :meth:`check_file`
says whether a file on disk still has the approved content (a hand edit after approval
is detected by hash). Reps acknowledge their approved plan document (签字确认).

=================  =============================================================
action             who
=================  =============================================================
record a version   a manager, director or admin; a manager only for their own team:
                   a scenario version may change, against the one it follows, only
                   the locked targets of nodes under the manager and the mix of
                   their reps (the first version of a scenario is a director's)
submit             a manager, director or admin (a manager: the same team rule,
                   against the approved version)
approve            a director or admin — not the person who submitted or wrote it
reject             a director or admin, with a reason
acknowledge        anyone, for themselves, on the approved version of a plan
=================  =============================================================
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import and_, select

from simlib.ledger import schema as S
from simlib.ledger.errors import Forbidden, InvalidRequest, NotFound
from simlib.ledger.roles import Person

__all__ = [
    "DOC_KINDS",
    "Acknowledgement",
    "ChangeControl",
    "DocVersion",
    "FileCheck",
    "state_label",
]

#: What can be put under change control.
DOC_KINDS = ("plan", "scenario")

_KIND_ZH = {"plan": "方案", "scenario": "情景"}
_STATE_ZH = {"draft": "草稿", "submitted": "已提交", "approved": "已批准", "rejected": "已驳回"}
_ROLE_ZH = {"rep": "销售", "manager": "经理", "director": "总监", "admin": "管理员"}
_SUBMITTERS = ("manager", "director", "admin")
_APPROVERS = ("director", "admin")


def state_label(state: str, lang: str = "en") -> str:
    """A version's state as people read it: ``draft`` or ``草稿``."""
    return _STATE_ZH.get(state, state) if lang == "zh-CN" else state


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class DocVersion:
    """One recorded version of a plan or scenario and where it stands."""

    kind: str
    name: str
    version: int
    author: str
    at: dt.datetime
    content_hash: str
    text: str
    diff: str
    reason: str
    state: str = "draft"
    submitted_by: str | None = None
    decided_by: str | None = None
    decided_at: dt.datetime | None = None
    decision_reason: str = ""
    seq: int = 0

    def __repr__(self) -> str:
        return f"DocVersion({self.kind} {self.name} v{self.version}, {self.state})"


@dataclass(frozen=True)
class Acknowledgement:
    """A person's signature (签字确认) on an approved plan version."""

    rep_id: str
    name: str
    version: int
    content_hash: str
    at: dt.datetime

    def __repr__(self) -> str:
        return f"Acknowledgement({self.rep_id} on {self.name} v{self.version})"


@dataclass(frozen=True)
class FileCheck:
    """Whether a file on disk has the approved content of its name."""

    path: str
    file_hash: str
    approved: DocVersion | None
    #: The recorded version with the file's content, if any (e.g. a newer draft).
    recorded_as: int | None

    @property
    def matches(self) -> bool:
        return self.approved is not None and self.approved.content_hash == self.file_hash

    def message(self, lang: str = "en") -> str:
        zh = lang == "zh-CN"
        if self.approved is None:
            return "尚无批准版本" if zh else "no approved version yet"
        v = self.approved.version
        if self.matches:
            return f"与批准的第 {v} 版一致" if zh else f"matches the approved version {v}"
        if self.recorded_as is not None:
            return (
                f"与批准的第 {v} 版不同（是已登记的第 {self.recorded_as} 版，尚未批准）"
                if zh
                else f"differs from the approved version {v} (it is the recorded, not yet "
                f"approved version {self.recorded_as})"
            )
        return (
            f"与批准的第 {v} 版不同：批准后被改动，且未登记为新版本"
            if zh
            else f"differs from the approved version {v}: edited after approval and not "
            "recorded as a new version"
        )

    def __repr__(self) -> str:
        return f"FileCheck({self.path}: {self.message()})"


def _check_kind(kind: str) -> str:
    if kind not in DOC_KINDS:
        raise InvalidRequest(
            f"kind must be plan or scenario; got {kind!r}",
            f"类型只能是 plan（方案）或 scenario（情景），而不是“{kind}”",
        )
    return kind


def _check_name(name: str) -> str:
    name = str(name or "").strip()
    if not name or len(name) > 64:
        raise InvalidRequest(
            "a plan or scenario needs a name of 1 to 64 characters",
            "方案或情景的名称须为 1 至 64 个字符",
        )
    return name


def _as_bytes(content: bytes | str) -> tuple[bytes, str]:
    if isinstance(content, str):
        return content.encode("utf-8"), content
    try:
        return bytes(content), bytes(content).decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidRequest(
            "the content is not UTF-8 text; plans and scenarios are text files",
            "内容不是 UTF-8 文本；方案和情景须为文本文件",
        ) from None


def _what(kind: str, name: str, version: int | None = None) -> tuple[str, str]:
    if version is None:
        return f"{kind} {name}", f"{_KIND_ZH[kind]} {name}"
    return f"{kind} {name} version {version}", f"{_KIND_ZH[kind]} {name} 第 {version} 版"


#: Scenario keys whose entries belong to one org node or one rep: who may change each entry.
_TEAM_KEYS = {"locked": "node", "mix": "rep"}
#: Scenario keys anyone who may record a version may change.
_FREE_KEYS = ("description",)


def _yaml_mapping(text: str) -> dict | None:
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    return data if isinstance(data, dict) else None


def _changed_entries(old: dict, new: dict) -> list[tuple[str, str | None]]:
    """``(key, entry)`` for every top-level key that differs; for the team keys, one per
    entry that differs (``entry`` is its node or rep id)."""
    out: list[tuple[str, str | None]] = []
    for key in sorted(set(old) | set(new), key=str):
        a, b = old.get(key), new.get(key)
        if a == b:
            continue
        if key in _TEAM_KEYS and isinstance(a or {}, dict) and isinstance(b or {}, dict):
            a, b = a or {}, b or {}
            out += [(key, str(k)) for k in sorted(set(a) | set(b), key=str) if a.get(k) != b.get(k)]
        else:
            out.append((str(key), None))
    return out


class ChangeControl:
    """The change-control half of :class:`simlib.ledger.Ledger` (a mixin: it uses the
    ledger's ``_write``, ``_read``, ``_person``, ``_check_sees`` and ``roster``)."""

    # ------------------------------------------------------------------ reading

    def _doc_versions(self, conn, kind: str, name: str) -> dict[int, DocVersion]:
        e = S.events
        rows = conn.execute(
            select(e).where(and_(e.c.object_type == kind, e.c.object_id == name)).order_by(e.c.seq)
        ).all()
        out: dict[int, dict] = {}
        for r in rows:
            after = json.loads(r.after)
            if r.kind == f"{kind}.version_recorded":
                v = after["version"]
                out[v["version"]] = dict(
                    kind=kind,
                    name=name,
                    version=v["version"],
                    author=r.actor,
                    at=r.at,
                    content_hash=v["content_hash"],
                    text=v["text"],
                    diff=v["diff"],
                    reason=r.reason,
                    seq=int(r.seq),
                )
            elif r.kind in (f"{kind}.submitted", f"{kind}.approved", f"{kind}.rejected"):
                d = out[after["version"]]
                d["state"] = after["state"]
                if after["state"] == "submitted":
                    d["submitted_by"] = r.actor
                else:
                    d |= {"decided_by": r.actor, "decided_at": r.at, "decision_reason": r.reason}
                d["seq"] = int(r.seq)
        return {n: DocVersion(**d) for n, d in out.items()}

    def versions(self, kind: str, name: str) -> list[DocVersion]:
        """Every recorded version of a plan or scenario, oldest first."""
        kind, name = _check_kind(kind), _check_name(name)
        with self._read() as conn:
            return sorted(self._doc_versions(conn, kind, name).values(), key=lambda v: v.version)

    def version(self, kind: str, name: str, version: int) -> DocVersion:
        kind, name = _check_kind(kind), _check_name(name)
        with self._read() as conn:
            return self._get_version(self._doc_versions(conn, kind, name), kind, name, version)

    @staticmethod
    def _get_version(vs: dict, kind: str, name: str, version: int) -> DocVersion:
        if int(version) not in vs:
            en, zh = _what(kind, name)
            have = f"1 to {len(vs)}" if vs else "none"
            have_zh = f"第 1 至 {len(vs)} 版" if vs else "没有任何版本"
            raise NotFound(
                f"{en} has no version {version} (recorded: {have})",
                f"{zh}没有第 {version} 版（已登记：{have_zh}）",
            )
        return vs[int(version)]

    @staticmethod
    def _approved_of(vs: dict) -> DocVersion | None:
        done = [v for v in vs.values() if v.state == "approved"]
        return max(done, key=lambda v: v.seq) if done else None

    def approved(self, kind: str, name: str) -> DocVersion | None:
        """The locked version: the one approved last (None when none is approved)."""
        kind, name = _check_kind(kind), _check_name(name)
        with self._read() as conn:
            return self._approved_of(self._doc_versions(conn, kind, name))

    def check_file(self, kind: str, name: str, path: str | Path) -> FileCheck:
        """Whether the file at ``path`` still has the approved content of ``name``."""
        kind, name = _check_kind(kind), _check_name(name)
        p = Path(path)
        if not p.is_file():
            raise NotFound(f"no file {p}", f"找不到文件 {p}")
        h = sha256(p.read_bytes())
        with self._read() as conn:
            vs = self._doc_versions(conn, kind, name)
        same = [v.version for v in vs.values() if v.content_hash == h]
        return FileCheck(str(p), h, self._approved_of(vs), max(same) if same else None)

    # ------------------------------------------------------------------ writing

    def _may(self, person: Person, roles: tuple[str, ...], what_en: str, what_zh: str) -> None:
        if person.role not in roles:
            who = " or ".join(roles)
            who_zh = "或".join(_ROLE_ZH[r] for r in roles)
            raise Forbidden(
                f"{person.name} is a {person.role}; only a {who} may {what_en}",
                f"{person.display('zh-CN')}的角色是{_ROLE_ZH.get(person.role, person.role)}；"
                f"只有{who_zh}可以{what_zh}",
            )

    def _check_team_scope(
        self, person: Person, kind: str, name: str, base: DocVersion | None, text: str
    ) -> None:
        """A manager changes only their own team's targets (see the module's table)."""
        if person.role != "manager" or kind != "scenario":
            return
        roster = self.roster
        team_en = roster.team_name(person.team_id, "en")
        team_zh = roster.team_name(person.team_id, "zh-CN")
        who_en = f"{person.name} manages {team_en}"
        who_zh = f"{person.display('zh-CN')}是{team_zh}的经理"
        if base is None:
            raise Forbidden(
                f"{who_en}; the first version of scenario {name} is recorded by a director or "
                "an admin, and a manager then changes their own team's targets in it",
                f"{who_zh}；情景 {name} 的第一版须由总监或管理员登记，经理再在其中修改本团队的目标",
            )
        old, new = _yaml_mapping(base.text), _yaml_mapping(text)
        if old is None or new is None:
            raise Forbidden(
                f"{who_en}; scenario {name} is not a YAML mapping, so the changes cannot be "
                "checked against the team: a director or an admin must record it",
                f"{who_zh}；情景 {name} 不是 YAML 映射，无法核对修改是否只涉及本团队：须由总监或"
                "管理员登记",
            )
        mine = set(roster.nodes_below(person.team_id)) if person.team_id else set()
        outside: list[tuple[str, str]] = []
        for key, entry in _changed_entries(old, new):
            if key in _FREE_KEYS:
                continue
            if entry is not None and _TEAM_KEYS[key] == "node":
                if entry in mine:
                    continue
                outside.append(
                    (
                        f"the locked target of {roster.team_name(entry, 'en')}",
                        f"{roster.team_name(entry, 'zh-CN')}的锁定目标",
                    )
                )
            elif entry is not None:
                if roster.manages(person, entry):
                    continue
                outside.append(
                    (
                        f"the mix of {roster.name_of(entry, 'en')}",
                        f"{roster.name_of(entry, 'zh-CN')}的业务结构",
                    )
                )
            else:
                outside.append((key, key))
        if outside:
            raise Forbidden(
                f"{who_en} and may change only that team's targets (locked targets of its "
                f"nodes, the mix of its reps); this version of scenario {name} also changes "
                f"{', '.join(en for en, _ in outside)} against version {base.version}: a "
                "director or an admin must record and submit that",
                f"{who_zh}，只能修改本团队的目标（本团队节点的锁定目标、本团队销售的业务结构）；"
                f"情景 {name} 的这一版相对第 {base.version} 版还修改了"
                f"{'、'.join(zh for _, zh in outside)}：须由总监或管理员登记和提交",
            )

    def record_version(
        self,
        actor: str | Person,
        kind: str,
        name: str,
        content: bytes | str,
        reason: str = "",
    ) -> DocVersion:
        """Store ``content`` as the next draft version of ``name`` (with its diff).

        Content equal to the latest version records nothing and returns that version.
        """
        person = self._person(actor)
        kind, name = _check_kind(kind), _check_name(name)
        self._may(person, _SUBMITTERS, f"record a {kind} version", f"登记{_KIND_ZH[kind]}版本")
        data, text = _as_bytes(content)
        h = sha256(data)
        with self._write() as tx:
            vs = self._doc_versions(tx.conn, kind, name)
            last = vs[max(vs)] if vs else None
            if last is not None and last.content_hash == h:
                return last
            self._check_team_scope(person, kind, name, last, text)
            n = len(vs) + 1
            diff = "".join(
                difflib.unified_diff(
                    (last.text if last else "").splitlines(keepends=True),
                    text.splitlines(keepends=True),
                    fromfile=f"{name} v{n - 1}" if last else "/dev/null",
                    tofile=f"{name} v{n}",
                )
            )
            tx.append(
                actor=person,
                kind=f"{kind}.version_recorded",
                object_type=kind,
                object_id=name,
                reason=(reason or "").strip(),
                before={"version": last.version, "content_hash": last.content_hash} if last else {},
                after={
                    "version": {"version": n, "content_hash": h, "text": text, "diff": diff},
                },
            )
        return self.version(kind, name, n)

    def _step(
        self, person: Person, kind: str, name: str, version: int, frm: str, to: str, reason: str
    ) -> DocVersion:
        with self._write() as tx:
            vs = self._doc_versions(tx.conn, kind, name)
            v = self._get_version(vs, kind, name, version)
            if v.state != frm:
                en, zh = _what(kind, name, v.version)
                need = {"draft": "a draft", "submitted": "submitted"}[frm]
                need_zh = _STATE_ZH[frm]
                raise InvalidRequest(
                    f"{en} is {v.state}; only {need} can be {to}",
                    f"{zh}的状态是“{_STATE_ZH[v.state]}”；只有“{need_zh}”的版本才能{_STATE_ZH[to]}",
                )
            if to == "submitted":
                base = self._approved_of(vs) or vs.get(v.version - 1)
                self._check_team_scope(person, kind, name, base, v.text)
            if to in ("approved", "rejected") and person.id in (v.submitted_by, v.author):
                if to == "approved":
                    en, zh = _what(kind, name, v.version)
                    raise Forbidden(
                        f"{person.name} wrote or submitted {en} and may not approve it; "
                        "another director or admin must",
                        f"{person.display('zh-CN')}编写或提交了{zh}，不能自己批准；须由另一位"
                        "总监或管理员批准",
                    )
            current = self._approved_of(vs)
            if to == "approved" and current is not None and current.version > v.version:
                en, zh = _what(kind, name, v.version)
                raise InvalidRequest(
                    f"{en} is older than the approved version {current.version}; submit a new "
                    "version instead",
                    f"{zh}早于已批准的第 {current.version} 版；请提交新版本",
                )
            after = {"version": v.version, "state": to, "content_hash": v.content_hash}
            if to == "approved" and current is not None:
                after["supersedes"] = current.version
            tx.append(
                actor=person,
                kind=f"{kind}.{to}",
                object_type=kind,
                object_id=name,
                reason=reason,
                before={"version": v.version, "state": v.state},
                after=after,
            )
        return self.version(kind, name, v.version)

    def submit(
        self, actor: str | Person, kind: str, name: str, version: int, reason: str = ""
    ) -> DocVersion:
        """Submit a draft for approval (a manager, director or admin)."""
        person = self._person(actor)
        kind, name = _check_kind(kind), _check_name(name)
        self._may(person, _SUBMITTERS, f"submit a {kind}", f"提交{_KIND_ZH[kind]}")
        return self._step(person, kind, name, version, "draft", "submitted", (reason or "").strip())

    def approve(
        self, actor: str | Person, kind: str, name: str, version: int, reason: str = ""
    ) -> DocVersion:
        """Approve a submitted version (a director or admin, not its author or submitter);
        it becomes the locked version of ``name``."""
        person = self._person(actor)
        kind, name = _check_kind(kind), _check_name(name)
        self._may(person, _APPROVERS, f"approve a {kind}", f"批准{_KIND_ZH[kind]}")
        return self._step(person, kind, name, version, "submitted", "approved", reason)

    def reject(
        self, actor: str | Person, kind: str, name: str, version: int, reason: str
    ) -> DocVersion:
        """Reject a submitted version, with a reason (a director or admin)."""
        person = self._person(actor)
        kind, name = _check_kind(kind), _check_name(name)
        self._may(person, _APPROVERS, f"reject a {kind}", f"驳回{_KIND_ZH[kind]}")
        reason = (reason or "").strip()
        if not reason:
            raise InvalidRequest(
                "a rejection needs a reason: say what must change",
                "驳回需要理由：请说明需要修改什么",
            )
        return self._step(person, kind, name, version, "submitted", "rejected", reason)

    # ------------------------------------------------------------------ acknowledgements

    def acknowledge(self, actor: str | Person, name: str, version: int) -> Acknowledgement:
        """``actor`` signs (签字确认) the approved version of plan ``name``."""
        person = self._person(actor)
        name = _check_name(name)
        with self._write() as tx:
            vs = self._doc_versions(tx.conn, "plan", name)
            v = self._get_version(vs, "plan", name, version)
            current = self._approved_of(vs)
            if current is None or current.version != v.version:
                en, zh = _what("plan", name, v.version)
                now_en = f"; the approved one is version {current.version}" if current else ""
                now_zh = f"；当前批准的是第 {current.version} 版" if current else ""
                raise InvalidRequest(
                    f"{en} is not the approved plan{now_en}: only the approved plan can be "
                    "acknowledged",
                    f"{zh}不是已批准的方案{now_zh}：只能确认已批准的方案",
                )
            e = S.events
            done = tx.conn.execute(
                select(e.c.seq, e.c.after).where(
                    and_(
                        e.c.kind == "plan.acknowledged",
                        e.c.object_id == name,
                        e.c.rep_id == person.id,
                    )
                )
            ).all()
            if any(json.loads(r.after)["version"] == v.version for r in done):
                raise InvalidRequest(
                    f"{person.name} already acknowledged plan {name} version {v.version}",
                    f"{person.display('zh-CN')}已确认过方案 {name} 第 {v.version} 版",
                )
            tx.append(
                actor=person,
                kind="plan.acknowledged",
                object_type="plan",
                object_id=name,
                rep_id=person.id,
                after={"version": v.version, "content_hash": v.content_hash},
            )
            at = tx.now
        return Acknowledgement(person.id, name, v.version, v.content_hash, at)

    def acknowledgements(self, rep: str | Person, *, viewer=None) -> list[Acknowledgement]:
        """The plan versions ``rep`` acknowledged, oldest first."""
        rep_id = self._person(rep).id
        self._check_sees(viewer, rep_id)
        e = S.events
        with self._read() as conn:
            rows = conn.execute(
                select(e)
                .where(and_(e.c.kind == "plan.acknowledged", e.c.rep_id == rep_id))
                .order_by(e.c.seq)
            ).all()
        out = []
        for r in rows:
            a = json.loads(r.after)
            out.append(Acknowledgement(rep_id, r.object_id, a["version"], a["content_hash"], r.at))
        return out
