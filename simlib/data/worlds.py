"""Independent worlds of CRM exports: a test bench the forecasting model does not assume.

The demo company (:mod:`simlib.data.sample`) is generated with the same story the
calibration tells, so a forecast that covers it proves little. A *world* here is a
different company, built on mechanisms the model does not assume, and written out as
the snapshot a public CRM export would give: opportunities with agent, product,
account, stage, engage and close dates and a value; a table of agents with manager and
office; a price list; an accounts table. Beside the export, ``truth/`` keeps what
really happened, for tests and for checking leaks.

The mechanisms, each switchable on :class:`WorldSpec`:

1. **Rotting pipeline** (``rot``): a share of the deals (drawn per world from 20–35%,
   varying by agent and product) never get a decision. They stay open until the export
   (zombies; about a third of them never leave Prospecting) unless one of their
   office's quarterly clean-up sweeps closes them as lost, months after they were
   created (once 120 days old; each office closes 20–70% of such zombies per sweep; a
   deal closed from Prospecting shows its created date as engage date). Independently, a
   deal that takes longer than its product's usual cycle is less likely to be won
   (``age_penalty`` on the log-odds per unit of log(cycle / median)).
2. **A CRM loaded over its first months** (``load_in``): in the first 3–5 months
   (drawn per world) only a rising share of the deals created is recorded
   (5% … 90%, then all). The others were still sold and lost, off the books.
3. **A market shock** (``shock``): in one quarter of the second half (drawn per world)
   every deal decided in that quarter has its win chance multiplied by 1 ± 0.3 (sign
   drawn per world). Bookings move through the deals, never by editing totals.
4. **Turnover** (``turnover``): 10–15% of the agents leave at random dates. A leaver's
   deals still in Prospecting go to a teammate (same manager); those in Engaging go to
   a teammate with probability ``reassign_share`` (a handover costs 15% of the win
   chance), else they are closed lost within ten days of the leaving date. Each leaver
   is replaced under the same manager 10–60 days later, and ``growth_hires`` more are
   hired; new hires ramp up volume and win chance over ``ramp_days``.
5. **Values that change before closing** (``value_change``): while open a deal is worth
   its product's list price; a won deal books list × lognormal(``value_mu``,
   ``value_sd``) (discounts and scope changes).
6. **Seasonality** (``seasonality``): more deals created in Q4 and fewer in Q1, a deep
   dip in the Spring Festival week, quiet weekends; decisions pulled into the last days
   of a quarter (harder at year end) and pushed out of the festival week. Always on:
   agents differ in skill (win log-odds), volume and product mix; cycle times vary by
   product (median 30–120 days, lognormal, long right tail).
7. **Snapshot only**: the export holds one row per deal, its state on the export date;
   created dates are shown only as the engage date (none for Prospecting), open deals
   carry no amount, the owner is the owner on the export date.

Every random draw is made whatever the switches say (deal creation by thinning a
fixed stream of candidate deals), so two worlds with the same seed and one switch
flipped differ only by that mechanism. numpy and pandas only; nothing here reads a
clock or global random state.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from simlib.data.sample import SPRING_FESTIVAL

__all__ = [
    "WorldSpec",
    "World",
    "Product",
    "generate_world",
    "write_export",
    "open_at",
    "EXPORT_COLUMNS",
]

#: The export's files and their columns, exactly.
EXPORT_COLUMNS: dict[str, tuple[str, ...]] = {
    "sales_pipeline": (
        "opportunity_id",
        "sales_agent",
        "product",
        "account",
        "deal_stage",
        "engage_date",
        "close_date",
        "close_value",
    ),
    "sales_teams": ("sales_agent", "manager", "regional_office"),
    "products": ("product", "series", "sales_price"),
    "accounts": (
        "account",
        "sector",
        "year_established",
        "revenue",
        "employees",
        "office_location",
        "subsidiary_of",
    ),
}


@dataclass(frozen=True)
class Product:
    """One line of the price list, with how its deals behave."""

    name: str
    series: str
    price: float
    cycle_median_days: float  # engage → decision, median
    win: float  # chance a deal decided at its usual cycle is won (average agent)
    weight: float  # share of the deal flow
    rot: float  # multiplier of the world's rot share


DEFAULT_PRODUCTS: tuple[Product, ...] = (
    Product("Nova Basic", "Nova", 55.0, 30, 0.74, 0.22, 0.8),
    Product("Nova Plus", "Nova", 520.0, 40, 0.72, 0.20, 0.85),
    Product("Vega Lite", "Vega", 1_090.0, 50, 0.70, 0.18, 0.95),
    Product("Vega Pro", "Vega", 3_400.0, 70, 0.68, 0.16, 1.0),
    Product("Vega Max", "Vega", 4_850.0, 85, 0.66, 0.12, 1.1),
    Product("Orion 500", "Orion", 5_500.0, 100, 0.63, 0.10, 1.2),
    Product("Orion Enterprise", "Orion", 24_900.0, 120, 0.58, 0.02, 1.3),
)

# Deals created per month, by calendar month (×), before normalisation.
_CREATE_SEASON = (0.85, 0.8, 1.0, 0.95, 0.95, 1.05, 0.9, 0.9, 1.05, 1.1, 1.25, 1.3)
# Monday … Sunday.
_DOW = (1.0, 1.0, 1.0, 1.0, 1.0, 0.12, 0.06)


_FIRST = (
    "Anna Ben Carla Dmitri Elena Farid Grace Hiro Ines Jonas Kira Luis Maya Nikhil Olga "
    "Pavel Quinn Rosa Sami Tara Umar Vera Wen Xavier Yara Zane Alma Boris Cleo Dario Esme "
    "Felix Gita Hugo Ivy Joel Lena Marco Nora Omar Petra Rafael Selma Theo Uma Viktor"
).split()
_LAST = (
    "Abbott Brandt Castillo Dunn Eriksen Fontaine Garza Holm Ibarra Jansen Kowalski Lindqvist "
    "Moreau Novak Okafor Petrov Quintero Rossi Sato Tanaka Ueda Varga Weber Xu Yilmaz Zeller "
    "Alvarez Bianchi Costa Duarte"
).split()
_OFFICES = ("Central", "East", "West", "North")
_SECTORS = (
    "technology",
    "medical",
    "retail",
    "software",
    "finance",
    "marketing",
    "entertainment",
    "telecommunications",
    "services",
    "employment",
)
_LOCATIONS = (
    "United States",
    "United States",
    "United States",
    "Germany",
    "Japan",
    "China",
    "Brazil",
    "Kenya",
    "Norway",
    "Poland",
    "Korea",
    "Italy",
)
_ACCOUNT_A = (
    "Blue Cobalt Bright Cedar Copper Delta Ember Falcon Granite Harbor Iron Juniper Keystone "
    "Lumen Maple Nimbus Onyx Pioneer Quarry Ridge Summit Tidal Umbra Vertex Willow Zenith"
).split()
_ACCOUNT_B = (
    "Systems Labs Works Holdings Logistics Foods Health Media Capital Dynamics Energy Retail "
    "Partners Software Robotics Textiles"
).split()


@dataclass(frozen=True)
class WorldSpec:
    """A world's parameters. ``None`` means drawn per seed (recorded in ``world.json``)."""

    seed: int = 0
    start: dt.date = dt.date(2019, 1, 1)
    export_date: dt.date = dt.date(2021, 12, 31)
    n_agents: int = 30  # on the roster at the start; hires come on top
    n_offices: int = 3
    n_managers: int = 8
    n_accounts: int = 85
    deals_per_agent_month: float = 12.0
    products: tuple[Product, ...] = DEFAULT_PRODUCTS
    skill_sd: float = 0.45  # agents' win log-odds
    volume_sd: float = 0.35  # agents' deal flow (log)
    mix_concentration: float = 12.0  # Dirichlet of an agent's product mix
    engage_median_days: float = 6.0
    cycle_sd: float = 0.75  # log of the cycle time
    # 1. rotting pipeline
    rot: bool = True
    rot_share: float | None = None  # None: uniform 0.20–0.35
    rot_agent_sd: float = 0.3
    rot_prospecting_share: float = 0.3  # of rotting deals, never engaged
    sweep_min_age_days: int = 120  # since created
    sweep_share: tuple[float, float] = (0.2, 0.7)  # per office: old zombies closed per sweep
    age_penalty: float = 0.8  # log-odds per unit of log(cycle / median), beyond it
    # 2. CRM loaded over its first months
    load_in: bool = True
    load_in_months: int | None = None  # None: 3–5
    # 3. market shock
    shock: bool = True
    shock_size: float = 0.3
    shock_sign: int | None = None  # None: ±1
    shock_quarter: str | None = None  # "2021Q2"; None: a quarter of the second half
    # 4. turnover and hires
    turnover: bool = True
    leave_share: float | None = None  # None: uniform 0.10–0.15
    reassign_share: float = 0.6
    handover: float = 0.85
    growth_hires: int = 2
    ramp_days: int = 120
    ramp_win_penalty: float = 0.7
    # 5. values that change before closing
    value_change: bool = True
    value_mu: float = -0.06
    value_sd: float = 0.25
    # 6. seasonality
    seasonality: bool = True
    quarter_end_pull: float = 0.35  # share of decisions early in a quarter pulled back
    year_end_pull: float = 0.5
    # Blank accounts in the export, by stage.
    blank_account_prospecting: float = 0.7
    blank_account_engaging: float = 0.12


