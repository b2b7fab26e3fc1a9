"""Who may do what in the ledger: people and roles from the org data.

Roles come from the ``reps`` table (``role``: rep, manager, director) and the org tree
(a manager leads the node in their ``team_id`` and everything under it); admins are
listed by id in ``params/appeals.yaml`` (``admins:``) and need not be in the reps table.

=================  =============================================================
action             who
=================  =============================================================
issue statements   an admin or a director
file an appeal     the person the statement belongs to, on their own statement
withdraw           the person who filed it, while it is not decided
review, decide     a director, or a manager of the rep's team (or a node above
                   it) — never the person whose statement it is
see statements,    their owner; the managers above them; directors and admins
appeals, history
=================  =============================================================
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import pandas as pd

from simlib.data.org import OrgTree, closest_id
from simlib.ledger.errors import NotFound

__all__ = ["Person", "Roster", "role_label"]

ROLES = ("rep", "manager", "director", "admin")
_ROLE_NAMES = {
    "rep": ("sales rep", "销售"),
    "manager": ("manager", "经理"),
    "director": ("director", "总监"),
    "admin": ("administrator", "管理员"),
}


def role_label(role: str, lang: str = "en") -> str:
    """A role as people read it: ``manager`` or ``经理``."""
    en, zh = _ROLE_NAMES.get(role, (role, role))
    return zh if lang == "zh-CN" else en


@dataclass(frozen=True)
class Person:
    """One person the ledger knows: id, names, role and team node."""

    id: str
    name: str
    name_zh: str | None = None
    role: str = "rep"
    team_id: str | None = None

    def display(self, lang: str = "en") -> str:
        """The name a reader sees (Chinese name in zh-CN when there is one)."""
        return (self.name_zh or self.name) if lang == "zh-CN" else self.name

    def __repr__(self) -> str:
        return f"Person({self.id} {self.name}, {self.role}, team {self.team_id})"


@dataclass(frozen=True)
class Roster:
    """The people of the org data and the node each node reports to.

    Build it with :meth:`from_tables`; ``parent_of`` maps each org node to its parent.
    """

    people: Mapping[str, Person]
    parent_of: Mapping[str, str | None] = field(default_factory=dict)
    node_names: Mapping[str, tuple[str, str]] = field(default_factory=dict)

    @classmethod
    def from_tables(
        cls,
        reps: pd.DataFrame,
        org: pd.DataFrame | None = None,
        admins: Iterable[str] = (),
    ) -> Roster:
        """People from a ``reps`` table (rep_id, name, [name_zh], [team_id], [role]).

        An id listed in ``admins`` gets the admin role (added if not in ``reps``).
        """
        people: dict[str, Person] = {}
        for r in reps.to_dict("records"):
            zh = r.get("name_zh")
            team = r.get("team_id")
            role = r.get("role")
            people[str(r["rep_id"])] = Person(
                id=str(r["rep_id"]),
                name=str(r.get("name") or r["rep_id"]),
                name_zh=None if zh is None or pd.isna(zh) else str(zh),
                role=str(role) if isinstance(role, str) and role in ROLES else "rep",
                team_id=None if team is None or pd.isna(team) else str(team),
            )
        for a in admins:
            p = people.get(str(a))
            people[str(a)] = Person(
                id=str(a),
                name=p.name if p else str(a),
                name_zh=p.name_zh if p else None,
                role="admin",
                team_id=p.team_id if p else None,
            )
        parent: dict[str, str | None] = {}
        names: dict[str, tuple[str, str]] = {}
        if org is not None and len(org):
            tree = OrgTree.from_frame(org)
            parent = dict(tree.parent_of)
            for r in tree.nodes.to_dict("records"):
                zh = r.get("name_zh")
                en = str(r.get("name") or r["node_id"])
                names[r["node_id"]] = (en, en if zh is None or pd.isna(zh) else str(zh))
        return cls(people=people, parent_of=parent, node_names=names)

    # ------------------------------------------------------------------ lookups

    def resolve(self, who: str) -> Person:
        """The person named by id, English name or Chinese name (case-insensitive)."""
        key = str(who).strip()
        if key in self.people:
            return self.people[key]
        low = key.casefold()
        hits = [
            p
            for p in self.people.values()
            if p.id.casefold() == low
            or p.name.casefold() == low
            or (p.name_zh or "").casefold() == low
        ]
        if len(hits) == 1:
            return hits[0]
        if len(hits) > 1:
            ids = ", ".join(sorted(p.id for p in hits))
            raise NotFound(
                f"{key!r} names several people ({ids}); give the id",
                f"“{key}”对应多人（{ids}），请用工号",
            )
        hint = closest_id(key, list(self.people))
        raise NotFound(
            f"nobody called {key!r} in the org data{hint}",
            f"组织数据中没有“{key}”{hint}",
        )

    def get(self, person_id: str) -> Person | None:
        return self.people.get(str(person_id))

    def name_of(self, person_id: str, lang: str = "en") -> str:
        """A person's name (the id when the org data does not know them)."""
        p = self.people.get(str(person_id))
        return p.display(lang) if p else str(person_id)

    def team_name(self, node: str | None, lang: str = "en") -> str:
        """The name of an org node (the id when the org data does not name it)."""
        if node is None:
            return "—"
        en, zh = self.node_names.get(node, (node, node))
        return zh if lang == "zh-CN" else en

    def nodes_above(self, node: str | None) -> list[str]:
        """``node`` and every node above it, nearest first."""
        out: list[str] = []
        seen: set[str] = set()
        while node is not None and node not in seen:
            out.append(node)
            seen.add(node)
            node = self.parent_of.get(node)
        return out

    def nodes_below(self, node: str | None) -> list[str]:
        """``node`` and every node under it (the org tree's nodes and the people's teams)."""
        if node is None:
            return []
        known = set(self.parent_of) | {p.team_id for p in self.people.values() if p.team_id}
        return [n for n in sorted(known) if node in self.nodes_above(n)]

    # ------------------------------------------------------------------ permissions

    def manages(self, person: Person, rep_id: str) -> bool:
        """True when ``person`` is a manager of ``rep_id``'s team or a node above it."""
        if person.role != "manager" or person.team_id is None or person.id == rep_id:
            return False
        rep = self.people.get(rep_id)
        return rep is not None and person.team_id in self.nodes_above(rep.team_id)

    def may_decide(self, person: Person, rep_id: str) -> bool:
        """Directors and the rep's managers decide appeals, never on their own statement."""
        if person.id == rep_id:
            return False
        return person.role == "director" or self.manages(person, rep_id)

    def may_see(self, person: Person, rep_id: str) -> bool:
        """A person sees their own records, their team's (managers) or all (director, admin)."""
        return (
            person.id == rep_id
            or person.role in ("director", "admin")
            or self.manages(person, rep_id)
        )

    def may_issue(self, person: Person) -> bool:
        return person.role in ("director", "admin")

    def __repr__(self) -> str:
        roles = pd.Series([p.role for p in self.people.values()]).value_counts().to_dict()
        return f"Roster({len(self.people)} people, {roles})"
