"""The directory of recipients: everyone of the org data, with the overrides of
``params/recipients.yaml``.

The reps table says who each person is (rep, manager or director), their team, their
names and, when the data has them, their email address and preferred language
(a ``language``, ``lang`` or ``preferred_language`` column). ``recipients.yaml``
overrides any of these per person and may add a robot webhook, the channels to use or
"do not send". A person without a usable address stays in the directory (``address``
says why not): nobody is skipped silently.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from simlib.config import ParamError, Problem, default_params_dir, hint
from simlib.delivery.params import RecipientParams, is_email

__all__ = ["Directory", "Person", "build_directory"]

_LANG_COLUMNS = ("language", "lang", "preferred_language")
_LANGS = {"en": "en", "english": "en", "zh": "zh-CN", "zh-cn": "zh-CN", "zh_cn": "zh-CN"}


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    name_zh: str
    role: str  # rep | manager | director
    team: str  # node id of their team (the company for the director)
    unit: str  # that team's name
    unit_zh: str
    language: str
    email: str | None = None
    email_problem: str = ""  # why there is no usable address (en)
    email_problem_zh: str = ""
    channels: tuple[str, ...] = ("email",)
    webhook: str | None = None
    do_not_send: bool = False
    note: str = ""
    active: bool = True

    def display(self, lang: str) -> str:
        """The person's name in ``lang`` (the Chinese name on a zh-CN page when known)."""
        return self.name_zh if lang == "zh-CN" and self.name_zh else self.name

    def unit_name(self, lang: str) -> str:
        return self.unit_zh if lang == "zh-CN" and self.unit_zh else self.unit

    def address(self, channel: str) -> str | None:
        return self.email if channel == "email" else self.webhook

    def problem(self, channel: str, lang: str) -> str:
        """Why ``channel`` cannot reach this person ('' when it can)."""
        zh = lang == "zh-CN"
        if channel == "email" and not self.email:
            return (self.email_problem_zh if zh else self.email_problem) or (
                "无邮箱地址" if zh else "no address"
            )
        if channel == "webhook" and not self.webhook:
            return "未设置机器人地址" if zh else "no webhook"
        return ""


@dataclass
class Directory:
    people: dict[str, Person]
    source: str = ""  # e.g. "params/recipients.yaml"
    warnings: list[str] = field(default_factory=list)

    def managers_of(self, team: str) -> list[Person]:
        found = [p for p in self.people.values() if p.role == "manager" and p.team == team]
        active = [p for p in found if p.active]
        return active or found

    def directors(self) -> list[Person]:
        found = [p for p in self.people.values() if p.role == "director"]
        return [p for p in found if p.active] or found

    def find(self, who: str) -> list[Person]:
        """People matching ``who``: an id, a name (either language), an email address, a
        team (id or name: everyone in it), or a role (director, managers, reps)."""
        w = who.strip().casefold()
        roles = {
            "director": "director",
            "directors": "director",
            "总监": "director",
            "manager": "manager",
            "managers": "manager",
            "经理": "manager",
            "rep": "rep",
            "reps": "rep",
            "销售": "rep",
        }
        if w in roles:
            return [p for p in self.people.values() if p.role == roles[w]]
        exact = [
            p
            for p in self.people.values()
            if w
            in {
                p.id.casefold(),
                p.name.casefold(),
                p.name_zh.casefold(),
                (p.email or "").casefold(),
            }
        ]
        if exact:
            return exact
        return [
            p
            for p in self.people.values()
            if w in {p.team.casefold(), p.unit.casefold(), p.unit_zh.casefold()}
        ]

    def choices(self) -> list[str]:
        out = []
        for p in self.people.values():
            out += [p.id, p.name, p.name_zh]
        return [c for c in out if c]


def _text(v) -> str:
    return v.strip() if isinstance(v, str) else ""


def _language(row, columns: Iterable[str], default: str) -> str:
    for c in columns:
        v = _text(row.get(c)).casefold()
        if v in _LANGS:
            return _LANGS[v]
    return default


def _channels(o, default: tuple[str, ...]) -> tuple[str, ...]:
    """A person's channels: their own, else the default (plus the robot when they have one)."""
    if o is not None and o.channels:
        return tuple(o.channels)
    extra = ("webhook",) if o is not None and o.webhook and "webhook" not in default else ()
    return tuple(default) + extra


def build_directory(
    reps,
    org,
    overrides: RecipientParams | None = None,
    *,
    default_language: str = "zh-CN",
    as_of=None,
    params_file: str | Path | None = None,
) -> Directory:
    """Everyone of the reps table, with ``overrides`` (``params/recipients.yaml``) applied.

    A key of ``recipients.yaml`` that names nobody in the org data is an error naming
    the file, the key and the ids it may have meant.
    """
    import pandas as pd

    overrides = overrides or RecipientParams()
    params_file = str(params_file or default_params_dir() / "recipients.yaml")
    org_i = org.set_index("node_id") if org is not None else None

    def unit(node: str) -> tuple[str, str]:
        if org_i is None or node not in org_i.index:
            return node, ""
        row = org_i.loc[node]
        return _text(row.get("name")) or node, _text(row.get("name_zh"))

    ids = [str(x) for x in reps["rep_id"]]
    unknown = [k for k in overrides.people if k not in ids]
    if unknown:
        raise ParamError(
            [
                Problem(
                    params_file,
                    f"recipients.people.{k}",
                    k,
                    "no one with this id in the org data (reps table)"
                    + (hint(k, ids) or f"; its ids run from {min(ids)} to {max(ids)}"),
                )
                for k in unknown
            ]
        )
    lang_cols = [c for c in _LANG_COLUMNS if c in reps.columns]
    people: dict[str, Person] = {}
    for _, row in reps.iterrows():
        pid = str(row["rep_id"])
        o = overrides.people.get(pid)
        data_email = _text(row.get("email"))
        email, problem, problem_zh = None, "no address", "无邮箱地址"
        if o is not None and o.email:
            email, problem, problem_zh = o.email, "", ""
        elif data_email and is_email(data_email):
            email, problem, problem_zh = data_email, "", ""
        elif data_email:
            problem = f"the org data's address {data_email!r} is not an email address"
            problem_zh = f"组织数据中的邮箱 {data_email!r} 格式不正确"
        team = _text(row.get("team_id"))
        en, zh = unit(team)
        leave = row.get("leave_date")
        active = not (
            isinstance(leave, pd.Timestamp)
            and not pd.isna(leave)
            and as_of is not None
            and leave < pd.Timestamp(as_of)
        )
        language = _language(row, lang_cols, default_language)
        people[pid] = Person(
            id=pid,
            name=_text(row.get("name")) or pid,
            name_zh=_text(row.get("name_zh")),
            role=_text(row.get("role")) or "rep",
            team=team,
            unit=en,
            unit_zh=zh,
            language=(o.language if o is not None and o.language else language),
            email=email,
            email_problem=problem,
            email_problem_zh=problem_zh,
            channels=(
                o.channels
                if o is not None and o.channels
                else (
                    tuple(overrides.default_channels)
                    + (
                        ("webhook",)
                        if o is not None
                        and o.webhook
                        and "webhook" not in overrides.default_channels
                        else ()
                    )
                )
            ),
            webhook=o.webhook if o is not None else None,
            do_not_send=bool(o is not None and o.do_not_send),
            note=o.note if o is not None else "",
            active=active,
        )
    return Directory(people, params_file)
