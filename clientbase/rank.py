"""Segments (active, lost, potential), Pareto tiers, ABCDE classes and key-client dependency."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, Context, Decimal, localcontext
from typing import NamedTuple

import numpy

from clientbase.kept import found, from_parts, to_parts
from clientbase.values import shift


class RankInput(NamedTuple):
    """One client's ranking facts. A clean passes a million rows of the store in this order as plain tuples."""
    client_id: int
    channel: str | None  # ranking is done within a channel; None is its own channel ('')
    profit: float | None  # current profitability; may be negative or missing
    potential: float | None
    last_purchase: str | None  # ISO date
    revenue: float | None = None  # sales, which rank a client whose dump has no profit (1C writes sales)


# The columns of RankInputs, and their types: a million clients cost 40 MB.
_INPUT_COLUMNS = (("ids", numpy.int64), ("channels", numpy.int32), ("profits", numpy.float64),
                  ("potentials", numpy.float64), ("purchases", numpy.int32), ("revenues", numpy.float64))
_INPUT_LISTS = ("channel_list", "purchase_list")


@dataclass(frozen=True)
class RankInputs:
    """Clients' ranking facts (RankInput) as columns, one row per client. A clean keeps every client's: the next
    reads again only the clients whose golden record was written since."""

    ids: numpy.ndarray
    channels: numpy.ndarray  # codes into channel_list; a client without a channel is in channel ""
    profits: numpy.ndarray  # NaN for none
    potentials: numpy.ndarray
    purchases: numpy.ndarray  # codes into purchase_list: ISO days, None for none
    revenues: numpy.ndarray
    channel_list: list[str]
    purchase_list: list[str | None]

    @classmethod
    def read(cls, clients: Iterable[tuple]) -> RankInputs:
        """The columns of these clients (RankInput, or plain tuples in its order), in their order."""
        return cls._encoded(clients, ([], []), ())

    @classmethod
    def _encoded(cls, clients: Iterable[tuple], lists: tuple[list[str], list[str | None]],
                 kept: Sequence[numpy.ndarray]) -> RankInputs:
        """These clients' columns after `kept` (columns whose codes point into `lists`)."""
        channel_codes, purchase_codes = ({value: code for code, value in enumerate(values)} for values in lists)
        ids, channels, profits, potentials, purchases, revenues = tuple(zip(*clients)) or ((),) * len(_INPUT_COLUMNS)
        new = [numpy.array(ids, dtype=numpy.int64),
               numpy.fromiter((channel_codes.setdefault(channel or "", len(channel_codes)) for channel in channels),
                              dtype=numpy.int32, count=len(channels)),
               numpy.array(profits, dtype=numpy.float64),  # None is NaN
               numpy.array(potentials, dtype=numpy.float64),
               numpy.fromiter((purchase_codes.setdefault(day, len(purchase_codes)) for day in purchases),
                              dtype=numpy.int32, count=len(purchases)),
               numpy.array(revenues, dtype=numpy.float64)]
        if kept:
            new = [numpy.concatenate((old, added)) for old, added in zip(kept, new)]
            order = numpy.argsort(new[0], kind="stable")
            new = [column[order] for column in new]
        return cls(*new, list(channel_codes), list(purchase_codes))

    def updated(self, changed: Iterable[int], clients: Iterable[tuple]) -> RankInputs:
        """These inputs, by id, with the `changed` clients' rows replaced by `clients` (those of them that are
        still clients)."""
        kept = ~numpy.isin(self.ids, numpy.fromiter(set(changed), dtype=numpy.int64))
        return self._encoded(clients, (list(self.channel_list), list(self.purchase_list)),
                             [getattr(self, name)[kept] for name, _ in _INPUT_COLUMNS])

    def to_parts(self) -> dict[str, bytes]:
        return to_parts(self, _INPUT_COLUMNS, _INPUT_LISTS)

    @classmethod
    def from_parts(cls, parts: dict[str, bytes]) -> RankInputs:
        return cls(*from_parts(parts, _INPUT_COLUMNS, _INPUT_LISTS))


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
    """Each client's standing, column by column in the order of the input: a million objects would take a
    second to make."""
    client_ids: list[int]
    segments: list[str]  # active | lost | potential
    abcde: list[str | None]  # A..E for active and lost clients; None for potential ones
    profit_tiers: list[str]  # max | high | low
    potential_tiers: list[str | None]  # None when the client's channel and segment has no potential values
    dependencies: list[str | None]  # None | key | critical | mono
    profit_only_channels: list[str]  # sorted; ranked by profit alone in at least one segment
    standing: numpy.ndarray  # each client's segment, class and dependency as one number

    def moved(self, last: KeptRanking) -> list[int]:
        """The clients whose segment, class or dependency is not the one the `last` ranking gave them, or who
        were not ranked there."""
        ids = numpy.asarray(self.client_ids, dtype=numpy.int64)
        positions, held = found(last.inputs.ids, ids)
        if not held.any():
            return ids.tolist()
        return ids[~held | (last.standing[positions] != self.standing)].tolist()


