"""What a clean must cluster again: the records changed since the last one and every record they may join.

Clustering is decided by keys (phone, INN, email, company domain, the client a record is in) and by
names within a city. The records to look at again are the changed ones, closed under shared keys:
every record carrying a key one of them carries, and every record of their clients, and so on until
nothing new turns up. So each key is judged (hub or not, one INN or two) on all its records, exactly
as a full clustering would. Only the changed records' keys are looked up in the base: each clean keeps
every record's component under keys and clients, which with its same names is all an unchanged record
can reach.
Similar names are looked for around the changed records only, in the same sorted neighbourhoods the
full clustering compares. Only those that may join them are clustered: the others can only be listed for review
with them, and those pairs are listed as the full clustering would.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, replace
from functools import cached_property

import numpy
from rapidfuzz import process
from rapidfuzz.distance import OSA

from clientbase.dedupe import (BLOCK_LETTERS, NAME_ORDERS, NAME_WINDOW, Pair, components, edit_cutoff,
                               name_similarity, office_majority, similarity_as_written)
from clientbase.kept import found, from_parts, to_parts
from clientbase.workers import cores

Key = tuple[str, Hashable]


# A usable record as the store reads it: (record id, city key or None, whether its city is blank, KPP,
# valid INN, company name key: None for a person or a record without a name).
PlaceRow = tuple[int, str | None, int, str | None, str | None, str | None]

# The columns of PlaceRows, and their types: a million records cost 41 MB.
_COLUMNS = (("ids", numpy.int64), ("cities", numpy.int32), ("blank", numpy.int8), ("kpp_offices", numpy.int32),
            ("inn_offices", numpy.int32), ("inns", numpy.int64), ("names", numpy.int32), ("components", numpy.int64))


@dataclass(frozen=True)
class PlaceRows:
    """Where each usable record is, and the company it names, as columns of numbers, one row per record.

    They give the tax offices' cities (offices), the company names (CompanyNames) and each record's
    component (joined_records) that a clustering of part of the base needs from the whole of it. The last
    clean keeps them in the base: the next one reads again only the records changed since.
    """

    ids: numpy.ndarray  # sorted
    cities: numpy.ndarray  # codes into city_list; 0 ("") for none
    blank: numpy.ndarray  # 1 where the city is blank: its KPP's or INN's tax office may place the record
    kpp_offices: numpy.ndarray  # the KPP's and the valid INN's first four digits, codes into office_list; 0 ("") for none
    inn_offices: numpy.ndarray
    inns: numpy.ndarray  # a valid INN (10 or 12 ASCII digits) as 2 × its digits, + 1 for 12 of them, + 1; 0 for none
    names: numpy.ndarray  # codes into name_list; -1 for a person or a record without a name
    # The record's component as the last clean left it (joined_records): the smallest record id in it; -1 for a
    # record read since, which the next clean clusters again.
    components: numpy.ndarray
    city_list: list[str]
    office_list: list[str]
    name_list: list[str]
    # Each of NAME_ORDERS as the codes of name_list in its order: kept, a night's new names cost a bisection
    # each, where sorting them all took 0.2 s an order.
    name_orders: tuple[numpy.ndarray, ...]

    @classmethod
    def read(cls, rows: Iterable[PlaceRow]) -> PlaceRows:
        return cls._encoded(rows, ([""], [""], []), (), [numpy.empty(0, dtype=numpy.int32)] * len(NAME_ORDERS))

    @classmethod
    def _encoded(cls, rows: Iterable[PlaceRow], lists: tuple[list[str], list[str], list[str]],
                 kept: Sequence[numpy.ndarray], name_orders: Sequence[numpy.ndarray]) -> PlaceRows:
        """These rows' columns after `kept` (columns whose codes point into `lists`), sorted by record, and the
        names' orders, `name_orders` of the names of `lists` with the new names put in their places."""
        city_codes, office_codes, name_codes = ({value: code for code, value in enumerate(values)} for values in lists)
        columns = [array("q") for _ in _COLUMNS]
        ids, cities, blank, kpp_offices, inn_offices, inns, names, components = columns
        for record_id, city, blank_city, kpp, inn, name in rows:
            ids.append(record_id)
            cities.append(city_codes.setdefault(city or "", len(city_codes)))
            blank.append(blank_city)
            kpp_offices.append(office_codes.setdefault(kpp[:4] if kpp else "", len(office_codes)))
            inn_offices.append(office_codes.setdefault(inn[:4] if inn else "", len(office_codes)))
            inns.append(2 * int(inn) + (len(inn) == 12) + 1 if inn else 0)
            names.append(name_codes.setdefault(name, len(name_codes)) if name else -1)
            components.append(-1)
        new = [numpy.frombuffer(column, dtype=numpy.int64).astype(dtype) for column, (_, dtype) in zip(columns, _COLUMNS)]
        if kept:
            new = [numpy.concatenate((old, added)) for old, added in zip(kept, new)]
        order = numpy.argsort(new[0], kind="stable")
        name_list = list(name_codes)
        return cls(*(column[order] for column in new), list(city_codes), list(office_codes), name_list,
                   tuple(_with_new_names(name_order, name_list, len(lists[2]), sort_key)
                         for name_order, sort_key in zip(name_orders, NAME_ORDERS)))

    def updated(self, changed: Iterable[int], rows: Iterable[PlaceRow]) -> tuple[PlaceRows, PlaceRows]:
        """These places with the `changed` records' rows replaced by `rows` (as the base now reads those of
        them still usable), and no city, office or name left that no record carries; and the rows replaced, as
        they were, in the codes of the places returned: a city no record carries now is -1, an office 0, and a name
        no other record carries -1 (only changed records hold it, and the rows are read for their namesakes)."""
        changed = numpy.fromiter(set(changed), dtype=numpy.int64)
        kept = ~numpy.isin(self.ids, changed)
        ids, cities, blank, kpp_offices, inn_offices, inns, names, components = (
            getattr(self, name)[kept] for name, _ in _COLUMNS)
        city_list, (cities,), _ = _compacted(self.city_list, (cities,), always=(0,))
        office_list, (kpp_offices, inn_offices), _ = _compacted(self.office_list, (kpp_offices, inn_offices), always=(0,))
        name_list, (names,), new_name = _compacted(self.name_list, (names,))
        name_orders = [new_name[name_order][new_name[name_order] >= 0] for name_order in self.name_orders]
        places = self._encoded(rows, (city_list, office_list, name_list),
                               (ids, cities, blank, kpp_offices, inn_offices, inns, names, components), name_orders)
        gone = ~kept
        # A city or office the changed records alone carried may be back in the lists, read from their new rows.
        city_now, office_now = ({value: code for code, value in enumerate(values)}
                                for values in (places.city_list, places.office_list))
        former = replace(places, ids=self.ids[gone],
                         cities=_recoded(self.cities[gone], self.city_list, city_now, -1), blank=self.blank[gone],
                         kpp_offices=_recoded(self.kpp_offices[gone], self.office_list, office_now, 0),
                         inn_offices=_recoded(self.inn_offices[gone], self.office_list, office_now, 0),
                         inns=self.inns[gone], names=numpy.append(new_name, -1)[self.names[gone]],  # no name: -1 still
                         components=self.components[gone])
        return places, former

    def offices(self) -> dict[str, str]:
        """The city of each tax office these records show, as office_cities tells it."""
        count = len(self.city_list)
        placed = self.cities != 0
        by_kpp = placed & (self.kpp_offices != 0)
        kpp_pairs = self.kpp_offices[by_kpp].astype(numpy.int64) * count + self.cities[by_kpp]
        by_inn = placed & (self.inns != 0)
        inns, cities, offices = self.inns[by_inn], self.cities[by_inn], self.inn_offices[by_inn]
        order = numpy.lexsort((cities, inns))
        inns, cities, offices = inns[order], cities[order], offices[order]
        first = numpy.ones(len(inns), dtype=bool)  # of each distinct (INN, city): a company counts once in a city
        first[1:] = (inns[1:] != inns[:-1]) | (cities[1:] != cities[:-1])
        inn_pairs = offices[first].astype(numpy.int64) * count + cities[first]
        pairs, counts = numpy.unique(numpy.concatenate((kpp_pairs, inn_pairs)), return_counts=True)
        office_codes, city_codes = divmod(pairs, count)
        return office_majority(((self.office_list[office], self.city_list[city]), n) for office, city, n
                               in zip(office_codes.tolist(), city_codes.tolist(), counts.tolist()))

    def with_components(self, record_ids: numpy.ndarray, components: numpy.ndarray) -> PlaceRows:
        """These places with the given records' components replaced."""
        positions, held = found(self.ids, record_ids)
        if not held.all():
            raise ValueError("a record clustered is not among the usable records' places")
        updated = self.components.copy()
        updated[positions] = components
        return replace(self, components=updated)

    def joined(self, record_ids: Iterable[int]) -> set[int]:
        """Every record in the components these records were in at the last clean (one read since is in none)."""
        positions, held = found(self.ids, numpy.fromiter(record_ids, dtype=numpy.int64))
        wanted = self.components[positions[held]]
        wanted = wanted[wanted >= 0]
        if not len(wanted):
            return set()
        # A table of the components' range (record ids): sorting a million components took longer, and more memory.
        return set(self.ids[numpy.isin(self.components, wanted, kind="table")].tolist())

    def usable(self, record_ids: Iterable[int]) -> set[int]:
        """Those of these records that are usable: held here."""
        wanted = numpy.fromiter(record_ids, dtype=numpy.int64)
        return set(wanted[found(self.ids, wanted)[1]].tolist())

    def to_parts(self) -> dict[str, bytes]:
        return {**to_parts(self, _COLUMNS, _LISTS), "name_orders": numpy.concatenate(self.name_orders).tobytes()}

    @classmethod
    def from_parts(cls, parts: dict[str, bytes]) -> PlaceRows:
        orders = numpy.frombuffer(parts["name_orders"], dtype=numpy.int32).reshape(len(NAME_ORDERS), -1)
        return cls(*from_parts(parts, _COLUMNS, _LISTS), tuple(orders))


