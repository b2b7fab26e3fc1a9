"""Exact money: cent allocation by largest remainder, rounding and formatting.

Simulation works in float arrays; anything a person is paid or held to goes through
this module, so that parts always add up to the whole exactly, to the cent.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from decimal import ROUND_HALF_UP, Decimal

import numpy as np

__all__ = [
    "CURRENCIES",
    "allocate",
    "allocate_cents",
    "to_cents",
    "from_cents",
    "round_money",
    "format_amount",
    "format_money",
    "format_percent",
]

#: symbol, code and how the unit words read; ``wan`` is 10,000 (万), ``yi`` 10^8 (亿).
CURRENCIES: dict[str, dict[str, str]] = {
    "CNY": {"symbol": "¥", "zh_suffix": "元"},
    "USD": {"symbol": "$", "zh_suffix": "美元"},
    "EUR": {"symbol": "€", "zh_suffix": "欧元"},
}


def to_cents(amount: float | int | str | Decimal) -> int:
    """Amount → whole cents, rounding half away from zero (the accounting rule).

    Goes through the shortest decimal repr of a float, so ``to_cents(0.285) == 29``
    as a person reading "0.285" expects (binary 0.285 is slightly below it).
    """
    if isinstance(amount, (float, np.floating)):
        amount = float(amount)
        if not math.isfinite(amount):
            raise ValueError(f"amount must be a finite number; got {amount!r}")
        amount = repr(amount)
    elif isinstance(amount, np.integer):
        amount = int(amount)
    d = Decimal(str(amount)) if not isinstance(amount, Decimal) else amount
    return int((d * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def from_cents(cents: int | np.ndarray) -> float | np.ndarray:
    """Whole cents → amount as float (exact for every amount below 2**53 cents)."""
    if isinstance(cents, np.ndarray):
        return cents.astype(np.float64) / 100.0
    return cents / 100


def round_money(amount: float) -> float:
    """Round an amount to cents, half away from zero."""
    return from_cents(to_cents(amount))


def allocate_cents(total_cents: int, weights: Sequence[float] | np.ndarray) -> np.ndarray:
    """Split ``total_cents`` into whole-cent parts proportional to ``weights``.

    Largest-remainder method with exact rational arithmetic: every part is the floor of
    its exact quota, and the cents left over go one each to the parts with the largest
    remainders. Ties are broken by larger weight, then by position, so equal weights
    in any order receive the same multiset of parts.

    Parameters
    ----------
    total_cents : int
        The whole, in cents; must be a non-negative whole number.
    weights : sequence of float
        Non-negative, finite, not all zero (unless ``total_cents`` is 0).

    Returns
    -------
    numpy.ndarray of int64
        Parts that sum to ``total_cents`` exactly; a zero weight always gets 0.
    """
    if isinstance(total_cents, (bool, np.bool_)) or int(total_cents) != total_cents:
        raise ValueError(f"total_cents must be a whole number of cents; got {total_cents!r}")
    total_cents = int(total_cents)
    if total_cents < 0:
        raise ValueError(f"total_cents must be >= 0; got {total_cents}")
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 1:
        raise ValueError(f"weights must be one-dimensional; got shape {w.shape}")
    if w.size == 0:
        if total_cents:
            raise ValueError("cannot allocate a non-zero amount to no parts")
        return np.zeros(0, dtype=np.int64)
    bad = ~np.isfinite(w) | (w < 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"weights must be finite and >= 0; got weights[{i}] = {float(w[i])!r}")
    if total_cents == 0:
        return np.zeros(w.size, dtype=np.int64)
    # Exact integer arithmetic: every float is m / 2**k, so scaling by the largest 2**k
    # turns all weights into integers with the same ratios (no Fraction objects).
    ratios = [x.as_integer_ratio() for x in w.tolist()]
    k = max(d for _, d in ratios)
    iw = [n * (k // d) for n, d in ratios]
    wsum = sum(iw)
    if wsum == 0:
        raise ValueError("weights sum to 0: there is nothing to allocate by")
    floors, remainders = [], []
    for x in iw:
        q, r = divmod(total_cents * x, wsum)
        floors.append(q)
        remainders.append(r)
    left = total_cents - sum(floors)
    order = sorted(range(len(iw)), key=lambda i: (-remainders[i], -iw[i], i))
    parts = np.asarray(floors, dtype=np.int64)
    for i in order[:left]:
        parts[i] += 1
    return parts


def allocate(total: float | Decimal | str, weights: Sequence[float] | np.ndarray) -> np.ndarray:
    """Split a money amount into parts by weight that sum to it exactly, to the cent.

    >>> allocate(100, [1, 1, 1]).tolist()
    [33.34, 33.33, 33.33]
    >>> float(sum(allocate(1_000_000, [0.6, 0.3, 0.1])))
    1000000.0
    """
    return from_cents(allocate_cents(to_cents(total), weights))


def format_amount(amount: float, decimals: int = 0) -> str:
    """Group thousands with commas: ``1500000 → '1,500,000'``; cents shown if asked."""
    if decimals == 0 and to_cents(amount) % 100 != 0:
        decimals = 2
    return f"{float(round_money(amount)):,.{decimals}f}"


def format_money(
    amount: float,
    currency: str = "CNY",
    lang: str = "en",
    unit: str | None = None,
    decimals: int | None = None,
) -> str:
    """Format money the way a finance reader expects, in English or Chinese.

    Parameters
    ----------
    amount : float
    currency : {"CNY", "USD", "EUR"}
    lang : {"en", "zh-CN"}
    unit : {None, "wan", "yi", "k", "m"}
        ``wan`` shows 万 (10,000), ``yi`` 亿 (10^8); ``k``/``m`` thousands and millions.
    decimals : int, optional
        Digits after the point; defaults to 2 without a unit (0 if whole), 2 with one.

    Examples
    --------
    >>> format_money(50_000_000, "CNY", "zh-CN", unit="wan")
    '5,000万元'
    >>> format_money(1234.5, "USD")
    '$1,234.50'
    >>> format_money(8_000_000, "CNY", "en", unit="m")
    '¥8.00M'
    """
    if currency not in CURRENCIES:
        raise ValueError(f"currency must be one of {sorted(CURRENCIES)}; got {currency!r}")
    if lang not in ("en", "zh-CN"):
        raise ValueError(f"lang must be 'en' or 'zh-CN'; got {lang!r}")
    divisors = {None: 1, "wan": 10_000, "yi": 100_000_000, "k": 1_000, "m": 1_000_000}
    if unit not in divisors:
        raise ValueError(f"unit must be one of None, 'wan', 'yi', 'k', 'm'; got {unit!r}")
    info = CURRENCIES[currency]
    sign = "-" if amount < 0 else ""
    value = abs(float(amount)) / divisors[unit]
    if decimals is None:
        if unit is None:
            decimals = 0 if to_cents(abs(amount)) % 100 == 0 else 2
        else:
            decimals = 0 if value >= 1000 or (value == round(value) and value >= 100) else 2
    body = f"{value:,.{decimals}f}"
    if unit == "wan" or unit == "yi":
        word = "万" if unit == "wan" else "亿"
        if lang == "zh-CN":
            return f"{sign}{body}{word}{info['zh_suffix']}"
        return f"{sign}{info['symbol']}{body}{word}"
    suffix = {None: "", "k": "K", "m": "M"}[unit]
    if lang == "zh-CN" and unit is None:
        return f"{sign}{body}{info['zh_suffix']}"
    return f"{sign}{info['symbol']}{body}{suffix}"


def format_percent(x: float, decimals: int = 1) -> str:
    """0.153 → '15.3%'; NaN → '–'."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{100 * x:.{decimals}f}%"


def sum_cents(amounts: Iterable[float]) -> int:
    """Exact sum of amounts, in cents."""
    return sum(to_cents(a) for a in amounts)
