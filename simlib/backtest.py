"""Backtest the attainment forecast against what actually happened.

For each as-of date the model is calibrated on what was known that day, forecasts
each rep's and team's bookings for the next window, and is scored against the
bookings that followed: P10–P90 coverage (near 80% when calibrated), pinball loss at
P10/P50/P90, CRPS, and bias. The CRM's number — the sum of amount × stage probability
over open deals expected to close in the window — is scored on the same dates.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from simlib.data.io import Dataset
from simlib.periods import Window
from simlib.pipeline import calibrate, deals_open_at
from simlib.simulate import rollup, simulate

__all__ = ["backtest", "pinball", "crps_from_samples", "summarise_backtest"]


def pinball(y, q_pred, tau: float):
    """Pinball (quantile) loss of predicting ``q_pred`` for quantile ``tau``."""
    d = np.asarray(y, float) - np.asarray(q_pred, float)
    return np.maximum(tau * d, (tau - 1) * d)


def crps_from_samples(samples: np.ndarray, y: np.ndarray) -> np.ndarray:
    """CRPS of each column's sample distribution against ``y`` (lower is better).

    ``E|X − y| − ½ E|X − X'|``, the second term from the sorted samples in O(n log n).
    """
    x = np.sort(np.asarray(samples, float), axis=0)
    n = x.shape[0]
    term1 = np.abs(x - np.asarray(y, float)[None, :]).mean(axis=0)
    w = (2 * np.arange(1, n + 1) - n - 1)[:, None]
    term2 = (w * x).sum(axis=0) / (n * n)  # = ½ E|X − X'|
    return term1 - term2


def _window_after(as_of: pd.Timestamp, horizon) -> Window:
    if isinstance(horizon, str):
        start = as_of + pd.Timedelta(days=1)
        if horizon == "quarter":
            end = start + pd.offsets.QuarterEnd(0)
        elif horizon == "month":
            end = start + pd.offsets.MonthEnd(0)
        else:
            raise ValueError(
                f"horizon must be 'month', 'quarter' or a number of days; got {horizon!r}"
            )
        if start.is_quarter_start and horizon == "quarter":
            label = f"{start.year}-Q{start.quarter}"
        elif start.is_month_start and horizon == "month":
            label = f"{start:%Y-%m}"
        else:
            label = f"{start.date()}..{end.date()}"
        return Window(label, start, end)
    days = int(horizon)
    if days < 1:
        raise ValueError(f"horizon must be at least 1 day; got {horizon!r}")
    start = as_of + pd.Timedelta(days=1)
    end = as_of + pd.Timedelta(days=days)
    return Window(f"{start.date()}..{end.date()}", start, end)


def backtest(
    data: Dataset,
    as_of_dates,
    horizon="quarter",
    *,
    n_trials: int = 2_000,
    seed: int = 0,
    levels=("rep", "team", "region", "company"),
) -> pd.DataFrame:
    """Forecast from each as-of date and compare with what happened.

    Returns one row per (as_of, node) with the forecast (mean, p10, p50, p90), the CRM
    baseline, the actual bookings, and the per-row scores; :func:`summarise_backtest`
    aggregates them.
    """
    opp = data.opportunities
    won = opp[opp["stage"] == "won"]
    rows = []
    for k, d in enumerate(as_of_dates):
        T = pd.Timestamp(d).normalize()
        window = _window_after(T, horizon)
        if window.end > pd.Timestamp(data.as_of):
            raise ValueError(
                f"as-of {T.date()}: the window {window.start.date()}..{window.end.date()} "
                f"runs past the end of the data ({data.as_of}); nothing to compare with"
            )
        cal = calibrate(data, window, T)
        res = simulate(data, calibration=cal, n_trials=n_trials, seed=seed + k)
        nodes = res.nodes
        per_node = _node_trials(res)
        # What actually happened in the window, per rep, rolled up the same tree.
        w = won[(won["close_date"] >= window.start) & (won["close_date"] <= window.end)]
        actual_rep = w.groupby("owner_id")["amount"].sum()
        baseline_rep = _crm_baseline(
            data,
            T,
            window,
            cal.stage_default_probability,
            cal.deals.set_index("opportunity_id")["amount"],
        )
        actual = _roll(nodes, res.rep_ids, actual_rep)
        baseline = _roll(nodes, res.rep_ids, baseline_rep)
        q = np.quantile(per_node, [0.1, 0.5, 0.9], axis=0)
        crps = crps_from_samples(per_node, actual)
        # PIT: where the actual fell in the forecast distribution (mid-rank for ties,
        # so a node that books nothing in a forecast that often says nothing is not 0).
        below = (per_node < actual[None, :]).mean(axis=0)
        equal = (per_node == actual[None, :]).mean(axis=0)
        pit = below + 0.5 * equal
        for j, node in enumerate(nodes.itertuples(index=False)):
            if node.level not in levels:
                continue
            rows.append(
                dict(
                    as_of=T.date(),
                    window=window.label,
                    node_id=node.node_id,
                    level=node.level,
                    mean=per_node[:, j].mean(),
                    p10=q[0, j],
                    p50=q[1, j],
                    p90=q[2, j],
                    crm_baseline=baseline[j],
                    actual=actual[j],
                    covered=bool(q[0, j] <= actual[j] <= q[2, j]),
                    pinball10=float(pinball(actual[j], q[0, j], 0.1)),
                    pinball50=float(pinball(actual[j], q[1, j], 0.5)),
                    pinball90=float(pinball(actual[j], q[2, j], 0.9)),
                    crps=float(crps[j]),
                    pit=float(pit[j]),
                )
            )
    return pd.DataFrame(rows)


def _node_trials(res) -> np.ndarray:
    return rollup(res.trials, res.nodes, res.rep_ids)


def _roll(nodes: pd.DataFrame, rep_ids, per_rep: pd.Series) -> np.ndarray:
    v = np.array([[float(per_rep.get(r, 0.0)) for r in rep_ids]])
    return rollup(v, nodes, rep_ids)[0]


#: Stage probabilities of the CRM number when the export carries none: Salesforce's
#: default opportunity stages mapped to the canonical ones (the first of each group).
DEFAULT_STAGE_PROBABILITY = {
    "qualification": 0.10,
    "discovery": 0.20,
    "proposal": 0.75,
    "negotiation": 0.90,
}


def _crm_baseline(data: Dataset, T, window: Window, stage_prob: dict, amounts=None) -> pd.Series:
    """The CRM's number: amount × stage probability over deals open on T expected in
    the window (every open deal when the export has no expected close dates).

    Without the export's own probabilities, :data:`DEFAULT_STAGE_PROBABILITY`; a deal
    without an amount on T is valued as the forecast values it (``amounts``: id →
    amount), which is what a CRM user would have seen.
    """
    open_ = deals_open_at(data, T)
    exp = open_["expected_close_date"]
    m = exp.isna() | ((exp >= window.start) & (exp <= window.end))
    o = open_[m]
    probs = {**DEFAULT_STAGE_PROBABILITY, **{k: v for k, v in stage_prob.items() if v == v}}
    prob = o["stage"].map(probs).fillna(0.0)
    amount = o["amount"]
    if amounts is not None:
        amount = amount.fillna(o["opportunity_id"].map(amounts))
    return (amount.fillna(0.0) * prob).groupby(o["owner_id"]).sum()


def _pinball_ratio(x: pd.DataFrame) -> float:
    model = (x["pinball10"] + x["pinball50"] + x["pinball90"]).sum()
    crm = sum(pinball(x["actual"], x["crm_baseline"], t).sum() for t in (0.1, 0.5, 0.9))
    return float(model / crm) if crm > 0 else float("nan")


def summarise_backtest(bt: pd.DataFrame) -> pd.DataFrame:
    """Per level: coverage of P10–P90, pinball losses, CRPS, bias; model vs CRM baseline.

    ``mae_p50`` and ``mae_crm`` are the mean absolute errors of the model's median and
    of the CRM number; ``wape`` and ``crm_wape`` the same summed and divided by the
    actual total (Σ|p50 − actual| / Σ actual); ``bias`` is Σ(mean − actual) / Σ actual;
    ``pinball_ratio`` the model's mean pinball loss at P10/P50/P90 over the CRM number's
    (the CRM number scored as if it were each quantile: below 1 the model is better).
    """
    g = bt.groupby("level", sort=False)
    out = pd.DataFrame(
        {
            "rows": g.size(),
            "coverage_p10_p90": g["covered"].mean(),
            "pinball10": g["pinball10"].mean(),
            "pinball50": g["pinball50"].mean(),
            "pinball90": g["pinball90"].mean(),
            "crps": g["crps"].mean(),
            "bias": g.apply(
                lambda x: (x["mean"] - x["actual"]).sum() / max(x["actual"].sum(), 1e-9),
                include_groups=False,
            ),
            "crm_bias": g.apply(
                lambda x: (x["crm_baseline"] - x["actual"]).sum() / max(x["actual"].sum(), 1e-9),
                include_groups=False,
            ),
            "mae_p50": g.apply(
                lambda x: (x["p50"] - x["actual"]).abs().mean(), include_groups=False
            ),
            "mae_crm": g.apply(
                lambda x: (x["crm_baseline"] - x["actual"]).abs().mean(), include_groups=False
            ),
            "wape": g.apply(
                lambda x: (x["p50"] - x["actual"]).abs().sum() / max(x["actual"].sum(), 1e-9),
                include_groups=False,
            ),
            "crm_wape": g.apply(
                lambda x: (
                    (x["crm_baseline"] - x["actual"]).abs().sum() / max(x["actual"].sum(), 1e-9)
                ),
                include_groups=False,
            ),
            "pinball_ratio": g.apply(_pinball_ratio, include_groups=False),
        }
    )
    order = [lv for lv in ("company", "region", "team", "rep") if lv in out.index]
    return out.reindex(order).reset_index()