@dataclass(frozen=True)
class KeptRanking:
    """A clean's ranking facts of every client, by id, and the standing its ranking gave each
    (RankResult.standing): the next clean reads again only the clients written since, and tells whose class
    moved without reading every client's."""
    inputs: RankInputs
    standing: numpy.ndarray

    def to_parts(self) -> dict[str, bytes]:
        return {**self.inputs.to_parts(), "standing": self.standing.tobytes()}

    @classmethod
    def from_parts(cls, parts: dict[str, bytes]) -> KeptRanking:
        return cls(RankInputs.from_parts(parts), numpy.frombuffer(parts["standing"], dtype=numpy.int16))


def _exact(value: float) -> Decimal:
    # Amounts and shares are read from decimal text: compare them as decimals, so that a client with
    # 0.1 of 0.1 + 0.2 + 0.7 is exactly 10% (float division makes it 10.000000000000002%).
    return Decimal(repr(value))


# Decimals as wide as the amounts need: 28 digits would round 0.6 + 4e-210 to 0.6, and a client just
# over a border would fall under it. Sums and products of decimals are then exact, in any order.
_EXACT = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN)


# Tiers and segments as small codes in arrays: a million clients are ranked in numpy, not one by one.
_TIERS = ("max", "high", "low", None)
_MAX, _HIGH, _LOW, _NO_TIER = range(4)
_SEGMENTS = ("active", "lost", "potential")
_ACTIVE, _LOST, _POTENTIAL = range(3)
_CLASSES = (None, "A", "B", "C", "D", "E")
_DEPENDENCIES = (None, "key", "critical", "mono")


def _named(codes: numpy.ndarray, names: tuple) -> list:
    return numpy.array(names, dtype=object)[codes].tolist()


def pareto_tiers(values: Mapping[int, float | None], max_share: float, high_share: float) -> dict[int, str]:
    """Tier of each key: 'max' while the running share of the positive total before it is below
    max_share, then 'high' below high_share, otherwise 'low'; zero, negative or missing is 'low'.

    Equal values get the same tier, that of the first of them (the share before counts only larger
    values), so the order of the input never matters and the largest value is always 'max'.
    """
    tiers = numpy.full(len(values), _LOW, dtype=numpy.int8)
    _set_tiers(tiers, numpy.arange(len(values)), numpy.array(list(values.values()), dtype=float),
               max_share, high_share)
    return dict(zip(values, _named(tiers, _TIERS)))


def _set_tiers(tiers: numpy.ndarray, members: numpy.ndarray, values: numpy.ndarray, max_share: float,
               high_share: float) -> None:
    """Set the tier of each member position whose value is positive; the others keep theirs. A missing value is
    NaN, which is not positive."""
    amounts = values[members]
    positive = amounts > 0
    tiers[members[positive]] = _positive_tiers(amounts[positive], max_share, high_share)


def _positive_tiers(values: numpy.ndarray, max_share: float, high_share: float) -> numpy.ndarray:
    """The tier codes of the positive values, in their order."""
    order = numpy.argsort(-values, kind="stable")
    ordered = values[order]
    codes = _float_tiers(ordered, max_share, high_share)
    if codes is None:  # decimals always decide
        with localcontext(_EXACT):
            codes = _exact_tiers(ordered.tolist(), max_share, high_share)
    tiers = numpy.empty(len(values), dtype=numpy.int8)
    tiers[order] = codes
    return tiers


