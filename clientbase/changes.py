"""What a clean must cluster again: the records changed since the last one and every record they may join.

Clustering is decided by keys (phone, INN, email, company domain, the client a record is in) and by
names within a city. The records to look at again are the changed ones, closed under shared keys:
every record carrying a key one of them carries, and every record of their clients, and so on until
nothing new turns up. So each key is judged (hub or not, one INN or two) on all its records, exactly
as a full clustering would. Similar names are looked for around the changed records only, in the
same sorted neighbourhoods the full clustering compares.
"""

from __future__ import annotations

from array import array
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable

import numpy
from rapidfuzz import process
from rapidfuzz.distance import OSA

from clientbase.dedupe import NAME_ORDERS, NAME_WINDOW, edit_cutoff, name_similarity

Key = tuple[str, Hashable]


class CompanyNames:
    """Every usable company record's (city, name), to find the same and similar names of changed records.

    The city is the one the clustering compares the name in: a record's own, or for a record without
    one, the city its own KPP's or INN's tax office places it in. Held as columns of numbers, one row per
    record: a million records' names cost a few arrays and the distinct strings, not a dict entry each.
    """

    def __init__(self, rows: Iterable[tuple[int, str | None, str]]) -> None:
        city_codes: dict[str, int] = {"": 0}  # 0 is no city known: such a name is compared with every city's
        name_codes: dict[str, int] = {}
        ids, cities, names = array("q"), array("q"), array("q")
        for record_id, city, name in rows:
            ids.append(record_id)
            cities.append(city_codes.setdefault(city or "", len(city_codes)))
            names.append(name_codes.setdefault(name, len(name_codes)))
        self.cities, self.names = list(city_codes), list(name_codes)  # code -> city, code -> name
        del city_codes, name_codes
        ids_of, city_of, name_of = (numpy.frombuffer(column, dtype=numpy.int64) for column in (ids, cities, names))
        order = numpy.argsort(ids_of, kind="stable")
        self._ids = ids_of[order]
        self._name_of = name_of[order]
        self._count = max(1, len(self.names))
        self._item_of = city_of[order] * self._count + self._name_of  # (city, name) as one number, an item
        self._distinct_items = _distinct(self._item_of)
        self._orders: dict[Callable[[str], str], tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray]] = {}

    def same_name(self, record_ids: Iterable[int]) -> set[int]:
        """Records with the same name in the same city as any of these, or either without a city: a name
        without a city is listed for review with the same name in any city."""
        cities, names = divmod(self._items(record_ids), self._count)
        cityless = names[cities == 0]
        with_city = cities != 0
        wanted = numpy.concatenate((cities[with_city] * self._count + names[with_city], names[with_city]))
        found = numpy.isin(self._item_of, wanted) | numpy.isin(self._name_of, cityless)
        return set(self._ids[found].tolist())

    def similar_names(self, record_ids: Iterable[int], review_score: float) -> set[int]:
        """Records whose name, in the same city (or either without one), scores review_score or more.

        A name is looked for among its city's names and those without a city, and a name without a city
        among every city's, as the clustering compares it with them. Each such list, sorted, holds the
        neighbourhoods the clustering compares: a block of one city's, or the order of all cities' names
        around a name without one, with only that list's names left in it.
        """
        count = self._count
        seeds = list(zip(*(column.tolist() for column in divmod(self._items(record_ids), count))))
        if not seeds:
            return set()
        cityless = [seed for seed in seeds if not seed[0]]
        sought: dict[int, list[tuple[int, int]]] = defaultdict(list)  # a city -> the seeds looked for among its names
        for seed in seeds:
            if seed[0]:
                sought[seed[0]].append(seed)
                sought[0].append(seed)
        found: set[int] = set()  # items
        for sort_key in NAME_ORDERS:
            rank, starts, items = self._sorted(sort_key)
            cities = range(len(self.cities)) if cityless else sought
            for city in cities:
                start, end = int(starts[city]), int(starts[city + 1])
                if start == end:
                    continue
                ranks = rank[items[start:end] % count]
                for seed_city, name in sought.get(city, []) + cityless:
                    after_equal = self.cities[seed_city] > self.cities[city]
                    position = start + int(numpy.searchsorted(ranks, rank[name], "right" if after_equal else "left"))
                    window = [other for other in (items[max(start, position - NAME_WINDOW):
                                                        min(end, position + NAME_WINDOW + 1)] % count).tolist()
                              if other != name]
                    found.update(city * count + other for other in _close(self.names, window, name, review_score))
        return set(self._ids[numpy.isin(self._item_of, numpy.fromiter(found, numpy.int64, len(found)))].tolist())

    def _items(self, record_ids: Iterable[int]) -> numpy.ndarray:
        """The distinct items of these records, those not held left out."""
        wanted = numpy.fromiter(record_ids, dtype=numpy.int64)
        positions = numpy.searchsorted(self._ids, wanted).clip(0, max(0, len(self._ids) - 1))
        held = self._ids[positions] == wanted if len(self._ids) else numpy.zeros(len(wanted), dtype=bool)
        return _distinct(self._item_of[positions[held]])

    def _sorted(self, sort_key: Callable[[str], str]) -> tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray]:
        """Each name's rank in sort_key's order, and the distinct items in (city, rank) order with where each
        city's start: a sort key is one-to-one on name keys (words joined by single spaces), so a city's
        names sorted by rank are its names sorted by key."""
        if sort_key not in self._orders:
            count = self._count
            keys = list(map(sort_key, self.names))
            rank = numpy.empty(len(self.names), dtype=numpy.int64)
            rank[sorted(range(len(keys)), key=keys.__getitem__)] = numpy.arange(len(keys))
            del keys
            items = self._distinct_items
            cities = items // count
            items = items[numpy.lexsort((rank[items % count], cities))]
            starts = numpy.searchsorted(cities, numpy.arange(len(self.cities) + 1))  # items are sorted by city
            self._orders[sort_key] = rank, starts, items
        return self._orders[sort_key]


def _distinct(values: numpy.ndarray) -> numpy.ndarray:
    """The distinct values, sorted: numpy.unique hashes them first, ten times slower on a million numbers."""
    ordered = numpy.sort(values)
    return ordered[numpy.concatenate(([True], ordered[1:] != ordered[:-1]))] if len(ordered) else ordered


def _close(names: list[str], window: list[int], name: int, review_score: float) -> list[int]:
    """The names of `window` (codes into `names`) that score review_score or more with the name `name`."""
    written = names[name]
    near = process.extract(written, [names[other] for other in window], scorer=OSA.normalized_distance,
                           score_cutoff=edit_cutoff(review_score), limit=None)
    return [window[k] for other, _, k in near if name_similarity(written, other) >= review_score]


def records_to_recheck(
    changed: set[int],
    keys_of: Callable[[set[int]], set[Key]],
    records_with_keys: Callable[[set[Key]], set[int]],
    names: CompanyNames,
    review_score: float,
    limit: int,
) -> set[int] | None:
    """The changed records closed under shared keys, clients and names; None past `limit` records."""
    scope = set(changed)
    frontier = scope | names.similar_names(changed, review_score)
    seen: set[Key] = set()
    while frontier:
        scope |= frontier
        if len(scope) > limit:
            return None
        keys = keys_of(frontier) - seen
        seen |= keys
        frontier = (records_with_keys(keys) | names.same_name(frontier)) - scope
    return scope
