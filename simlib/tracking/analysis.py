"""Analysis (SPEC R10): Pareto of customers, lead sources, lead prioritisation.

The lead model is a plain logistic regression with a handful of named features, fitted
with numpy/scipy (no scikit-learn), so that every score can be explained: a lead's
log-odds is the intercept plus one term per feature, and the largest term is the
reason it ranks where it does.

Features, all known on the day a lead is created:

``qualified``           marketing qualified the lead (1/0)
``key_account``         the prospect is a key account (1/0)
``log_value``           log of the estimated value (standardised)
``rep_conversion``      the owner's conversion rate on earlier decided leads, shrunk
                        toward the company rate (standardised)
``source=<name>``       one indicator per lead source, against the most common one

The model is fitted on leads created up to a cutoff date and decided (converted or
disqualified), and judged on the **later-dated** decided leads after it: the AUC of
those held-out leads is reported with the model.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from scipy import optimize, stats

from simlib.periods import as_window
from simlib.tracking.facts import DataLike, prepare, window_rows

__all__ = [
    "Pareto",
    "pareto_customers",
    "lead_source_conversion",
    "LeadModel",
    "fit_lead_model",
    "rank_open_leads",
    "auc",
]


# --------------------------------------------------------------------------- Pareto


@dataclass(frozen=True)
class Pareto:
    """Which customers make the first ``share`` of revenue.

    Attributes
    ----------
    table : DataFrame
        Customers by revenue, largest first: ``rank, customer_id, name,
        customer_type, rep_id, revenue, share, cum_share, core`` (``core``: among the
        customers that together make ``share`` of revenue, the one crossing the line
        included).
    share : float
    customers, core_customers : int
    core_customer_share : float
        core_customers / customers (the "20%" of 80/20).
    revenue : float
    """

    table: pd.DataFrame = field(repr=False)
    share: float
    customers: int
    core_customers: int
    core_customer_share: float
    revenue: float

    def __repr__(self) -> str:
        return (
            f"Pareto({self.core_customers} of {self.customers} customers "
            f"({self.core_customer_share:.0%}) make {self.share:.0%} of revenue "
            f"{self.revenue:,.0f})"
        )


def pareto_customers(
    data: DataLike, period=None, *, within: str | None = None, share: float = 0.8, as_of=None
) -> Pareto:
    """Rank customers by won revenue and mark those making ``share`` of it.

    Parameters
    ----------
    data : Dataset or Facts
    period : optional
        Default: the twelve months to ``as_of``.
    within : str, optional
        Only deals of reps at or below this org node.
    share : float
        The revenue share to explain (0 < share <= 1).
    """
    if not 0 < share <= 1:
        raise ValueError(f"share must be in (0, 1]; got {share!r}")
    f = prepare(data)
    t = min(pd.Timestamp(as_of).normalize(), f.as_of) if as_of is not None else f.as_of
    if period is None:
        s, e = t - pd.DateOffset(months=12) + pd.Timedelta(days=1), t
    else:
        w = as_window(period)
        s, e = w.start, min(w.end, t)
    won = window_rows(f.won, s, e)
    if within is not None:
        won = won[won["rep_id"].isin(f.members(within))]
    g = won.groupby("customer_id").agg(revenue=("amount", "sum"), rep_id=("rep_id", "last"))
    g = g.sort_values("revenue", ascending=False, kind="stable").reset_index()
    total = float(g["revenue"].sum())
    g["share"] = g["revenue"] / total if total > 0 else np.nan
    g["cum_share"] = g["share"].cumsum()
    before = g["cum_share"] - g["share"]
    g["core"] = before < share - 1e-12
    c = f.customers.set_index("customer_id")
    g.insert(0, "rank", np.arange(1, len(g) + 1))
    g.insert(2, "name", g["customer_id"].map(c["name"]))
    g.insert(3, "customer_type", g["customer_id"].map(c["customer_type"]))
    n, k = len(g), int(g["core"].sum())
    return Pareto(
        table=g,
        share=share,
        customers=n,
        core_customers=k,
        core_customer_share=k / n if n else float("nan"),
        revenue=total,
    )


# --------------------------------------------------------------------------- lead sources


def _wilson(k, n, z=1.96):
    k, n = np.asarray(k, dtype=float), np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        den = 1 + z * z / n
        centre = (p + z * z / (2 * n)) / den
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return centre - half, centre + half


def lead_source_conversion(
    data: DataLike, period=None, *, by="source", within: str | None = None, as_of=None
) -> pd.DataFrame:
    """Which lead sources (or types) convert best.

    Conversion is of **decided** leads: converted / (converted + disqualified); leads
    still open are counted but not judged. Won revenue follows each converted lead to
    its opportunity.

    Parameters
    ----------
    period : optional
        Leads created in this period; default: the twelve months to ``as_of``.
    by : str or list of str
        ``source``, ``customer_type``, ``qualified`` (or several).

    Returns
    -------
    DataFrame
        ``<by>, leads, open, decided, converted, conversion, ci_low, ci_high`` (95%
        Wilson interval), ``won_deals, won_revenue, revenue_per_lead``; best first.
    """
    f = prepare(data)
    t = min(pd.Timestamp(as_of).normalize(), f.as_of) if as_of is not None else f.as_of
    if period is None:
        s, e = t - pd.DateOffset(months=12) + pd.Timedelta(days=1), t
    else:
        w = as_window(period)
        s, e = w.start, min(w.end, t)
    keys = [by] if isinstance(by, str) else list(by)
    for k in keys:
        if k not in ("source", "customer_type", "qualified"):
            raise ValueError(f"by must name 'source', 'customer_type' or 'qualified'; got {k!r}")
    leads = window_rows(f.leads, s, e)
    if within is not None:
        leads = leads[leads["rep_id"].isin(f.members(within))]
    leads = leads.assign(is_conv=leads["status"] == "converted", is_open=leads["status"] == "open")
    won = f.won.set_index("opportunity_id")["amount"]
    leads["won_revenue"] = leads["opportunity_id"].map(won).fillna(0.0)
    leads["won_deal"] = leads["opportunity_id"].isin(won.index)
    g = leads.groupby(keys, dropna=False)
    out = pd.DataFrame(
        {
            "leads": g.size(),
            "open": g["is_open"].sum(),
            "converted": g["is_conv"].sum(),
            "won_deals": g["won_deal"].sum(),
            "won_revenue": g["won_revenue"].sum(),
        }
    )
    out["decided"] = out["leads"] - out["open"]
    with np.errstate(invalid="ignore", divide="ignore"):
        out["conversion"] = out["converted"] / out["decided"].where(out["decided"] > 0)
        out["revenue_per_lead"] = out["won_revenue"] / out["leads"]
    out["ci_low"], out["ci_high"] = _wilson(out["converted"], out["decided"])
    out = out.reset_index()
    cols = keys + [
        "leads",
        "open",
        "decided",
        "converted",
        "conversion",
        "ci_low",
        "ci_high",
        "won_deals",
        "won_revenue",
        "revenue_per_lead",
    ]
    return out[cols].sort_values("conversion", ascending=False).reset_index(drop=True)


# --------------------------------------------------------------------------- lead model


def auc(y_true, score) -> float:
    """Area under the ROC curve (the Mann-Whitney statistic; ties count half)."""
    y = np.asarray(y_true, dtype=bool)
    s = np.asarray(score, dtype=float)
    n1, n0 = int(y.sum()), int((~y).sum())
    if n1 == 0 or n0 == 0:
        return float("nan")
    r = stats.rankdata(s)
    return float((r[y].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


@dataclass(frozen=True)
class LeadModel:
    """A fitted lead-conversion model: logistic regression on named features.

    Attributes
    ----------
    features : tuple of str
    coef : ndarray
        One per feature (on standardised ``log_value`` and ``rep_conversion``).
    intercept : float
    sources : tuple of str
        Sources with an indicator; ``base_source`` is the reference.
    base_source : str
    scale : dict
        ``feature → (mean, std)`` for the standardised features.
    rep_rates : dict
        Each rep's shrunk conversion on the training leads; ``company_rate`` otherwise.
    company_rate : float
    cutoff : Timestamp
        Leads created on or before it trained the model; later ones tested it.
    n_train, n_test : int
    auc_train, auc_test : float
        The held-out ``auc_test`` is the honest one.
    auc_test_qualified : float
        The held-out AUC among qualified leads only: how well the model ranks the
        leads a rep would actually work (unqualified leads almost never convert, which
        makes the overall AUC look easy).
    l2 : float
    """

    features: tuple
    coef: np.ndarray = field(repr=False)
    intercept: float
    sources: tuple
    base_source: str
    scale: dict = field(repr=False)
    rep_rates: dict = field(repr=False)
    company_rate: float
    cutoff: pd.Timestamp
    n_train: int
    n_test: int
    auc_train: float
    auc_test: float
    l2: float = 1.0
    auc_test_qualified: float = float("nan")

    def __repr__(self) -> str:
        return (
            f"LeadModel({len(self.features)} features, trained on {self.n_train:,} leads to "
            f"{self.cutoff.date()}, AUC {self.auc_test:.3f} on {self.n_test:,} later leads, "
            f"{self.auc_test_qualified:.3f} among the qualified)"
        )

    @property
    def coefficients(self) -> pd.DataFrame:
        """``feature, coef, odds_ratio``, largest effect first."""
        df = pd.DataFrame({"feature": list(self.features), "coef": self.coef})
        df["odds_ratio"] = np.exp(df["coef"])
        df.loc[len(df)] = ["(intercept)", self.intercept, np.exp(self.intercept)]
        return df.reindex(df["coef"].abs().sort_values(ascending=False).index).reset_index(
            drop=True
        )

    def design(self, leads: pd.DataFrame) -> np.ndarray:
        """The feature matrix of ``leads`` (rows of the ``leads`` fact table)."""
        return _design(leads, self.sources, self.scale, self.rep_rates, self.company_rate)[0]

    def contributions(self, leads: pd.DataFrame) -> np.ndarray:
        """Each feature's term in each lead's log-odds (rows × features)."""
        return self.design(leads) * self.coef

    def predict(self, leads: pd.DataFrame) -> np.ndarray:
        """Probability that each lead converts."""
        z = self.intercept + self.design(leads) @ self.coef
        return 1.0 / (1.0 + np.exp(-z))


def _rep_rates(train: pd.DataFrame, prior: float, strength: float = 20.0) -> dict:
    g = train.groupby("rep_id")["y"].agg(["sum", "count"])
    return ((g["sum"] + strength * prior) / (g["count"] + strength)).to_dict()


def _design(leads, sources, scale, rep_rates, company_rate, loo=None):
    """Feature matrix; ``loo`` (y per row) leaves each training lead out of its rep's rate."""
    n = len(leads)
    cols = {
        "qualified": leads["qualified"].fillna(False).to_numpy(dtype=float),
        "key_account": (leads["customer_type"] == "key_account").to_numpy(dtype=float),
    }
    val = leads["estimated_value"].to_numpy(dtype=float)
    cols["log_value"] = np.log1p(np.where(np.isfinite(val) & (val > 0), val, 0.0))
    rr = leads["rep_id"].map(rep_rates).fillna(company_rate).to_numpy(dtype=float)
    if loo is not None:
        rr = loo
    cols["rep_conversion"] = rr
    for s in sources:
        cols[f"source={s}"] = (leads["source"] == s).to_numpy(dtype=float)
    names = list(cols)
    X = np.column_stack([cols[c] for c in names]) if n else np.zeros((0, len(names)))
    if scale is None:
        scale = {}
        for c in ("log_value", "rep_conversion"):
            j = names.index(c)
            mu, sd = float(X[:, j].mean()), float(X[:, j].std())
            scale[c] = (mu, sd if sd > 0 else 1.0)
    for c, (mu, sd) in scale.items():
        j = names.index(c)
        X[:, j] = (X[:, j] - mu) / sd
    return X, names, scale