@dataclass
class World:
    """A generated world: the export as typed frames, the truth, and its parameters."""

    spec: WorldSpec
    export: dict[str, pd.DataFrame]
    truth: dict[str, pd.DataFrame]
    params: dict = field(default_factory=dict)


# --------------------------------------------------------------------------- helpers

_NEVER = np.iinfo(np.int64).max // 4  # "no such day" in day numbers


def _day(d) -> int:
    return int(np.datetime64(pd.Timestamp(d).date(), "D").astype(np.int64))


def _dates(days: np.ndarray) -> pd.Series:
    """Day numbers (days since 1970) → datetime64, with _NEVER as NaT."""
    days = np.asarray(days, np.int64)
    out = days.astype("datetime64[D]").astype("datetime64[ns]")
    out[days >= _NEVER] = np.datetime64("NaT")
    return pd.Series(out)


def _festival_weeks(first: int, last: int) -> list[tuple[int, int]]:
    """(first day, last day) of each Spring Festival week between two day numbers."""
    weeks = []
    for iso in SPRING_FESTIVAL.values():
        d = _day(iso)
        lo, hi = d - 1, d + 6
        if hi >= first and lo <= last:
            weeks.append((lo, hi))
    return weeks


def _quarter_start(days: np.ndarray) -> np.ndarray:
    p = pd.DatetimeIndex(_dates(days)).to_period("Q").start_time
    return np.asarray(p.values.astype("datetime64[D]").astype(np.int64))


