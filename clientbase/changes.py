"""What a clean must cluster again: the records changed since the last one and every record they may join.

Clustering is decided by keys (phone, INN, email, company domain, the client a record is in) and by
names within a city. The records to look at again are the changed ones, closed under shared keys:
every record carrying a key one of them carries, and every record of their clients, and so on until
nothing new turns up. So each key is judged (hub or not, one INN or two) on all its records, exactly
as a full clustering would. Similar names are looked for around the changed records only, in the
same sorted neighbourhoods the full clustering compares.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable

from rapidfuzz import process
from rapidfuzz.distance import OSA

from clientbase.dedupe import NAME_ORDERS, NAME_WINDOW, edit_cutoff, name_similarity

Key = tuple[str, Hashable]


class CompanyNames:
    """Every usable company record's (city, name), to find the same and similar names of changed records.

    The city is the one the clustering compares the name in: a record's own, or for a record without
    one, the city its own KPP's or INN's tax office places it in.
    """

    def __init__(self, rows: Iterable[tuple[int, str | None, str]]) -> None:
        # A city of "" is none known: such a name is compared with every city's.
        self.records: dict[tuple[str, str], list[int]] = defaultdict(list)
        self.item_of: dict[int, tuple[str, str]] = {}
        for record_id, city, name in rows:
            item = (city or "", name)
            self.records[item].append(record_id)
            self.item_of[record_id] = item
        # A name without a city -> the cities it is found in; only such names are looked for in every city.
        cityless = {name for city, name in self.records if not city}
        self.cities_of: dict[str, set[str]] = defaultdict(set)
        for city, name in self.records:
            if name in cityless:
                self.cities_of[name].add(city)

    def same_name(self, record_ids: Iterable[int]) -> set[int]:
        """Records with the same name in the same city as any of these, or either without a city: a name
        without a city is listed for review with the same name in any city."""
        items = {self.item_of[r] for r in record_ids if r in self.item_of}
        same = set()
        for city, name in items:
            for other_city in self.cities_of[name] if not city else {city, ""}:
                same.update(self.records.get((other_city, name), ()))
        return same

    def similar_names(self, record_ids: Iterable[int], review_score: float) -> set[int]:
        """Records whose name, in the same city (or either without one), scores review_score or more.

        A name is looked for among its city's names and those without a city, and a name without a city
        among every city's, as the clustering compares it with them. Each such list, sorted, holds the
        neighbourhoods the clustering compares: a block of one city's, or the order of all cities' names
        around a name without one, with only that list's names left in it.
        """
        seeds = {self.item_of[r] for r in record_ids if r in self.item_of}
        if not seeds:
            return set()
        cityless = {seed for seed in seeds if not seed[0]}
        sought: dict[str, set[tuple[str, str]]] = defaultdict(set)  # a city -> the seeds looked for among its names
        for seed in seeds - cityless:
            sought[seed[0]].add(seed)
            sought[""].add(seed)
        by_city: dict[str, list[str]] = defaultdict(list)
        for city, name in self.records:
            if cityless or city in sought:
                by_city[city].append(name)
        found: set[tuple[str, str]] = set()
        for city, names in by_city.items():
            looked_for = sought.get(city, set()) | cityless
            for sort_key in NAME_ORDERS:
                # By key alone, without a (key, city, name) tuple per name: the order is the same, as a sort
                # key is one-to-one on name keys (words joined by single spaces).
                ordered = sorted(names, key=sort_key)
                keys = list(map(sort_key, ordered))
                for seed_city, name in looked_for:
                    found.update((city, other) for other in
                                 _close(ordered, keys, sort_key(name), seed_city > city, name, review_score))
        return {record_id for item in found for record_id in self.records[item]}


def _close(ordered: list[str], keys: list[str], key: str, after_equal: bool, name: str,
           review_score: float) -> list[str]:
    """The names around `key` in one city's order, as the clustering compares them, that score review_score
    or more with `name`. A seed from a city sorting after this one's goes after an equal key."""
    position = (bisect_right if after_equal else bisect_left)(keys, key)
    window = [other for other in ordered[max(0, position - NAME_WINDOW):position + NAME_WINDOW + 1] if other != name]
    near = process.extract(name, window, scorer=OSA.normalized_distance, score_cutoff=edit_cutoff(review_score),
                           limit=None)
    return [window[k] for other, _, k in near if name_similarity(name, other) >= review_score]


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
