"""What a target is made of: product line, customer type, new vs existing customers.

A team's target carries its product-line and customer-type mix ("East China Q3:
50,000,000, product A 60%"), a rep's its new-customer share ("Zhang Q3: 8,000,000, 30%
from new customers").

Shares come from each node's won revenue (see :mod:`simlib.targets.history`); a
scenario can fix some categories' shares (``mix: {S003: {deal_type: {new_customer:
0.30}}}``) and the categories it does not name share the rest in their historical
proportions. Each period's amount is split by largest remainder, so a node's mix sums
to its target exactly.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from simlib.money import allocate_cents, from_cents, to_cents

__all__ = ["MIX_BY_LEVEL", "mix_shares", "mix_targets"]

#: Which splits each level's targets carry by default.
MIX_BY_LEVEL: dict[str, tuple[str, ...]] = {
    "company": ("product_line", "customer_type"),
    "region": ("product_line", "customer_type"),
    "team": ("product_line", "customer_type", "deal_type"),
    "rep": ("deal_type",),
}


def mix_shares(historical: pd.Series, fixed: Mapping[str, float] | None = None) -> pd.Series:
    """Shares in one dimension: the fixed ones as given, the rest in historical proportion.

    >>> h = pd.Series({"new_customer": 0.1, "existing_customer": 0.9})
    >>> mix_shares(h, {"new_customer": 0.3}).round(3).to_dict()
    {'existing_customer': 0.7, 'new_customer': 0.3}
    """
    hist = pd.Series(historical, dtype=float)
    fixed = dict(fixed or {})
    if not fixed:
        return hist.sort_index()
    rest = hist.drop([c for c in fixed if c in hist.index])
    left = max(1.0 - sum(fixed.values()), 0.0)
    if len(rest):
        rest = (
            rest / rest.sum() * left
            if rest.sum() > 0
            else pd.Series(left / len(rest), index=rest.index)
        )
    out = pd.concat([rest, pd.Series(fixed, dtype=float)])
    return out.sort_index()


def mix_targets(
    targets: pd.DataFrame,
    history,
    overrides: Mapping[str, Mapping[str, Mapping[str, float]]] | None = None,
    kinds: tuple[str, ...] = ("year", "quarter"),
) -> pd.DataFrame:
    """Split each node's targets by its mix, exact to the cent.

    Parameters
    ----------
    targets : DataFrame
        node_id, period, kind, amount (the long allocation table).
    history : History
        Gives the tree and each node's historical shares (:meth:`History.mix_of`).
    overrides : mapping node → dimension → category → share
    kinds : tuple
        Which periods to split (default the year and its quarters).

    Returns
    -------
    DataFrame
        node_id, level, period, dimension, category, share, amount.
    """
    tree = history.tree
    overrides = overrides or {}
    t = targets[targets["kind"].isin(kinds)]
    rows = []
    by_node = {
        n: (g["period"].tolist(), g["amount"].tolist()) for n, g in t.groupby("node_id", sort=False)
    }
    for node in tree.ids:
        if node not in by_node:
            continue
        level = tree.level_of[node]
        dims = list(MIX_BY_LEVEL.get(level, ()))
        dims += [d for d in overrides.get(node, {}) if d not in dims]
        periods, amounts = by_node[node]
        for dim in dims:
            shares = mix_shares(history.mix_of(node, dim), overrides.get(node, {}).get(dim))
            total = float(shares.sum())
            if total <= 0:
                continue
            cats, sh = shares.index.tolist(), shares.to_numpy() / total
            w = np.rint(sh / sh.max() * 1e12)
            for period, amount in zip(periods, amounts):
                parts = allocate_cents(to_cents(float(amount)), w)
                rows.extend(
                    zip(
                        [node] * len(cats),
                        [level] * len(cats),
                        [period] * len(cats),
                        [dim] * len(cats),
                        cats,
                        sh,
                        parts,
                    )
                )
    out = pd.DataFrame(
        rows, columns=["node_id", "level", "period", "dimension", "category", "share", "cents"]
    )
    out["amount"] = from_cents(out["cents"].to_numpy(dtype=np.int64))
    return out.drop(columns="cents")