def _names(rng: np.random.Generator, n: int) -> list[str]:
    pairs = [(f, s) for f in _FIRST for s in _LAST]
    idx = rng.choice(len(pairs), size=n, replace=False)
    return [f"{pairs[i][0]} {pairs[i][1]}" for i in idx]


# --------------------------------------------------------------------------- generator


def generate_world(spec: WorldSpec | None = None, **overrides) -> World:
    """Generate the world of ``spec`` (or of ``WorldSpec(**overrides)``); deterministic."""
    spec = replace(spec or WorldSpec(), **overrides)
    ss = np.random.SeedSequence([20261204, int(spec.seed)])
    (r_world, r_org, r_deal, r_turn, r_acct, r_sweep) = (
        np.random.default_rng(s) for s in ss.spawn(6)
    )
    start, end = _day(spec.start), _day(spec.export_date)
    if end <= start + 180:
        raise ValueError("the export date must be at least half a year after the start")
    n_days = end - start + 1
    days = np.arange(start, end + 1)
    products = spec.products
    P = len(products)

    # ---- world-level draws (always drawn, so switches do not shift other streams)
    rot_share = spec.rot_share if spec.rot_share is not None else r_world.uniform(0.20, 0.35)
    load_months = (
        spec.load_in_months if spec.load_in_months is not None else int(r_world.integers(3, 6))
    )
    sign = spec.shock_sign if spec.shock_sign is not None else int(r_world.choice([-1, 1]))
    mid = start + n_days // 2
    quarters = pd.period_range(_dates([mid])[0], spec.export_date, freq="Q")
    quarters = [q for q in quarters if _day(q.start_time) >= mid and _day(q.end_time) <= end]
    if not quarters:  # a short world: the last quarter that ends before the export
        quarters = [pd.Period(spec.export_date, "Q") - 1]
    drawn_q = quarters[int(r_world.integers(len(quarters)))]
    shock_q = pd.Period(spec.shock_quarter, "Q") if spec.shock_quarter else drawn_q
    leave_share = spec.leave_share if spec.leave_share is not None else r_world.uniform(0.10, 0.15)
    load_shares = np.linspace(0.05, 0.9, load_months) if spec.load_in else np.array([])

    # ---- organisation
    n_off = spec.n_offices
    offices = (
        list(_OFFICES[:n_off])
        if n_off <= len(_OFFICES)
        else [f"Office {i + 1}" for i in range(n_off)]
    )
    n_leave = int(round(leave_share * spec.n_agents))
    n_hire = n_leave + spec.growth_hires
    A = spec.n_agents + n_hire
    names = _names(r_org, A + spec.n_managers)
    agent_names, manager_names = names[:A], names[A:]
    mgr_office = np.concatenate(
        [
            np.full(len(c), k)
            for k, c in enumerate(np.array_split(np.arange(spec.n_managers), n_off))
        ]
    )
    manager = np.empty(A, np.int64)
    manager[: spec.n_agents] = r_org.permutation(np.arange(spec.n_agents) % spec.n_managers)
    skill = r_org.normal(0.0, spec.skill_sd, A)
    volume = r_org.lognormal(0.0, spec.volume_sd, A)
    base_w = np.array([p.weight for p in products])
    mix = r_org.dirichlet(base_w / base_w.sum() * spec.mix_concentration * P, size=A)
    rot_agent = r_org.lognormal(0.0, spec.rot_agent_sd, A)
    hire = np.empty(A, np.int64)
    hire[: spec.n_agents] = start - r_org.integers(30, 2000, spec.n_agents)
    leave = np.full(A, _NEVER, np.int64)
    replaces = np.full(A, -1, np.int64)
    # Turnover draws (always made).
    leavers = r_turn.choice(spec.n_agents, size=n_leave, replace=False)
    leave_days = r_turn.integers(start + 90, end - 30, size=n_leave)
    replace_gap = r_turn.integers(10, 61, size=n_leave)
    growth_days = r_turn.integers(start + 180, end - 60, size=max(spec.growth_hires, 0))
    growth_mgr = r_turn.integers(0, spec.n_managers, size=max(spec.growth_hires, 0))
    for k, (a, L) in enumerate(zip(leavers, leave_days, strict=True)):
        h = spec.n_agents + k
        manager[h] = manager[a]
        replaces[h] = a
        if spec.turnover:
            leave[a] = L
            hire[h] = L + replace_gap[k] if L + replace_gap[k] < end - 14 else _NEVER
        else:
            hire[h] = _NEVER
    for k in range(spec.growth_hires):
        h = spec.n_agents + n_leave + k
        manager[h] = growth_mgr[k]
        hire[h] = growth_days[k] if spec.turnover else _NEVER
    office = mgr_office[manager]

    # ---- deal creation: a fixed stream of candidate deals, thinned by the intensity
    months = _dates(days).dt.month.to_numpy()
    dow = _dates(days).dt.day_of_week.to_numpy()
    season = np.array(_CREATE_SEASON)[months - 1] * np.array(_DOW)[dow]
    fest = _festival_weeks(start, end)
    dip = np.ones(n_days)
    for lo, hi in fest:
        dip[(days >= lo) & (days <= hi)] = 0.2
        dip[(days > hi) & (days <= hi + 7)] = 0.6
    intensity = season * dip if spec.seasonality else np.array(_DOW)[dow] * 1.0
    intensity = intensity / intensity.mean()
    bound = 1.05 * max(intensity.max(), 1.0)
    per_day = spec.deals_per_agent_month * 12 / 365.25
    cand = r_deal.poisson(per_day * volume[:, None] * bound, size=(A, n_days))
    ag, di = np.nonzero(cand)
    reps = cand[ag, di]
    ag, di = np.repeat(ag, reps), np.repeat(di, reps)
    N = len(ag)
    # Every per-deal draw, for every candidate.
    u_keep = r_deal.random(N)
    u_prod = r_deal.random(N)
    u_acct = r_acct.random(N)
    z_engage = r_deal.normal(size=N)
    z_cycle = r_deal.normal(size=N)
    u_rot = r_deal.random(N)
    u_rot_pros = r_deal.random(N)
    u_pull = r_deal.random(N)
    u_pull_day = r_deal.random(N)
    u_push = r_deal.random(N)
    u_win = r_deal.random(N)
    z_value = r_deal.normal(size=N)
    u_rec = r_deal.random(N)
    u_blank = r_deal.random(N)
    u_reassign = r_turn.random(N)
    u_mate = r_turn.random(N)
    lost_delay = r_turn.integers(0, 11, N)
    n_years = pd.Timestamp(spec.export_date).year - pd.Timestamp(spec.start).year + 1
    u_sweep = r_sweep.random((N, 4 * n_years))

    created = days[di]
    active = (created >= hire[ag]) & (created < leave[ag])
    tenure = np.where(active, created - hire[ag], 0)
    ramp = np.clip(tenure / spec.ramp_days, 0.0, 1.0)
    keep = active & (u_keep < intensity[di] * (0.25 + 0.75 * ramp) / bound)
    sel = np.nonzero(keep)[0]
    ag, created, ramp = ag[sel], created[sel], ramp[sel]
    (u_prod, u_acct, z_engage, z_cycle, u_rot, u_rot_pros, u_pull, u_pull_day, u_push) = (
        x[sel]
        for x in (u_prod, u_acct, z_engage, z_cycle, u_rot, u_rot_pros, u_pull, u_pull_day, u_push)
    )
    (u_win, z_value, u_rec, u_blank, u_reassign, u_mate, lost_delay, u_sweep) = (
        x[sel] for x in (u_win, z_value, u_rec, u_blank, u_reassign, u_mate, lost_delay, u_sweep)
    )
    n = len(sel)
    order = np.lexsort((ag, created))
    ag, created, ramp = ag[order], created[order], ramp[order]
    (u_prod, u_acct, z_engage, z_cycle, u_rot, u_rot_pros, u_pull, u_pull_day, u_push) = (
        x[order]
        for x in (u_prod, u_acct, z_engage, z_cycle, u_rot, u_rot_pros, u_pull, u_pull_day, u_push)
    )
    (u_win, z_value, u_rec, u_blank, u_reassign, u_mate, lost_delay, u_sweep) = (
        x[order] for x in (u_win, z_value, u_rec, u_blank, u_reassign, u_mate, lost_delay, u_sweep)
    )

    # ---- product, account, engage, rot, natural decision date
    cum = np.cumsum(mix[ag], axis=1)
    prod = np.minimum((u_prod[:, None] > cum).sum(axis=1), P - 1)
    price = np.array([p.price for p in products])[prod]
    med = np.array([p.cycle_median_days for p in products])[prod]
    acct_w = r_acct.lognormal(0.0, 1.0, spec.n_accounts)
    account = np.minimum(
        np.searchsorted(np.cumsum(acct_w) / acct_w.sum(), u_acct), spec.n_accounts - 1
    )
    engage = created + np.round(spec.engage_median_days * np.exp(0.8 * z_engage)).astype(np.int64)
    rot_p = np.clip(
        rot_share * rot_agent[ag] * np.array([p.rot for p in products])[prod], 0.02, 0.7
    )
    rotting = (u_rot < rot_p) if spec.rot else np.zeros(n, bool)
    never_engaged = rotting & (u_rot_pros < spec.rot_prospecting_share)
    engage = np.where(never_engaged, _NEVER, engage)
    cycle = np.maximum(1, np.round(med * np.exp(spec.cycle_sd * z_cycle))).astype(np.int64)
    decide = np.where(rotting, _NEVER, engage + cycle)
    if spec.seasonality:
        dec = ~rotting
        q0 = np.full(n, _NEVER)
        q0[dec] = _quarter_start(decide[dec])
        into = decide - q0
        jan = np.zeros(n, bool)
        jan[dec] = _dates(decide[dec]).dt.month.to_numpy() == 1
        share = np.where(jan, spec.year_end_pull, spec.quarter_end_pull)
        window = np.where(jan, 30, 21)
        pull = dec & (into < window) & (u_pull < share)
        target = q0 - 1 - np.floor(u_pull_day * 10).astype(np.int64)
        decide = np.where(pull, np.maximum(target, engage + 1), decide)
        for lo, hi in fest:
            inside = (decide >= lo) & (decide <= hi)
            decide = np.where(inside, hi + 1 + np.floor(u_push * 4).astype(np.int64), decide)

    # ---- turnover: leavers' open deals go to a teammate or are closed lost
    owner = ag.copy()
    close = decide.copy()
    closed_by = np.where(rotting, "", "decision").astype(object)
    handed = np.zeros(n, bool)
    handed_on = np.full(n, _NEVER, np.int64)
    for a in np.argsort(leave):
        L = leave[a]
        if L >= _NEVER:
            break
        open_ = (owner == a) & (created < L) & (close > L)
        if not open_.any():
            continue
        engaging = open_ & (engage <= L)
        lose = engaging & (u_reassign >= spec.reassign_share)
        close = np.where(lose, L + lost_delay, close)
        closed_by[lose] = "leaver"
        move = open_ & ~lose
        mates = [
            b for b in range(A) if b != a and manager[b] == manager[a] and hire[b] <= L < leave[b]
        ] or [b for b in range(A) if b != a and office[b] == office[a] and hire[b] <= L < leave[b]]
        if not mates:
            mates = [b for b in range(A) if b != a and hire[b] <= L < leave[b]]
        idx = np.nonzero(move)[0]
        owner[idx] = np.array(mates)[np.floor(u_mate[idx] * len(mates)).astype(np.int64)]
        handed[idx] = True
        handed_on[idx] = L

    # ---- clean-up sweeps: once a quarter each office closes some old zombies as lost
    sweeps = []
    office_sweep = r_world.uniform(*spec.sweep_share, size=n_off)
    if spec.rot:
        first_year = pd.Timestamp(spec.start).year
        for o in range(n_off):
            for k in range(4 * n_years):
                y, m = first_year + k // 4, 3 + 3 * (k % 4)
                d = _day(dt.date(y, m, 15)) + int(r_world.integers(-20, 16))
                if start + spec.sweep_min_age_days <= d <= end:
                    sweeps.append((d, o, k))
        sweeps.sort()
        for d, o, k in sweeps:
            old = (
                rotting
                & (office[owner] == o)
                & (created <= d - spec.sweep_min_age_days)
                & (close > d)
            )
            hit = old & (u_sweep[:, k] < office_sweep[o])
            close = np.where(hit, d, close)
            closed_by[hit] = "sweep"
        # A deal closed from Prospecting shows its created date as its engage date.
        engage = np.where(never_engaged & (close < _NEVER), created, engage)

    # ---- outcome of decisions
    base = np.array([p.win for p in products])[prod]
    logit = np.log(base / (1 - base)) + skill[ag] - spec.ramp_win_penalty * (1 - ramp)
    over = np.log(np.maximum(cycle, 1) / med)
    logit = logit - spec.age_penalty * np.maximum(over, 0.0)
    p_win = 1 / (1 + np.exp(-logit))
    p_win = np.where(handed, p_win * spec.handover, p_win)
    dq = np.full(n, "", object)
    dec = closed_by == "decision"
    dq[dec] = pd.PeriodIndex(_dates(close[dec]), freq="Q").astype(str)
    in_shock = dec & (dq == str(shock_q))
    factor = 1 + sign * spec.shock_size if spec.shock else 1.0
    p_final = np.where(in_shock, np.minimum(p_win * factor, 0.97), p_win)
    won = dec & (u_win < p_final)
    won_noshock = dec & (u_win < p_win)
    value_f = np.exp(spec.value_mu + spec.value_sd * z_value) if spec.value_change else np.ones(n)
    final_value = np.where(won, np.round(price * value_f), 0.0)
    final_value = np.where(won, np.maximum(final_value, 1.0), final_value)
    outcome = np.where(won, "won", np.where(close < _NEVER, "lost", "rotting")).astype(object)
    # A deal lost straight from Prospecting (its leaver's, before it engaged) never was.
    engage = np.where((close < _NEVER) & (engage > close), close, engage)

    # ---- the CRM's first months
    cd = pd.DatetimeIndex(_dates(created))
    month_idx = np.asarray((cd.year - spec.start.year) * 12 + cd.month - spec.start.month, np.int64)
    share_rec = np.ones(n)
    early = month_idx < len(load_shares)
    share_rec[early] = load_shares[month_idx[early]]
    recorded = u_rec < share_rec

    # ---- truth tables
    ids = np.array([f"W{spec.seed % 1000:03d}-{i + 1:06d}" for i in range(n)])
    agent_tab = pd.DataFrame(
        {
            "sales_agent": agent_names,
            "manager": [manager_names[m] for m in manager],
            "regional_office": [offices[o] for o in office],
            "hire_date": _dates(hire),
            "leave_date": _dates(leave),
            "skill": np.round(skill, 4),
            "volume": np.round(volume, 4),
            "replaces": [agent_names[r] if r >= 0 else "" for r in replaces],
        }
    )
    hired = hire < _NEVER
    agent_names_arr = np.array(agent_names, object)
    stage_e = np.where(
        close <= end,
        np.where(outcome == "won", "Won", "Lost"),
        np.where(engage <= end, "Engaging", "Prospecting"),
    )
    deals = pd.DataFrame(
        {
            "opportunity_id": ids,
            "recorded": recorded,
            "created_date": _dates(created),
            "engage_date": _dates(engage),
            "product": [products[i].name for i in prod],
            "list_price": price,
            "open_amount": price,
            "p_win": np.round(p_win, 4),
            "rotting": rotting,
            "outcome": outcome,
            "closed_by": closed_by,
            "close_date": _dates(close),
            "close_value": np.where(outcome == "rotting", np.nan, final_value),
            "original_owner": agent_names_arr[ag],
            "handed_over_on": _dates(handed_on),
            "owner_at_export": agent_names_arr[owner],
            "export_stage": stage_e,
            "account_index": account,
        }
    )
    # Stage history (true, up to the export date): created, engaged, closed.
    ev = [
        pd.DataFrame(
            {"opportunity_id": ids, "date": created, "stage": "Prospecting", "amount": price}
        ),
        pd.DataFrame({"opportunity_id": ids, "date": engage, "stage": "Engaging", "amount": price})[
            ~never_engaged
        ],
        pd.DataFrame(
            {
                "opportunity_id": ids,
                "date": close,
                "stage": np.where(won, "Won", "Lost"),
                "amount": final_value,
            }
        ),
    ]
    hist = pd.concat(ev, ignore_index=True)
    hist = hist[hist["date"] <= end].copy()
    rank = hist["stage"].map({"Prospecting": 0, "Engaging": 1, "Won": 2, "Lost": 2})
    hist = hist.assign(_r=rank).sort_values(["date", "_r", "opportunity_id"], kind="stable")
    hist = hist.drop(columns="_r").reset_index(drop=True)
    hist["date"] = _dates(hist["date"].to_numpy())

    # ---- accounts table
    acct_names = []
    pairs = [(x, y) for x in _ACCOUNT_A for y in _ACCOUNT_B]
    for i in r_acct.choice(len(pairs), size=spec.n_accounts, replace=False):
        acct_names.append(f"{pairs[i][0]} {pairs[i][1]}")
    employees = np.round(r_acct.lognormal(7.0, 1.3, spec.n_accounts)).astype(int) + 5
    revenue = np.round(employees * r_acct.lognormal(-1.6, 0.5, spec.n_accounts), 2)
    parent = np.where(
        r_acct.random(spec.n_accounts) < 0.15,
        r_acct.integers(0, spec.n_accounts, spec.n_accounts),
        -1,
    )
    accounts = pd.DataFrame(
        {
            "account": acct_names,
            "sector": r_acct.choice(_SECTORS, spec.n_accounts),
            "year_established": r_acct.integers(1960, 2018, spec.n_accounts),
            "revenue": revenue,
            "employees": employees,
            "office_location": r_acct.choice(_LOCATIONS, spec.n_accounts),
            "subsidiary_of": [
                acct_names[p] if p >= 0 and p != i else "" for i, p in enumerate(parent)
            ],
        }
    )

    # ---- the export: a snapshot on the export date
    x = deals[deals["recorded"] & (deals["created_date"] <= pd.Timestamp(spec.export_date))]
    st = x["export_stage"]
    blank = np.where(
        st == "Prospecting",
        spec.blank_account_prospecting,
        np.where(st == "Engaging", spec.blank_account_engaging, 0.0),
    )
    acct_col = np.array(acct_names, object)[x["account_index"].to_numpy()]
    acct_col = np.where(u_blank[x.index.to_numpy()] < blank, "", acct_col)
    closed = st.isin(["Won", "Lost"])
    pipeline = pd.DataFrame(
        {
            "opportunity_id": x["opportunity_id"].to_numpy(),
            "sales_agent": x["owner_at_export"].to_numpy(),
            "product": x["product"].to_numpy(),
            "account": acct_col,
            "deal_stage": st.to_numpy(),
            "engage_date": x["engage_date"].where(st != "Prospecting").to_numpy(),
            "close_date": x["close_date"].where(closed).to_numpy(),
            "close_value": x["close_value"].where(closed).to_numpy(),
        }
    )
    teams = agent_tab.loc[hired, ["sales_agent", "manager", "regional_office"]].reset_index(
        drop=True
    )
    price_list = pd.DataFrame(
        {
            "product": [p.name for p in products],
            "series": [p.series for p in products],
            "sales_price": [p.price for p in products],
        }
    )
    truth_agents = agent_tab[hired].reset_index(drop=True)

    # ---- parameters and a few realised figures
    in_q = dec & (dq == str(shock_q))
    book_q = final_value[in_q & won].sum()
    book_q0 = np.maximum(np.round(price * value_f), 1.0)[in_q & won_noshock].sum()
    params = {
        "seed": spec.seed,
        "start": spec.start.isoformat(),
        "export_date": spec.export_date.isoformat(),
        "mechanisms": {
            k: getattr(spec, k)
            for k in ("rot", "load_in", "shock", "turnover", "value_change", "seasonality")
        },
        "rot_share": round(float(rot_share), 4) if spec.rot else 0.0,
        "age_penalty": spec.age_penalty,
        "sweep_share_by_office": {
            offices[o]: round(float(office_sweep[o]), 4) for o in range(n_off)
        },
        "sweeps": [
            {"date": str(_dates([d])[0].date()), "office": offices[o]} for d, o, _ in sweeps
        ],
        "load_in_months": len(load_shares),
        "load_in_shares": [round(float(s), 4) for s in load_shares],
        "shock_quarter": str(shock_q) if spec.shock else None,
        "shock_size": sign * spec.shock_size if spec.shock else 0.0,
        "shock_bookings": round(float(book_q), 2),
        "shock_bookings_without": round(float(book_q0), 2),
        "leave_share": round(float(leave_share), 4) if spec.turnover else 0.0,
        "leavers": int((leave < _NEVER).sum()),
        "hires": int(((hire >= start) & (hire < _NEVER)).sum()),
        "reassign_share": spec.reassign_share,
        "open_deals_of_leavers": "Prospecting: to a teammate; Engaging: to a teammate "
        f"with probability {spec.reassign_share}, else closed lost within 10 days",
        "value_mu": spec.value_mu if spec.value_change else 0.0,
        "value_sd": spec.value_sd if spec.value_change else 0.0,
        "deals": int(n),
        "recorded_deals": int(recorded.sum()),
        "export_rows": int(len(pipeline)),
        "spec": _jsonable(asdict(spec)),
    }
    return World(
        spec=spec,
        export={
            "sales_pipeline": pipeline,
            "sales_teams": teams,
            "products": price_list,
            "accounts": accounts,
        },
        truth={
            "deals": deals.drop(columns=["account_index"]).assign(
                account=np.array(acct_names, object)[account]
            ),
            "stage_history": hist,
            "agents": truth_agents,
        },
        params=params,
    )