def _fit_logistic(X, y, l2):
    """Penalised maximum likelihood (L2 on the coefficients, not the intercept)."""
    n, k = X.shape
    Xi = np.column_stack([np.ones(n), X])

    def loss(w):
        z = Xi @ w
        ll = np.sum(np.logaddexp(0.0, z) - y * z)
        return ll + 0.5 * l2 * np.sum(w[1:] ** 2)

    def grad(w):
        z = Xi @ w
        p = 1.0 / (1.0 + np.exp(-z))
        g = Xi.T @ (p - y)
        g[1:] += l2 * w[1:]
        return g

    w0 = np.zeros(k + 1)
    p0 = min(max(y.mean(), 1e-6), 1 - 1e-6)
    w0[0] = np.log(p0 / (1 - p0))
    res = optimize.minimize(loss, w0, jac=grad, method="L-BFGS-B")
    if not res.success:
        raise RuntimeError(f"the lead model did not converge: {res.message}")
    return res.x[0], res.x[1:]


def fit_lead_model(
    data: DataLike,
    *,
    as_of=None,
    cutoff=None,
    test_months: int = 6,
    history_months: int = 30,
    l2: float = 1.0,
) -> LeadModel:
    """Fit the lead model on history and test it on later-dated leads.

    Parameters
    ----------
    data : Dataset or Facts
    as_of : date-like, optional
        The data's ``as_of`` by default.
    cutoff : date-like, optional
        Train on leads created on or before it; test on decided leads created after.
        Default: ``test_months`` before ``as_of``.
    history_months : int
        How far back before the cutoff training leads reach.
    l2 : float
        Ridge penalty (on standardised features).
    """
    f = prepare(data)
    t = min(pd.Timestamp(as_of).normalize(), f.as_of) if as_of is not None else f.as_of
    cut = (
        pd.Timestamp(cutoff).normalize()
        if cutoff is not None
        else t - pd.DateOffset(months=test_months)
    )
    leads = window_rows(f.leads, cut - pd.DateOffset(months=history_months), t)
    leads = leads[leads["status"].isin(["converted", "disqualified"])].copy()
    leads["y"] = (leads["status"] == "converted").astype(float)
    train = leads[leads["date"] <= cut]
    test = leads[leads["date"] > cut]
    if len(train) < 50 or train["y"].nunique() < 2:
        raise ValueError(
            f"too few decided leads before {cut.date()} to fit a lead model "
            f"({len(train)}; need at least 50 with both outcomes)"
        )
    company = float(train["y"].mean())
    rates = _rep_rates(train, company)
    # training rows: the rep's rate without the lead itself (no leakage of its label)
    g = train.groupby("rep_id")["y"]
    k, n = g.transform("sum").to_numpy(), g.transform("count").to_numpy()
    loo = (k - train["y"].to_numpy() + 20.0 * company) / (n - 1 + 20.0)
    counts = train["source"].value_counts()
    base = str(counts.index[0])
    sources = tuple(sorted(str(s) for s in counts.index[1:]))
    X, names, scale = _design(train, sources, None, rates, company, loo=loo)
    b0, b = _fit_logistic(X, train["y"].to_numpy(), l2)
    model = LeadModel(
        features=tuple(names),
        coef=b,
        intercept=float(b0),
        sources=sources,
        base_source=base,
        scale=scale,
        rep_rates=rates,
        company_rate=company,
        cutoff=cut,
        n_train=len(train),
        n_test=len(test),
        auc_train=float("nan"),
        auc_test=float("nan"),
        l2=l2,
    )
    p_train = 1.0 / (1.0 + np.exp(-(b0 + X @ b)))
    p_test = model.predict(test) if len(test) else np.array([])
    q = test["qualified"].fillna(False).to_numpy(dtype=bool)
    return replace(
        model,
        auc_train=auc(train["y"], p_train),
        auc_test=auc(test["y"], p_test) if len(test) else float("nan"),
        auc_test_qualified=auc(test["y"][q], p_test[q]) if q.any() else float("nan"),
    )


