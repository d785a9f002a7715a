"""Segments (active, lost, potential), Pareto tiers, ABCDE classes and key-client dependency."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, Context, Decimal, localcontext
from operator import itemgetter

from clientbase.values import shift


# Not frozen: a clean makes one of each per client, and frozen ones take five times as long to make.
@dataclass(slots=True)
class RankInput:
    client_id: int
    channel: str | None  # ranking is done within a channel; None is its own channel ('')
    profit: float | None  # current profitability; may be negative or missing
    potential: float | None
    last_purchase: date | None
    revenue: float | None = None  # sales, which rank a client whose dump has no profit (1C writes sales)


@dataclass(slots=True)
class Ranked:
    client_id: int
    segment: str  # active | lost | potential
    abcde: str | None  # A..E for active and lost clients; None for potential ones
    profit_tier: str  # max | high | low
    potential_tier: str | None  # None when the client's channel and segment has no potential values
    dependency: str | None  # None | key | critical | mono


@dataclass(frozen=True)
class RankSettings:
    active_days: int = 180
    max_share: float = 0.5
    high_share: float = 0.8
    key_share: float = 0.10
    critical_share: float = 0.20
    mono_share: float = 0.70


@dataclass
class RankResult:
    clients: list[Ranked]  # same order as the input
    profit_only_channels: list[str]  # sorted; ranked by profit alone in at least one segment


def _exact(value: float) -> Decimal:
    # Amounts and shares are read from decimal text: compare them as decimals, so that a client with
    # 0.1 of 0.1 + 0.2 + 0.7 is exactly 10% (float division makes it 10.000000000000002%).
    return Decimal(repr(value))


# Decimals as wide as the amounts need: 28 digits would round 0.6 + 4e-210 to 0.6, and a client just
# over a border would fall under it. Sums and products of decimals are then exact, in any order.
_EXACT = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN)


def _positive(value: float | None) -> bool:
    return value is not None and value > 0  # NaN is not positive either, so it counts as missing


def pareto_tiers(values: Mapping[int, float | None], max_share: float, high_share: float) -> dict[int, str]:
    """Tier of each key: 'max' while the running share of the positive total before it is below
    max_share, then 'high' below high_share, otherwise 'low'; zero, negative or missing is 'low'.

    Equal values get the same tier, that of the first of them (the share before counts only larger
    values), so the order of the input never matters and the largest value is always 'max'.
    """
    tiers = dict.fromkeys(values, "low")
    tiers.update(_positive_tiers([pair for pair in values.items() if _positive(pair[1])], max_share, high_share))
    return tiers


def _positive_tiers(positive: list[tuple[int, float]], max_share: float, high_share: float) -> dict[int, str]:
    """The tiers of the (key, positive value) pairs, which it sorts largest first."""
    positive.sort(key=itemgetter(1), reverse=True)
    found = _ranked_tiers(positive, max_share, high_share, float)
    if found is None:  # decimals always decide
        with localcontext(_EXACT):
            found = _ranked_tiers(positive, max_share, high_share, _exact)
    return found


def _ranked_tiers(positive: list[tuple[int, float]], max_share: float, high_share: float,
                  number: Callable[[float], float | Decimal]) -> dict[int, str] | None:
    """The tiers of the positive (key, value) pairs, largest first, in floats or in exact decimals.

    None from floats when a running share comes within their rounding error of a border, or when
    the total is out of their range: decimals decide then. Floats summing n amounts, each read from
    decimal text, err by less than (n + 4)·2⁻⁵³ of the total; the margin is eight times that.
    """
    amounts = [number(value) for _, value in positive]
    exact = number is not float
    if exact:
        total, before, margin = sum(amounts, Decimal(0)), Decimal(0), None
    else:
        try:
            total, before = math.fsum(amounts), 0.0
        except OverflowError:
            return None
        if not math.isfinite(total):
            return None
        margin = (len(amounts) + 16) * 2.0 ** -50 * total
    max_bound, high_bound = number(max_share) * total, number(high_share) * total
    tiers: dict[int, str] = {}
    previous, tier = None, "low"
    for (key, value), amount in zip(positive, amounts):
        if value != previous:  # equal values take the tier of the first of them
            if not exact and (abs(before - max_bound) <= margin or abs(before - high_bound) <= margin):
                return None
            tier = "max" if before < max_bound else "high" if before < high_bound else "low"
            previous = value
        tiers[key] = tier
        before += amount
    return tiers


def _segment(last_purchase: date | None, active_since: date) -> str:
    if last_purchase is None:
        return "potential"
    return "active" if last_purchase >= active_since else "lost"


def _abcde(profit: float | None, profit_tier: str, potential_tier: str | None) -> str:
    if profit is not None and profit < 0:
        return "E"
    if potential_tier is None:
        return {"max": "A", "high": "B"}.get(profit_tier, "D")
    if profit_tier == "low":
        return "D" if potential_tier == "low" else "C"
    return "A" if profit_tier == potential_tier == "max" else "B"


def _dependencies(clients: Sequence[RankInput], segments: Sequence[str], settings: RankSettings) -> dict[int, str]:
    """The dependency of each client (by position) whose profit is over a share of the company's positive
    total; strictly over: exactly 10% is not key. Profit only: sales are no share of the profit. A lost
    client's profit is past profit, no part of what the company earns now: it counts for no one, and the
    client is never key (a key client never expires, and a lost one would be hoarded).

    Exact decimals decide (see _exact), for the few clients floats cannot rule out: a float total errs by
    a few parts in 10¹⁶, so a profit under the lowest share of it by a part in 10⁹ is under it exactly.
    """
    positive = [(i, c.profit) for i, (c, segment) in enumerate(zip(clients, segments))
                if _positive(c.profit) and segment != "lost"]
    shares = (("mono", settings.mono_share), ("critical", settings.critical_share), ("key", settings.key_share))
    try:
        rough = min(share for _, share in shares) * math.fsum(profit for _, profit in positive) * (1 - 1e-9)
    except OverflowError:
        rough = math.inf
    near = [(i, profit) for i, profit in positive if not profit < rough] if math.isfinite(rough) else positive
    if not near:
        return {}
    with localcontext(_EXACT):
        total = sum((_exact(profit) for _, profit in positive), Decimal(0))
        bounds = [(name, _exact(share) * total) for name, share in shares]
    found = {i: next((name for name, bound in bounds if _exact(profit) > bound), None) for i, profit in near}
    return {i: name for i, name in found.items() if name}


def _tier_positions(tiers: list, members: list[int], values: list[float | None], settings: RankSettings) -> None:
    """Set the tier of each member position whose value is positive; the others stay 'low'."""
    positive = [(i, value) for i in members if (value := values[i]) is not None and value > 0]
    for i, tier in _positive_tiers(positive, settings.max_share, settings.high_share).items():
        tiers[i] = tier


def rank_clients(clients: Sequence[RankInput], as_of: date, settings: RankSettings) -> RankResult:
    """Segment every client, then rank each channel's active clients among themselves, and its lost
    clients among themselves (for win-back), by profit and potential; potential clients get tiers but
    no class. A channel and segment where no client has a potential value is ranked by profit alone.
    Where a client has no profit, its revenue ranks it instead. Dependency compares a client's profit with
    all positive profit across the company, of every client not lost.
    """
    # Inclusive: bought exactly active_days ago is still active; a date after as_of counts as active.
    active_since = shift(as_of, -settings.active_days)
    segments = [_segment(c.last_purchase, active_since) for c in clients]
    ranking = [c.profit if c.profit is not None else c.revenue for c in clients]
    potentials = [c.potential for c in clients]
    # Keyed by position, not client id, so that the mappings cannot collide.
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for index, (client, segment) in enumerate(zip(clients, segments)):
        groups[(client.channel or "", segment)].append(index)

    # By position; a million clients: lists, and tiers worked out for the positive values only.
    profit_tiers = ["low"] * len(clients)
    potential_tiers: list[str | None] = ["low"] * len(clients)
    profit_only: set[str] = set()
    for (channel, segment), members in groups.items():
        _tier_positions(profit_tiers, members, ranking, settings)
        if all(potentials[i] is None for i in members):
            for i in members:
                potential_tiers[i] = None
            if segment != "potential":  # no class is given there, so nothing is ranked by profit alone
                profit_only.add(channel)
        else:
            _tier_positions(potential_tiers, members, potentials, settings)

    dependencies = _dependencies(clients, segments, settings)
    ranked = [
        Ranked(
            client_id=client.client_id,
            segment=segment,
            abcde=None if segment == "potential" else _abcde(ranking[i], profit_tiers[i], potential_tiers[i]),
            profit_tier=profit_tiers[i],
            potential_tier=potential_tiers[i],
            dependency=dependencies.get(i),
        )
        for i, (client, segment) in enumerate(zip(clients, segments))
    ]
    return RankResult(ranked, sorted(profit_only))