_LISTS = ("city_list", "office_list", "name_list")
# Pairs of names compared at a time: rapidfuzz holds a copy of every string it is given.
_COMPARED_SLICE = 65_536


def _compacted(values: list[str], columns: Sequence[numpy.ndarray], always: Sequence[int] = ()
               ) -> tuple[list[str], list[numpy.ndarray], numpy.ndarray]:
    """The values the columns' codes (and `always`) point at, the columns' codes into them (a negative code,
    none, stays), and each value's new code, -1 for one dropped."""
    used = numpy.zeros(len(values), dtype=bool)  # marked code by code: sorting a million codes took 0.3 s
    used[list(always)] = True
    for column in columns:
        used[column[column >= 0]] = True
    new_code = numpy.where(used, numpy.cumsum(used) - 1, -1).astype(columns[0].dtype)
    recoded = [column.copy() for column in columns]
    for column in recoded:
        coded = column >= 0
        column[coded] = new_code[column[coded]]
    return [value for value, kept in zip(values, used.tolist()) if kept], recoded, new_code


def _recoded(codes: numpy.ndarray, values: list[str], now: dict[str, int], missing: int) -> numpy.ndarray:
    """These codes into `values` as codes into the values `now` numbers, `missing` for a value it lacks."""
    return numpy.array([now.get(values[code], missing) for code in codes.tolist()], dtype=codes.dtype)