def _jsonable(x):
    if isinstance(x, dict):
        return {k: _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, (dt.date, pd.Timestamp)):
        return x.isoformat()
    if isinstance(x, np.generic):
        return x.item()
    return x


# --------------------------------------------------------------------------- writing


def _fmt(df: pd.DataFrame) -> pd.DataFrame:
    """Dates as YYYY-MM-DD, amounts with at most 2 decimals, blanks as empty text."""
    out = pd.DataFrame(index=df.index)
    for c in df.columns:
        s = df[c]
        if pd.api.types.is_datetime64_any_dtype(s):
            out[c] = s.dt.strftime("%Y-%m-%d").fillna("")
        elif pd.api.types.is_bool_dtype(s):
            out[c] = s.map({True: "true", False: "false"})
        elif pd.api.types.is_float_dtype(s):
            out[c] = s.map(
                lambda v: "" if pd.isna(v) else f"{round(float(v), 2):.2f}".rstrip("0").rstrip(".")
            )
        else:
            out[c] = s.astype(object).where(s.notna(), "").astype(str)
    return out


def write_export(world: World, folder: str | Path, truth: bool = True) -> Path:
    """Write the export's four CSV files (and ``truth/`` unless ``truth=False``)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, cols in EXPORT_COLUMNS.items():
        df = world.export[name]
        _fmt(df[list(cols)]).to_csv(folder / f"{name}.csv", index=False, lineterminator="\n")
    if truth:
        t = folder / "truth"
        t.mkdir(exist_ok=True)
        for name, df in world.truth.items():
            _fmt(df).to_csv(t / f"{name}.csv", index=False, lineterminator="\n")
        (t / "world.json").write_text(
            json.dumps(world.params, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
    return folder


def open_at(world: World, when) -> pd.DataFrame:
    """The recorded deals open at the end of day ``when``, as a user saw them then.

    The truth of the point-in-time view a forecaster should rebuild from the export:
    each deal's stage that day (Prospecting or Engaging), the amount shown while open
    (the list price), its owner that day, its true created date, and what became of it
    (outcome and close date, possibly after ``when`` or after the export).
    """
    T = pd.Timestamp(when).normalize()
    d = world.truth["deals"]
    m = d["recorded"] & (d["created_date"] <= T) & ~(d["close_date"] <= T)
    o = d[m]
    engaged = o["engage_date"] <= T
    handed = o["handed_over_on"] <= T
    return pd.DataFrame(
        {
            "opportunity_id": o["opportunity_id"],
            "stage": np.where(engaged, "Engaging", "Prospecting"),
            "amount": o["open_amount"],
            "owner": o["owner_at_export"].where(handed, o["original_owner"]),
            "created_date": o["created_date"],
            "product": o["product"],
            "outcome": o["outcome"],
            "close_date": o["close_date"],
            "close_value": o["close_value"],
        }
    ).reset_index(drop=True)