def rank_open_leads(
    data: DataLike, model: LeadModel | None = None, *, as_of=None, within: str | None = None
) -> pd.DataFrame:
    """Open leads ranked by their chance to convert, each with its main reason.

    Parameters
    ----------
    model : LeadModel, optional
        Fitted on the same data by default (:func:`fit_lead_model`).

    Returns
    -------
    DataFrame
        ``rank, lead_id, rep_id, source, customer_type, estimated_value, created_date,
        next_followup_date, p_convert, expected_value, top_reason`` (the feature adding
        most to the log-odds), ``reasons`` (every term, largest first).
    """
    f = prepare(data)
    model = model or fit_lead_model(f, as_of=as_of)
    t = min(pd.Timestamp(as_of).normalize(), f.as_of) if as_of is not None else f.as_of
    leads = f.leads[(f.leads["status"] == "open") & (f.leads["date"] <= t)]
    if within is not None:
        leads = leads[leads["rep_id"].isin(f.members(within))]
    p = model.predict(leads)
    contrib = model.contributions(leads)
    feats = np.array(model.features)
    top = feats[np.argmax(contrib, axis=1)] if len(leads) else np.array([], dtype=object)
    reasons = [", ".join(f"{feats[j]} {c[j]:+.2f}" for j in np.argsort(-c)) for c in contrib]
    out = pd.DataFrame(
        {
            "lead_id": leads["lead_id"].to_numpy(),
            "rep_id": leads["rep_id"].to_numpy(),
            "source": leads["source"].to_numpy(),
            "customer_type": leads["customer_type"].to_numpy(),
            "estimated_value": leads["estimated_value"].to_numpy(dtype=float),
            "created_date": leads["date"].to_numpy(),
            "next_followup_date": leads["next_followup_date"].to_numpy(),
            "p_convert": p,
            "top_reason": top,
            "reasons": reasons,
        }
    )
    out["expected_value"] = out["p_convert"] * out["estimated_value"]
    out = out.sort_values(["p_convert", "estimated_value"], ascending=False).reset_index(drop=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    return out