def _with_new_names(name_order: numpy.ndarray, names: list[str], first_new: int, sort_key: Callable[[str], str]
                    ) -> numpy.ndarray:
    """`name_order`, the codes of names[:first_new] in sort_key's order, with those of the names from
    first_new on put in their places."""
    new_keys = [sort_key(name) for name in names[first_new:]]
    new = sorted(range(len(new_keys)), key=new_keys.__getitem__)
    kept = name_order.tolist()
    places = [bisect_left(kept, new_keys[k], key=lambda code: sort_key(names[code])) for k in new] if kept else 0
    return numpy.insert(name_order, places, numpy.array(new, dtype=numpy.int32) + first_new).astype(numpy.int32)


@dataclass(frozen=True)
class SimilarNames:
    """Pairs of (city, name) items (see CompanyNames), as columns: an item of the records looked for (a seed), an
    item whose name scores review_score or more with it, and the score."""

    seeds: numpy.ndarray
    items: numpy.ndarray
    scores: numpy.ndarray

    @classmethod
    def none(cls) -> SimilarNames:
        return cls(numpy.empty(0, numpy.int64), numpy.empty(0, numpy.int64), numpy.empty(0, numpy.float64))


@dataclass(frozen=True)
class PartEdge:
    """The pairs to review between a clustered part and the rest of the base, as a full clustering lists them.

    `relisted` holds the part's records whose pairs across the edge these are, all of them: the changed records and
    their namesakes. A pair across the edge kept from the last clean stands only for another record of the part."""

    pairs: list[Pair]
    relisted: set[int]

    @classmethod
    def none(cls) -> PartEdge:
        return cls([], set())