def _float_tiers(ordered: numpy.ndarray, max_share: float, high_share: float) -> numpy.ndarray | None:
    """The tier codes of the positive values, largest first, in floats; None when a running share comes within
    their rounding error of a border, or when the total is out of their range: decimals decide then.

    Floats summing n amounts, each read from decimal text, err by less than (n + 4)·2⁻⁵³ of the total; the
    margin is eight times that. The running sums are added one by one, as cumsum does.
    """
    if not len(ordered):
        return numpy.empty(0, dtype=numpy.int8)
    try:
        total = math.fsum(ordered.tolist())
    except OverflowError:
        return None
    if not math.isfinite(total):
        return None
    margin = (len(ordered) + 16) * 2.0 ** -50 * total
    max_bound, high_bound = max_share * total, high_share * total
    before = numpy.zeros(len(ordered))
    with numpy.errstate(over="ignore"):
        numpy.cumsum(ordered[:-1], out=before[1:])
    first = numpy.ones(len(ordered), dtype=bool)  # equal values take the tier of the first of them
    first[1:] = ordered[1:] != ordered[:-1]
    at_first = before[first]
    if numpy.any((numpy.abs(at_first - max_bound) <= margin) | (numpy.abs(at_first - high_bound) <= margin)):
        return None
    tiers = numpy.where(at_first < max_bound, _MAX, numpy.where(at_first < high_bound, _HIGH, _LOW))
    return tiers[numpy.cumsum(first) - 1]


def _exact_tiers(ordered: list[float], max_share: float, high_share: float) -> list[int]:
    """The tier codes of the positive values, largest first, in exact decimals."""
    amounts = [_exact(value) for value in ordered]
    total = sum(amounts, Decimal(0))
    max_bound, high_bound = _exact(max_share) * total, _exact(high_share) * total
    codes, before, previous, tier = [], Decimal(0), None, _LOW
    for value, amount in zip(ordered, amounts):
        if value != previous:
            tier = _MAX if before < max_bound else _HIGH if before < high_bound else _LOW
            previous = value
        codes.append(tier)
        before += amount
    return codes


def _dependencies(profits: list[float], counted: numpy.ndarray, settings: RankSettings) -> numpy.ndarray:
    """The dependency of each client (by position) whose profit is over a share of the company's positive
    total; strictly over: exactly 10% is not key. `counted`: the clients whose profit counts, those with a
    positive one and not lost. Profit only: sales are no share of the profit. A lost client's profit is past
    profit, no part of what the company earns now: it counts for no one, and the client is never key (a key
    client never expires, and a lost one would be hoarded).

    Exact decimals decide (see _exact), for the few clients floats cannot rule out: a float total errs by
    a few parts in 10¹⁶, so a profit under the lowest share of it by a part in 10⁹ is under it exactly.
    """
    found = numpy.zeros(len(profits), dtype=numpy.int8)  # codes into _DEPENDENCIES
    positive = [profits[i] for i in numpy.flatnonzero(counted).tolist()]
    shares = (("mono", settings.mono_share), ("critical", settings.critical_share), ("key", settings.key_share))
    try:
        rough = min(share for _, share in shares) * math.fsum(positive) * (1 - 1e-9)
    except OverflowError:
        rough = math.inf
    if math.isfinite(rough):
        counted = counted & ~(numpy.array(profits) < rough)
    near = numpy.flatnonzero(counted).tolist()
    if not near:
        return found
    with localcontext(_EXACT):
        total = sum(map(_exact, positive), Decimal(0))
        bounds = [(name, _exact(share) * total) for name, share in shares]
        for i in near:
            amount = _exact(profits[i])
            found[i] = _DEPENDENCIES.index(next((name for name, bound in bounds if amount > bound), None))
    return found


