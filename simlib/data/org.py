"""The organisation a target cascades through and a forecast rolls up: company → region →
team → rep.

The one home of the org tree. Everything that walks it comes from here:

- :class:`OrgTree`, the validated tree of the target cascade (children sorted by id);
- :func:`node_table`, the nodes a set of reps roll up through (the Monte Carlo's tree);
- :func:`ancestors`, each node's company, region and team (the tracking facts);
- :func:`rollup_order`, the fixed order in which children are added to their parents,
  so a roll-up gives the same floating-point sums whatever order the rows came in;
- :func:`depths`, which rejects a node that is its own parent or an ancestor of itself;
- :func:`cycles`, every such loop at once (for a validation report).

Data layer: imports only the standard library and pandas.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import pandas as pd

__all__ = [
    "OrgTree",
    "LEVEL_ORDER",
    "closest_id",
    "cycles",
    "depths",
    "node_table",
    "ancestors",
    "rollup_order",
]

#: Levels from the top; a tree may skip one (a company with teams but no regions).
LEVEL_ORDER: tuple[str, ...] = ("company", "region", "team", "rep")


def closest_id(name: str, options) -> str:
    """``"; did you mean 'T-SH'?"`` for the closest id, or ``""``."""
    close = difflib.get_close_matches(str(name), [str(o) for o in options], n=1, cutoff=0.5)
    return f"; did you mean {close[0]!r}?" if close else ""


def _parent_id(p) -> str | None:
    """A parent id as text, or ``None`` for none (``None``, NaN, ``""``)."""
    return None if (p is None or p != p or p == "") else str(p)


def depths(parent: Mapping[str, str | None]) -> dict[str, int]:
    """Each node's depth below its top: a node whose parent is ``None`` or not a node.

    Raises
    ------
    ValueError
        A node that is its own parent, or a cycle (naming the nodes on it, in order).
    """
    depth: dict[str, int] = {}
    for start in sorted(parent, key=str):  # sorted: the same cycle is named every time
        path: list[str] = []
        pos: dict[str, int] = {}
        cur = start
        while True:
            if cur in depth:
                d = depth[cur]
                break
            p = parent[cur]
            if p == cur:
                raise ValueError(f"node {cur!r} names itself as its parent")
            if cur in pos:
                cycle = " → ".join(repr(n) for n in path[pos[cur] :] + [cur])
                raise ValueError(f"the organisation has a cycle: {cycle}")
            pos[cur] = len(path)
            path.append(cur)
            if p is None or p not in parent:
                d = -1
                break
            cur = p
        for n in reversed(path):
            d += 1
            depth[n] = d
    return depth


def cycles(parent: Mapping[str, str | None]) -> list[list[str]]:
    """Every loop in ``parent``: each a list of nodes in parent order, from its least id.

    A node that is its own parent is a loop of one. Nodes hanging below a loop without
    being on it are not listed. An empty list means :func:`depths` will not raise.
    """
    done: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(parent, key=str):
        path: list[str] = []
        pos: dict[str, int] = {}
        cur: str | None = start
        while cur is not None and cur in parent and cur not in done:
            if cur in pos:
                loop = path[pos[cur] :]
                at = loop.index(min(loop, key=str))
                found.append(loop[at:] + loop[:at])
                break
            pos[cur] = len(path)
            path.append(cur)
            cur = parent[cur]
        done.update(path)
    return found


def rollup_order(nodes: pd.DataFrame) -> list[tuple[str, str]]:
    """The ``(child, parent)`` additions of a bottom-up roll-up, in a fixed order.

    Deepest nodes first (every node is complete before it is added to its parent), and
    within a depth by node id, descending: the reverse of the top-down (depth, id) order
    of :attr:`OrgTree.ids`. Float sums then do not depend on the order of ``nodes``' rows,
    the hash seed or anything else. Only pairs whose parent is a row of ``nodes`` are
    listed.

    ``nodes`` needs columns node_id and parent_id.
    """
    parent = {n: _parent_id(p) for n, p in zip(nodes["node_id"], nodes["parent_id"])}
    depth = depths(parent)
    order = sorted(parent, key=lambda n: (depth[n], str(n)), reverse=True)
    return [(n, parent[n]) for n in order if parent[n] is not None and parent[n] in parent]


def node_table(org: pd.DataFrame, reps: pd.DataFrame, rep_ids: Iterable[str]) -> pd.DataFrame:
    """The nodes ``rep_ids`` roll up through: node_id, parent_id, level, name, name_zh, depth.

    One row per rep (in the order given; its parent is its ``team_id`` in ``reps``, none
    for a rep not in ``reps``), then every org node above one of them, top-down (by
    depth, then id). A parent that is not in ``org`` ends a chain: the node keeps its
    parent_id, but nothing rolls up into it. Org nodes no rep reaches are left out.

    Raises
    ------
    ValueError
        The org table has a node that is its own parent, or a cycle.
    """
    org = org.drop_duplicates("node_id")
    org_parent = {n: _parent_id(p) for n, p in zip(org["node_id"], org["parent_id"])}
    depths(org_parent)  # a broken org fails here, naming the nodes
    r = reps.drop_duplicates("rep_id").set_index("rep_id")
    has_zh = "name_zh" in r
    rows = []
    for rep in rep_ids:
        known = rep in r.index
        rows.append(
            dict(
                node_id=rep,
                parent_id=_parent_id(r.at[rep, "team_id"]) if known else None,
                level="rep",
                name=r.at[rep, "name"] if known else rep,
                name_zh=r.at[rep, "name_zh"] if known and has_zh else None,
            )
        )
    reached: set[str] = set()
    todo = [row["parent_id"] for row in rows if row["parent_id"] is not None]
    while todo:
        n = todo.pop()
        if n in reached or n not in org_parent:
            continue
        reached.add(n)
        if org_parent[n] is not None:
            todo.append(org_parent[n])
    o = org.set_index("node_id")
    has_org_zh = "name_zh" in o
    org_rows = [
        dict(
            node_id=n,
            parent_id=org_parent[n],
            level=o.at[n, "level"],
            name=o.at[n, "name"],
            name_zh=o.at[n, "name_zh"] if has_org_zh else None,
        )
        for n in reached
    ]
    parent = {row["node_id"]: row["parent_id"] for row in rows + org_rows}
    depth = depths(parent)
    org_rows.sort(key=lambda row: (depth[row["node_id"]], str(row["node_id"])))
    cols = ["node_id", "parent_id", "level", "name", "name_zh"]
    nodes = pd.DataFrame(  # object columns: a missing parent or name stays None
        {c: pd.Series([row[c] for row in rows + org_rows], dtype=object) for c in cols}
    )
    nodes["depth"] = [depth[n] for n in nodes["node_id"]]
    return nodes


def ancestors(
    org: pd.DataFrame, levels: tuple[str, ...] = ("company", "region", "team")
) -> pd.DataFrame:
    """For each node of ``org``: its nearest ancestor (itself included) at each level.

    Columns node_id and ``<level>_id`` for each of ``levels`` (``None`` where there is
    none); one row per row of ``org``, in its order. A parent that is not a node ends the
    chain.

    Raises
    ------
    ValueError
        A node that is its own parent, or a cycle.
    """
    ids = list(org["node_id"])
    parent = {n: _parent_id(p) for n, p in zip(ids, org["parent_id"])}
    level = dict(zip(ids, org["level"]))
    depth = depths(parent)
    # Top-down, so a parent's ancestors are known before its children's.
    found: dict = {}
    for n in sorted(parent, key=lambda n: (depth[n], str(n))):
        p = parent[n]
        here = dict(found[p]) if p is not None and p in found else dict.fromkeys(levels)
        if level[n] in here:
            here[level[n]] = n
        found[n] = here
    return pd.DataFrame(
        [(n, *(found[n][lv] for lv in levels)) for n in ids],
        columns=["node_id", *(f"{lv}_id" for lv in levels)],
    )


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
        # Bottom-up: the reverse of the top-down order (what :func:`rollup_order` gives).
        up = tuple((n, self.parent_of[n]) for n in reversed(ids) if self.parent_of[n] is not None)
        object.__setattr__(self, "_up", up)

    @classmethod
    def from_frame(cls, nodes: pd.DataFrame) -> OrgTree:
        """Build from a frame with node_id, parent_id, level, name (and optional name_zh).

        Raises
        ------
        ValueError
            A duplicate id, a node that is its own parent, a cycle, no root or several, a
            parent that is not a node.
        """
        df = nodes.copy()
        if "name_zh" not in df:
            df["name_zh"] = None
        df["node_id"] = df["node_id"].astype(str)
        parents = [_parent_id(p) for p in df["parent_id"]]
        df["parent_id"] = pd.Series(parents, index=df.index, dtype=object)
        dup = df["node_id"][df["node_id"].duplicated()]
        if len(dup):
            raise ValueError(f"node ids must be unique; {dup.iloc[0]!r} appears more than once")
        parent = dict(zip(df["node_id"], parents))
        depth = depths(parent)
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

    def rollup_order(self) -> list[tuple[str, str]]:
        """The ``(child, parent)`` additions bottom-up; equal to :func:`rollup_order`."""
        return list(self._up)

    def rollup(self, leaf_values: Mapping[str, float] | pd.Series) -> pd.Series:
        """Sum values given on some nodes (usually reps) up the tree; every node gets a sum.

        A value given on an inner node is added to what its children bring. Children are
        added in :meth:`rollup_order`.
        """
        vals = {n: float(leaf_values.get(n, 0.0)) for n in self._ids}
        for n, p in self._up:
            vals[p] += vals[n]
        return pd.Series(vals, name="value").reindex(self.ids)

    def __repr__(self) -> str:
        counts = self.nodes["level"].value_counts()
        parts = [f"{counts.get(lv, 0)} {lv}" for lv in LEVEL_ORDER if counts.get(lv, 0)]
        return f"OrgTree(root={self.root!r}, {', '.join(parts)})"

    def __reduce__(self):
        """Pickled as plain dicts (a ``MappingProxyType`` cannot be pickled), so that
        what holds a tree (a workshop's history) can be kept in the disk cache."""
        return (
            _tree_from_state,
            (
                self.nodes,
                dict(self.children_of),
                dict(self.parent_of),
                dict(self.level_of),
                self.root,
            ),
        )

    def __hash__(self) -> int:  # identity: trees are built once and shared
        return id(self)


def _tree_from_state(nodes, children_of, parent_of, level_of, root) -> OrgTree:
    """:meth:`OrgTree.__reduce__`'s way back."""
    return OrgTree(
        nodes,
        MappingProxyType(children_of),
        MappingProxyType(parent_of),
        MappingProxyType(level_of),
        root,
    )
