"""The organisation a target cascades through: company → region → team → rep."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import pandas as pd

__all__ = ["OrgTree", "LEVEL_ORDER", "closest_id"]

#: Levels from the top; a tree may skip one (a company with teams but no regions).
LEVEL_ORDER: tuple[str, ...] = ("company", "region", "team", "rep")


def closest_id(name: str, options) -> str:
    """``"; did you mean 'T-SH'?"`` for the closest id, or ``""``."""
    close = difflib.get_close_matches(str(name), [str(o) for o in options], n=1, cutoff=0.5)
    return f"; did you mean {close[0]!r}?" if close else ""


@dataclass(frozen=True)
class OrgTree:
    """Nodes with their parents, levels and names; children listed sorted by id.

    ``nodes`` has columns node_id, parent_id (``None`` for the root), level, name,
    name_zh, depth; rows ordered top-down (by depth, then id). Every list of children is
    sorted by id, so an allocation never depends on the order rows came in.
    """

    nodes: pd.DataFrame
    children_of: Mapping[str, tuple[str, ...]] = field(repr=False)
    parent_of: Mapping[str, str | None] = field(repr=False)
    level_of: Mapping[str, str] = field(repr=False)
    root: str = ""

    def __post_init__(self):
        ids = self.nodes["node_id"].tolist()
        object.__setattr__(self, "_ids", tuple(ids))
        object.__setattr__(self, "_parents", tuple(n for n in ids if self.children_of[n]))
        levels: dict[str, list[str]] = {}
        for n in ids:
            levels.setdefault(self.level_of[n], []).append(n)
        object.__setattr__(self, "_levels", {k: tuple(v) for k, v in levels.items()})

    @classmethod
    def from_frame(cls, nodes: pd.DataFrame) -> OrgTree:
        """Build from a frame with node_id, parent_id, level, name (and optional name_zh).

        Raises
        ------
        ValueError
            No root or several, a parent that is not a node, a duplicate id, a cycle.
        """
        df = nodes.copy()
        if "name_zh" not in df:
            df["name_zh"] = None
        df["node_id"] = df["node_id"].astype(str)
        parents = [None if (p is None or p != p or p == "") else str(p) for p in df["parent_id"]]
        df["parent_id"] = pd.Series(parents, index=df.index, dtype=object)
        dup = df["node_id"][df["node_id"].duplicated()]
        if len(dup):
            raise ValueError(f"node ids must be unique; {dup.iloc[0]!r} appears more than once")
        roots = [n for n, p in zip(df["node_id"], parents) if p is None]
        if len(roots) != 1:
            raise ValueError(
                f"the organisation needs exactly one root (a node without a parent); got {roots}"
            )
        ids = set(df["node_id"])
        for n, p in zip(df["node_id"], parents):
            if p is not None and p not in ids:
                raise ValueError(
                    f"node {n!r} names parent {p!r}, which is not a node{closest_id(p, ids)}"
                )
        parent = dict(zip(df["node_id"], parents))
        depth: dict[str, int] = {}
        for n in df["node_id"]:
            seen, cur, d = set(), n, 0
            while parent[cur] is not None:
                if cur in seen:
                    raise ValueError(f"the organisation has a cycle through {n!r}")
                seen.add(cur)
                cur, d = parent[cur], d + 1
            depth[n] = d
        df["depth"] = df["node_id"].map(depth)
        df = df.sort_values(["depth", "node_id"], kind="stable").reset_index(drop=True)
        kids: dict[str, list[str]] = {n: [] for n in df["node_id"]}
        for n, p in parent.items():
            if p is not None:
                kids[p].append(n)
        children = {k: tuple(sorted(v)) for k, v in kids.items()}
        cols = ["node_id", "parent_id", "level", "name", "name_zh", "depth"]
        df = df[cols].astype(
            {
                "node_id": object,
                "parent_id": object,
                "level": object,
                "name": object,
                "name_zh": object,
            }
        )
        df["parent_id"] = df["node_id"].map(parent).astype(object)
        return cls(
            df,
            MappingProxyType(children),
            MappingProxyType(parent),
            MappingProxyType(dict(zip(df["node_id"], df["level"]))),
            roots[0],
        )

    @classmethod
    def from_tables(cls, org: pd.DataFrame, reps: pd.DataFrame, year: int | None = None) -> OrgTree:
        """The org table plus the quota carriers: reps (role ``rep``) active in ``year``.

        A rep is active in the year when hired on or before its last day and not gone
        before its first day.
        """
        r = reps[reps["role"] == "rep"] if "role" in reps else reps
        if year is not None:
            start, end = pd.Timestamp(year, 1, 1), pd.Timestamp(year, 12, 31)
            hired = pd.to_datetime(r["hire_date"]) <= end
            left = r["leave_date"] if "leave_date" in r else pd.Series(pd.NaT, index=r.index)
            gone = pd.to_datetime(left) < start
            r = r[hired & ~gone.fillna(False)]
        org_nodes = org[["node_id", "parent_id", "level", "name"]].copy()
        org_nodes["name_zh"] = org["name_zh"] if "name_zh" in org else None
        rep_nodes = pd.DataFrame(
            {
                "node_id": r["rep_id"].astype(str),
                "parent_id": r["team_id"].astype(str),
                "level": "rep",
                "name": r["name"],
                "name_zh": r["name_zh"] if "name_zh" in r else None,
            }
        )
        return cls.from_frame(pd.concat([org_nodes, rep_nodes], ignore_index=True))

    # ---------------------------------------------------------------- queries

    @property
    def ids(self) -> list[str]:
        """Every node id, top-down (by depth, then id)."""
        return list(self._ids)

    def children(self, node_id: str) -> tuple[str, ...]:
        """The node's children, sorted by id."""
        return self.children_of[node_id]

    def parents(self) -> list[str]:
        """Nodes with children, top-down."""
        return list(self._parents)

    def of_level(self, level: str) -> list[str]:
        """The nodes of one level (``"rep"``, ``"team"``, ...), sorted by id."""
        return list(self._levels.get(level, ()))

    def ancestor(self, node_id: str, level: str) -> str | None:
        """The node's ancestor (or itself) at ``level``."""
        cur: str | None = node_id
        while cur is not None and self.level_of[cur] != level:
            cur = self.parent_of[cur]
        return cur

    def leaves_under(self, node_id: str) -> list[str]:
        """The nodes without children below ``node_id`` (itself if a leaf)."""
        out, stack = [], [node_id]
        while stack:
            n = stack.pop()
            kids = self.children_of[n]
            if kids:
                stack.extend(kids)
            else:
                out.append(n)
        return sorted(out)

    def rollup(self, leaf_values: Mapping[str, float] | pd.Series) -> pd.Series:
        """Sum values given on some nodes (usually reps) up the tree; every node gets a sum.

        A value given on an inner node is added to what its children bring.
        """
        vals = {n: float(leaf_values.get(n, 0.0)) for n in self.ids}
        for n in reversed(self.ids):
            p = self.parent_of[n]
            if p is not None:
                vals[p] += vals[n]
        return pd.Series(vals, name="value").reindex(self.ids)

    def __repr__(self) -> str:
        counts = self.nodes["level"].value_counts()
        parts = [f"{counts.get(lv, 0)} {lv}" for lv in LEVEL_ORDER if counts.get(lv, 0)]
        return f"OrgTree(root={self.root!r}, {', '.join(parts)})"

    def __hash__(self) -> int:  # identity: trees are built once and shared
        return id(self)