def _classes(segments: numpy.ndarray, ranking: numpy.ndarray, profit_tiers: numpy.ndarray,
             potential_tiers: numpy.ndarray) -> numpy.ndarray:
    """ABCDE of each client, as codes into _CLASSES: E for a loss; by profit alone where its channel and segment
    has no potentials; none for a potential client."""
    alone = potential_tiers == _NO_TIER
    low_profit = profit_tiers == _LOW
    codes = numpy.select(
        [segments == _POTENTIAL, ranking < 0,
         alone & (profit_tiers == _MAX), alone & (profit_tiers == _HIGH), alone,
         low_profit & (potential_tiers == _LOW), low_profit,
         (profit_tiers == _MAX) & (potential_tiers == _MAX)],
        [_CLASSES.index(abcde) for abcde in (None, "E", "A", "B", "D", "D", "C", "A")], default=_CLASSES.index("B"))
    return codes.astype(numpy.int8)


def _groups(keys: numpy.ndarray) -> list[numpy.ndarray]:
    """The positions of each key's members, in input order."""
    order = numpy.argsort(keys, kind="stable")
    ordered = keys[order]
    starts = numpy.flatnonzero(numpy.concatenate(([True], ordered[1:] != ordered[:-1])))
    return numpy.split(order, starts[1:])


def rank_clients(clients: RankInputs | Iterable[tuple], as_of: date, settings: RankSettings) -> RankResult:
    """Segment every client, then rank each channel's active clients among themselves, and its lost
    clients among themselves (for win-back), by profit and potential; potential clients get tiers but
    no class. A channel and segment where no client has a potential value is ranked by profit alone.
    Where a client has no profit, its revenue ranks it instead. Dependency compares a client's profit with
    all positive profit across the company, of every client not lost.

    `clients` are RankInputs, or RankInput or plain tuples in its order; the result is in their order.
    """
    inputs = clients if isinstance(clients, RankInputs) else RankInputs.read(clients)
    if not len(inputs.ids):
        return RankResult([], [], [], [], [], [], [], numpy.empty(0, dtype=numpy.int16))
    # Inclusive: bought exactly active_days ago is still active; a date after as_of counts as active.
    active_since = shift(as_of, -settings.active_days).isoformat()
    segment_of = numpy.array([_POTENTIAL if bought is None else _ACTIVE if bought >= active_since else _LOST
                              for bought in inputs.purchase_list], dtype=numpy.int8)
    segments = segment_of[inputs.purchases]
    profit = inputs.profits
    ranking = numpy.where(numpy.isnan(profit), inputs.revenues, profit)
    potential = inputs.potentials
    channel_of = inputs.channels.astype(numpy.int64)

    profit_tiers = numpy.full(len(inputs.ids), _LOW, dtype=numpy.int8)
    potential_tiers = numpy.full(len(inputs.ids), _LOW, dtype=numpy.int8)
    profit_only: set[str] = set()
    for members in _groups(channel_of * len(_SEGMENTS) + segments):
        _set_tiers(profit_tiers, members, ranking, settings.max_share, settings.high_share)
        if numpy.isnan(potential[members]).all():
            potential_tiers[members] = _NO_TIER
            if segments[members[0]] != _POTENTIAL:  # no class is given there, so nothing is ranked by profit alone
                profit_only.add(inputs.channel_list[channel_of[members[0]]])
        else:
            _set_tiers(potential_tiers, members, potential, settings.max_share, settings.high_share)

    classes = _classes(segments, ranking, profit_tiers, potential_tiers)
    dependencies = _dependencies(profit.tolist(), (profit > 0) & (segments != _LOST), settings)
    return RankResult(
        client_ids=inputs.ids.tolist(),
        segments=_named(segments, _SEGMENTS),
        abcde=_named(classes, _CLASSES),
        profit_tiers=_named(profit_tiers, _TIERS),
        potential_tiers=_named(potential_tiers, _TIERS),
        dependencies=_named(dependencies, _DEPENDENCIES),
        profit_only_channels=sorted(profit_only),
        standing=(segments.astype(numpy.int16) * len(_CLASSES) + classes) * len(_DEPENDENCIES) + dependencies,
    )
