"""Deal outcomes as competing risks: won, lost, or still open (censored).

A CRM export seen on a date ``T`` holds three kinds of deal: won (at some age), lost (at
some age), and still open at its age on ``T``. Counting only the closed deals overstates
the chance of old open deals (the pipeline that rots never closes, so it never enters
the count); counting the open ones as lost understates young deals' chances. The
Aalen–Johansen estimator uses each deal for as long as it was seen: an open deal is in
the risk set up to its age on ``T`` and then leaves it (censored).

From the estimate, the chance that a deal open at age ``a`` is won between ages
``a + lo`` and ``a + hi`` is ``(F(a + hi) − F(a + lo)) / S(a)``, where ``F`` is the
cumulative incidence of a win and ``S`` the chance of still being open. A deal older
than nearly every deal that ever closed has ``F`` flat ahead of it: its chance is
small, as in a real CRM, where a deal far older than the usual cycle is mostly dead.

Checked against ``lifelines.AalenJohansenFitter`` in the tests.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["CompetingRisks", "aalen_johansen"]


@dataclass(frozen=True)
class CompetingRisks:
    """Step functions of a competing-risks estimate, on the distinct times of the data.

    ``surv[j]`` is the chance of no event by ``times[j]`` (inclusive); ``cif[k, j]`` the
    cumulative incidence of cause ``causes[k]`` by ``times[j]``; ``at_risk[j]`` how many
    were still under observation just before ``times[j]``.
    """

    times: np.ndarray
    at_risk: np.ndarray
    surv: np.ndarray
    cif: np.ndarray
    causes: tuple[int, ...]
    n: int
    sorted_durations: np.ndarray
    cumhaz: np.ndarray  # (K, len(times)) Nelson-Aalen cause-specific cumulative hazards

    def _index(self, x) -> np.ndarray:
        return np.searchsorted(self.times, np.asarray(x, dtype=float), side="right") - 1

    def survival(self, x) -> np.ndarray:
        """P(still open after age ``x``)."""
        i = self._index(x)
        return np.where(i < 0, 1.0, self.surv[np.maximum(i, 0)]) if self.n else np.ones_like(x)

    def incidence(self, x, cause: int = 1) -> np.ndarray:
        """P(closed by ``cause`` at an age ≤ ``x``)."""
        k = self.causes.index(cause)
        i = self._index(x)
        if not self.n or not len(self.times):
            return np.zeros(np.shape(x))
        return np.where(i < 0, 0.0, self.cif[k, np.maximum(i, 0)])

    def hazard(self, x, cause: int = 1) -> np.ndarray:
        """Cause-specific cumulative hazard by age ``x`` (Nelson–Aalen).

        Summed over each deal's age when it left observation (closed or censored), it
        is the number of ``cause`` events the estimate expects of those deals: observed
        over expected is then a fair standardised ratio for a subgroup (a rep).
        """
        k = self.causes.index(cause)
        i = self._index(x)
        if not self.n or not len(self.times):
            return np.zeros(np.shape(x))
        return np.where(i < 0, 0.0, self.cumhaz[k, np.maximum(i, 0)])

    def observed_beyond(self, x) -> np.ndarray:
        """How many deals were seen at an age greater than ``x`` (the evidence there)."""
        d = self.sorted_durations
        return len(d) - np.searchsorted(d, np.asarray(x, dtype=float), side="right")

    def conditional(self, age, lo, hi, cause: int = 1) -> np.ndarray:
        """P(closed by ``cause`` at an age in ``(age + lo, age + hi]`` | open at ``age``)."""
        age = np.asarray(age, dtype=float)
        s = self.survival(age)
        gain = self.incidence(age + hi, cause) - self.incidence(age + lo, cause)
        with np.errstate(divide="ignore", invalid="ignore"):
            p = np.where(s > 1e-12, gain / np.where(s > 1e-12, s, 1.0), 0.0)
        return np.clip(p, 0.0, 1.0)

    def eventual(self, age, cause: int = 1) -> np.ndarray:
        """P(eventually closed by ``cause`` | open at ``age``), over the observed span."""
        return self.conditional(age, 0.0, np.inf, cause)


def aalen_johansen(
    durations, events, causes: tuple[int, ...] = (1, 2), entry=None
) -> CompetingRisks:
    """The Aalen–Johansen estimate of each cause's cumulative incidence.

    Parameters
    ----------
    durations : array_like
        Age at the event, or at the end of observation for censored rows (``>= 0``).
    events : array_like of int
        ``0`` for censored (still open), else the cause (``1`` won, ``2`` lost).
    entry : array_like, optional
        Age from which each row was under observation (delayed entry, left truncation):
        a deal created before a CRM recorded any close is only seen closing from that
        day on, and only because it had not closed before. A row is at risk at age
        ``τ`` when ``entry < τ <= duration``. Default 0 for every row.

    At a time with both events and censoring, events come first (the censored are still
    at risk then), as in the Kaplan–Meier convention.
    """
    t = np.asarray(durations, dtype=float)
    e = np.asarray(events, dtype=np.int64)
    if t.shape != e.shape:
        raise ValueError(f"durations and events differ in length: {t.shape} vs {e.shape}")
    if len(t) and (not np.all(np.isfinite(t)) or t.min() < 0):
        raise ValueError("durations must be finite and >= 0")
    if entry is not None:
        en = np.asarray(entry, dtype=float)
        if en.shape != t.shape:
            raise ValueError(f"entry and durations differ in length: {en.shape} vs {t.shape}")
        if len(en) and (not np.all(np.isfinite(en)) or en.min() < 0 or np.any(en > t)):
            raise ValueError("entry ages must be finite, >= 0 and at most the duration")
    bad = ~np.isin(e, (0, *causes))
    if bad.any():
        raise ValueError(f"unknown event code {e[bad][0]}; expected 0 or one of {causes}")
    order = np.argsort(t, kind="stable")
    ts = t[order]
    if not len(t):
        empty = np.zeros(0)
        none = np.zeros((len(causes), 0))
        return CompetingRisks(empty, empty, empty, none, causes, 0, ts, none)
    times, first = np.unique(ts, return_index=True)
    n = len(t)
    at_risk = (n - first).astype(float)
    if entry is not None:  # not yet under observation: entered at or after the time
        late = np.sort(np.asarray(entry, dtype=float))
        at_risk = at_risk - (len(late) - np.searchsorted(late, times, side="left"))
        at_risk = np.maximum(at_risk, 0.0)
    counts = np.zeros((len(causes), len(times)))
    pos = np.searchsorted(times, t)
    for k, c in enumerate(causes):
        counts[k] = np.bincount(pos[e == c], minlength=len(times))
    d_all = counts.sum(axis=0)
    safe = np.where(at_risk > 0, at_risk, 1.0)  # no one at risk: no event can be there
    surv = np.cumprod(1.0 - d_all / safe)
    before = np.concatenate([[1.0], surv[:-1]])  # S just before each time
    cif = np.cumsum(before[None, :] * counts / safe[None, :], axis=1)
    cumhaz = np.cumsum(counts / safe[None, :], axis=1)
    return CompetingRisks(times, at_risk, surv, cif, tuple(causes), n, ts, cumhaz)