class CompanyNames:
    """Every usable company record's (city, name), to find the same and similar names of changed records.

    The city is the one the clustering compares the name in: a record's own, or for a record with a blank
    one, the city its own KPP's or INN's tax office places it in (`offices`, see office_cities). Held as
    columns of numbers, one row per record: a million records' names cost a few arrays and the distinct
    strings, not a dict entry each.
    """

    def __init__(self, places: PlaceRows, offices: dict[str, str]) -> None:
        city_codes = {city: code for code, city in enumerate(places.city_list)}  # 0, "": no city known
        self._home = numpy.array([city_codes.setdefault(city, len(city_codes)) if (city := offices.get(office)) else 0
                                  for office in places.office_list], dtype=numpy.int64)  # an office's city code
        self.cities, self.names = list(city_codes), places.name_list  # code -> city, code -> name
        self._count = max(1, len(self.names))
        named = places.names >= 0
        self._ids = places.ids[named]
        self._blank, self._inns = places.blank[named], places.inns[named]
        self._name_of = places.names[named].astype(numpy.int64)
        self._item_of = self._items_held(places, named)
        # Each record's item as its place among the distinct ones, so that a lookup is in a table, not a sort.
        self._distinct_items, self._item_places = _distinct_places(self._item_of)
        self._name_orders = places.name_orders

    def _items_held(self, places: PlaceRows, rows: numpy.ndarray) -> numpy.ndarray:
        """The item of each of these rows of places in these names' codes: (city, name) as one number."""
        by_kpp, by_inn = self._home[places.kpp_offices[rows]], self._home[places.inn_offices[rows]]
        city_of = numpy.where(places.blank[rows] != 0, numpy.where(by_kpp != 0, by_kpp, by_inn), places.cities[rows])
        return city_of.astype(numpy.int64) * self._count + places.names[rows]

    def same_name(self, record_ids: Iterable[int]) -> set[int]:
        """Records with the same name in the same city as any of these, or either without a city: a name
        without a city is listed for review with the same name in any city."""
        cities, names = divmod(self._items(record_ids), self._count)
        cityless = names[cities == 0]
        with_city = cities != 0
        wanted = numpy.concatenate((cities[with_city] * self._count + names[with_city], names[with_city]))
        return set(self._ids[self._holding(wanted) | numpy.isin(self._name_of, cityless, kind="table")].tolist())

    def former_namesakes(self, former: PlaceRows) -> set[int]:
        """Records with the same name in the same city as these rows (the rows replaced, as PlaceRows.updated returns
        them), or without a city: a record that leaves a name may have kept its namesakes apart, as a second INN
        carrying it in the city does, or counted among the cities a name without one is found in. A row without a
        city keeps none apart in a city: only its namesakes without one are looked for."""
        items = self._items_held(former, former.names >= 0)
        cities, names = divmod(items, self._count)  # a city no record carries now: -1
        return self.holders(numpy.concatenate((items[cities > 0], names)))  # (0, name): the name without a city

    def similar_names(self, record_ids: Iterable[int], review_score: float) -> set[int]:
        """Records whose name, in the same city (or either without one), scores review_score or more."""
        return self.holders(self.similar_pairs(record_ids, review_score).items)

    def similar_pairs(self, record_ids: Iterable[int], review_score: float) -> SimilarNames:
        """The items of these records and the items whose name, in the same city (or either without one), scores
        review_score or more with theirs.

        A name is looked for among its city's names and those without a city, and a name without a city
        among every city's, as the clustering compares it with them. Each such list, sorted, holds the
        neighbourhoods the clustering compares: a block of one city's, or the order of all cities' names
        around a name without one, with only that list's names left in it.
        """
        count = self._count
        seed_items = self._items(record_ids)
        seeds = list(zip(*(column.tolist() for column in divmod(seed_items, count))))
        if not seeds:
            return SimilarNames.none()
        seed_number = {seed: k for k, seed in enumerate(seeds)}
        cityless = [seed for seed in seeds if not seed[0]]
        sought: dict[int, list[tuple[int, int]]] = defaultdict(list)  # a city -> the seeds looked for among its names
        for seed in seeds:
            if seed[0]:
                sought[seed[0]].append(seed)
                sought[0].append(seed)
        # Each seed's name and the items of its windows, compared at once: a rapidfuzz call per window cost more
        # than the comparing.
        seed_numbers, candidates = [], []
        for rank, starts, items in self._orders:
            cities = range(len(self.cities)) if cityless else sought
            for city in cities:
                start, end = int(starts[city]), int(starts[city + 1])
                if start == end:
                    continue
                seeds_here = sought.get(city, []) + cityless
                names_here = items[start:end] % count
                sought_names = numpy.array([name for _, name in seeds_here], dtype=numpy.int64)
                ranks, seed_ranks = rank[names_here], rank[sought_names]
                after_equal = numpy.array([self.cities[seed_city] > self.cities[city] for seed_city, _ in seeds_here])
                positions = numpy.where(after_equal, numpy.searchsorted(ranks, seed_ranks, "right"),
                                        numpy.searchsorted(ranks, seed_ranks, "left"))
                places = positions[:, None] + numpy.arange(-NAME_WINDOW, NAME_WINDOW + 1)
                windows = numpy.where((places >= 0) & (places < end - start),
                                      names_here[places.clip(0, end - start - 1)], -1)
                wanted = (windows >= 0) & (windows != sought_names[:, None])
                numbers = numpy.array([seed_number[seed] for seed in seeds_here], dtype=numpy.int64)
                seed_numbers.append(numpy.broadcast_to(numbers[:, None], windows.shape)[wanted])
                candidates.append(city * count + windows[wanted])
        if not candidates:
            return SimilarNames.none()
        # Each (seed, item) pair once, as one number: both name orders find most of them. The items by their place
        # among those found keep the number far from overflowing (a lexsort took ten times longer).
        compared = numpy.concatenate(candidates)
        distinct = _distinct(compared)
        pair_seeds, pair_items = divmod(_distinct(numpy.concatenate(seed_numbers) * len(distinct)
                                                  + numpy.searchsorted(distinct, compared)), len(distinct))
        seed_items = seed_items[pair_seeds]
        close, scores = _close(self.names, seed_items % count, distinct[pair_items], count, review_score)
        return SimilarNames(seed_items[close], distinct[pair_items][close], scores)

    def namesakes(self, record_ids: Iterable[int]) -> set[int]:
        """The records with the same name in the same city as any of these, as the clustering places them."""
        return self.holders(self._items(record_ids))

    def holders(self, items: numpy.ndarray) -> set[int]:
        """The records holding these items."""
        return set(self._ids[self._holding(items)].tolist())

    def pairs_to_review_outside(self, similar: SimilarNames, scope: set[int], merge_score: float,
                                banned: set[tuple[int, int]]) -> list[Pair]:
        """The pairs to review a full clustering finds between these similar names and those no record of `scope`
        holds: names in one city scoring under merge_score (one scoring more may join, and is clustered), between
        the items' first records, unless two valid INNs or the user (`banned`) tell them apart."""
        count = self._count
        cities = similar.seeds // count
        wanted = (cities != 0) & (cities == similar.items // count) & (similar.scores < merge_score)
        seeds, items, scores = similar.seeds[wanted], similar.items[wanted], similar.scores[wanted]
        seed_firsts, item_firsts = self._firsts(seeds), self._firsts(items)
        outside = ~numpy.isin(self._ids[item_firsts], numpy.fromiter(scope, numpy.int64, len(scope)))
        inns_a, inns_b = self._inns[seed_firsts], self._inns[item_firsts]
        kept = numpy.flatnonzero(outside & ((inns_a == 0) | (inns_b == 0) | (inns_a == inns_b)))
        kept = kept[self._in_one_block(seeds[kept], items[kept])]
        listed = []
        for seed, item, first_a, first_b, score in zip(
                seeds[kept].tolist(), items[kept].tolist(), self._ids[seed_firsts[kept]].tolist(),
                self._ids[item_firsts[kept]].tolist(), scores[kept].tolist()):
            (a, name_a), (b, name_b) = sorted(((first_a, seed % count), (first_b, item % count)))
            if (a, b) not in banned:
                listed.append(Pair(a, b, "name+city", score, "review", f'names "{self.names[name_a]}" ~ '
                                   f'"{self.names[name_b]}" ({score}) in {self.cities[seed // count]}'))
        return listed

    def compared(self, record_ids: numpy.ndarray, other_ids: numpy.ndarray) -> numpy.ndarray:
        """Whether a clustering of the whole base compares the names of these pairs of records: two of one city
        within a block (see _in_one_block), one without a city with its neighbours of every city (see
        _in_all_cities_window), two without one either way. A pair this cannot place (not both usable records with a
        name) is taken as compared. A clustering of part of the base compares a name with its neighbours among the
        part's names only, nearer in its order than in the whole base's: find_clusters leaves out the pairs a
        clustering of the whole would not compare."""
        (positions, held), (other_positions, other_held) = found(self._ids, record_ids), found(self._ids, other_ids)
        placed = numpy.flatnonzero(held & other_held)
        items, other_items = self._item_of[positions[placed]], self._item_of[other_positions[placed]]
        cities, other_cities = items // self._count, other_items // self._count  # city code 0: none
        one_city = cities == other_cities
        cityless = (cities == 0) | (other_cities == 0)
        within = numpy.zeros(len(placed), dtype=bool)
        within[one_city] = self._in_one_block(items[one_city], other_items[one_city])
        within[cityless] |= self._in_all_cities_window(items[cityless], other_items[cityless])
        compared = numpy.ones(len(record_ids), dtype=bool)
        judged = one_city | cityless
        compared[placed[judged]] = within[judged]
        return compared

    def _in_all_cities_window(self, items: numpy.ndarray, other_items: numpy.ndarray) -> numpy.ndarray:
        """Whether these pairs of items are within NAME_WINDOW of each other in a name order of every city's items,
        where the clustering compares an item without a city with its neighbours: by name, and one name's items in
        the order it meets their cities (see _city_ranks). An item's place there is counted, not sorted: the items
        of the names before its own, then its namesakes before it."""
        count = self._count
        wanted = numpy.concatenate((items, other_items)) % count
        namesakes = self._distinct_items[numpy.isin(self._distinct_items % count, wanted, kind="table")]
        by_name = numpy.argsort(namesakes % count * len(self.cities) + self._city_ranks[namesakes // count])
        ordered = namesakes[by_name] % count
        starts = numpy.flatnonzero(numpy.concatenate(([True], ordered[1:] != ordered[:-1])))
        among_namesakes = numpy.empty(len(namesakes), dtype=numpy.int64)
        among_namesakes[by_name] = numpy.arange(len(namesakes)) - numpy.repeat(starts, numpy.diff(numpy.append(
            starts, len(namesakes))))
        at = [numpy.searchsorted(namesakes, column) for column in (items, other_items)]  # namesakes are sorted
        compared = numpy.zeros(len(items), dtype=bool)
        for before in self._items_before_names:
            first, second = (before[namesakes[k] % count] + among_namesakes[k] for k in at)
            compared |= numpy.abs(first - second) <= NAME_WINDOW
        return compared

    @cached_property
    def _items_before_names(self) -> list[numpy.ndarray]:
        """In each of NAME_ORDERS, how many items (of every city) come before each name's."""
        per_name = numpy.bincount(self._distinct_items % self._count, minlength=len(self.names))
        counted = []
        for name_order in self._name_orders:
            in_order = per_name[name_order]
            before = numpy.empty(len(self.names), dtype=numpy.int64)
            before[name_order] = numpy.cumsum(in_order) - in_order
            counted.append(before)
        return counted

    @cached_property
    def _city_ranks(self) -> numpy.ndarray:
        """Each city code's place in the order dedupe._name_items meets the cities, going through the records by id:
        first those the records name, each at its first such record; then, each at its first record, those only
        a tax office places records in, and none."""
        cities = self._item_of // self._count
        own = self._blank == 0
        named = numpy.zeros(len(self.cities), dtype=bool)
        named[cities[own]] = True
        # A city's first record: of those naming it when any does, else of those placed in it.
        firsts = numpy.full(len(self.cities), numpy.iinfo(numpy.int64).max)
        counted = own | ~named[cities]
        numpy.minimum.at(firsts, cities[counted], self._ids[counted])
        ranks = numpy.empty(len(self.cities), dtype=numpy.int64)
        ranks[numpy.lexsort((firsts, ~named))] = numpy.arange(len(self.cities))
        return ranks

    def _in_one_block(self, seeds: numpy.ndarray, items: numpy.ndarray) -> numpy.ndarray:
        """Whether the clustering compares these pairs of items of one city: in a name order, within NAME_WINDOW
        of each other in the city's names and in the same block of them (names whose sort keys start alike).
        similar_pairs looks further: past a block's end too, where it finds more records than it needs."""
        count = self._count
        compared = numpy.zeros(len(seeds), dtype=bool)
        names = numpy.unique(numpy.concatenate((seeds % count, items % count)))  # each name's key made once
        for (rank, starts, ordered), sort_key in zip(self._orders, NAME_ORDERS):
            keys = ordered // count * count + rank[ordered % count]  # sorted: (city, rank) as one number
            places = [numpy.searchsorted(keys, column // count * count + rank[column % count])
                      for column in (seeds, items)]
            prefix_of = numpy.array([sort_key(self.names[name])[:BLOCK_LETTERS] for name in names.tolist()])
            prefixes = [prefix_of[numpy.searchsorted(names, column % count)] for column in (seeds, items)]
            compared |= (numpy.abs(places[0] - places[1]) <= NAME_WINDOW) & (prefixes[0] == prefixes[1])
        return compared

    def _firsts(self, items: numpy.ndarray) -> numpy.ndarray:
        """Each item's first record (a position), as the clustering takes it: the first with the item's city its
        own, else the first its tax office places there."""
        holding = numpy.flatnonzero(self._holding(items))
        if not len(holding):
            return holding
        places = self._item_places[holding]
        holding = holding[numpy.lexsort((self._ids[holding], self._blank[holding], places))]
        places = self._item_places[holding]
        first = numpy.concatenate(([True], places[1:] != places[:-1]))
        return holding[first][numpy.searchsorted(places[first], numpy.searchsorted(self._distinct_items, items))]

    def _holding(self, items: numpy.ndarray) -> numpy.ndarray:
        """Where the records hold any of these items."""
        places, held = found(self._distinct_items, items)
        return numpy.isin(self._item_places, places[held], kind="table")

    def _items(self, record_ids: Iterable[int]) -> numpy.ndarray:
        """The distinct items of these records, those not held left out."""
        positions, held = found(self._ids, numpy.fromiter(record_ids, dtype=numpy.int64))
        return _distinct(self._item_of[positions[held]])

    @cached_property
    def _orders(self) -> list[tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray]]:
        """Each of NAME_ORDERS sorted (see _sorted)."""
        return [self._sorted(name_order) for name_order in self._name_orders]

    def _sorted(self, name_order: numpy.ndarray) -> tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray]:
        """Each name's rank in one of the names' orders, and the distinct items in (city, rank) order with where
        each city's start: a sort key is one-to-one on name keys (words joined by single spaces), so a city's
        names sorted by rank are its names sorted by key."""
        count = self._count
        rank = numpy.empty(len(name_order), dtype=numpy.int64)
        rank[name_order] = numpy.arange(len(name_order))
        items = self._distinct_items
        cities = items // count
        items = items[numpy.argsort(cities * count + rank[items % count])]  # one number: faster than lexsort
        starts = numpy.searchsorted(cities, numpy.arange(len(self.cities) + 1))  # items are sorted by city
        return rank, starts, items


def _distinct(values: numpy.ndarray) -> numpy.ndarray:
    """The distinct values, sorted: numpy.unique hashes them first, ten times slower on a million numbers."""
    ordered = numpy.sort(values)
    return ordered[numpy.concatenate(([True], ordered[1:] != ordered[:-1]))] if len(ordered) else ordered


def _distinct_places(values: numpy.ndarray) -> tuple[numpy.ndarray, numpy.ndarray]:
    """The distinct values, sorted, and each value's place among them: from one sort, where a search of the
    sorted values for each took three times as long on a million."""
    order = numpy.argsort(values)
    ordered = values[order]
    new = numpy.concatenate(([True], ordered[1:] != ordered[:-1])) if len(ordered) else numpy.ones(0, dtype=bool)
    places = numpy.empty(len(values), dtype=numpy.int64)
    places[order] = numpy.cumsum(new) - 1
    return ordered[new], places


def _close(names: list[str], seeds: numpy.ndarray, items: numpy.ndarray, count: int, review_score: float
           ) -> tuple[numpy.ndarray, numpy.ndarray]:
    """Where the item (city code · count + name code) scores review_score or more with the seed name beside it
    (codes into `names`), as the clustering scores it, and the scores."""
    cutoff, close, scores = edit_cutoff(review_score), [], []
    for start in range(0, len(seeds), _COMPARED_SLICE):
        end = start + _COMPARED_SLICE
        written = [names[seed] for seed in seeds[start:end].tolist()]
        others = [names[name] for name in (items[start:end] % count).tolist()]
        distances = process.cpdist(written, others, scorer=OSA.normalized_distance, score_cutoff=cutoff,
                                   dtype=numpy.float64, workers=cores())
        # rapidfuzz gives a pair past the cutoff 1.0, and tells the rest as extract did: compared again here,
        # 0.2 is past 2·(1 - 0.9), which is 0.19999999999999996.
        near = numpy.flatnonzero(distances < 1.0) if cutoff < 1.0 else numpy.arange(len(written))
        for k in near.tolist():
            seed, other = written[k], others[k]
            if " " in seed or " " in other:  # one-word names score as written
                if similarity_as_written(seed, other) < review_score:
                    continue
            if (score := name_similarity(seed, other)) >= review_score:
                close.append(start + k)
                scores.append(score)
    return numpy.array(close, dtype=numpy.int64), numpy.array(scores, dtype=numpy.float64)


def records_to_recheck(
    changed: set[int],
    keys_of: Callable[[set[int]], set[Key]],
    records_with_keys: Callable[[set[Key]], set[int]],
    names: CompanyNames,
    places: PlaceRows,
    former: set[int],
    similar: set[int],
    limit: int,
) -> set[int] | None:
    """The changed records closed under shared keys, clients and names; None past `limit` records.

    Only the changed records' keys are looked up. Every other record reaches what its component (joined_records)
    held at the last clean: nothing in it changed since, and a changed record it may join is found from that
    record's side, as the keys join both ways; same names are looked for at each record reached. So a large part
    costs no lookup of its own. `former` holds the usable records of the changed ones' components at the last
    clean (a key a record no longer carries may have kept them apart, a hub, or joined them) and those named as
    the changed ones were (CompanyNames.former_namesakes). `similar` holds the
    records of the names similar enough to the changed records' to join them; a name less similar can only be
    listed for review with them (CompanyNames.pairs_to_review_outside), and is left out.
    """
    scope = set(changed)
    reached = similar | records_with_keys(keys_of(changed)) | names.same_name(changed) | former
    while new := reached - scope:
        scope |= new
        if len(scope) > limit:
            return None
        # Same names again: a blank city placed by its tax office may be placed elsewhere than at the last clean.
        reached = places.joined(new) | names.same_name(new)
    return scope


def joined_records(ids: numpy.ndarray, by_keys: numpy.ndarray, by_cluster: numpy.ndarray) -> numpy.ndarray:
    """The component of each of these records (sorted ids) under shared keys and clients, as the smallest id in
    it: all an unchanged record reaches at the next clean but for same names, which records_to_recheck looks
    for at every record it reaches. `by_keys` and `by_cluster` are DedupeResult.joined and cluster_of: the
    records are all those clustered, so no component leaves them."""
    nodes = numpy.arange(len(ids))
    return ids[components(len(ids), numpy.concatenate((nodes, nodes)),
                          numpy.searchsorted(ids, numpy.concatenate((by_keys, by_cluster))))]
