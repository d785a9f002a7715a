"""What a clean must cluster again: the records changed since the last one and every record they may join.

Clustering is decided by keys (phone, INN, email, company domain, the client a record is in) and by
names within a city. The records to look at again are the changed ones, closed under shared keys:
every record carrying a key one of them carries, and every record of their clients, and so on until
nothing new turns up. So each key is judged (hub or not, one INN or two) on all its records, exactly
as a full clustering would. Similar names are looked for around the changed records only, in the
same sorted neighbourhoods the full clustering compares.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable

from rapidfuzz import process
from rapidfuzz.distance import OSA

from clientbase.dedupe import NAME_ORDERS, NAME_WINDOW, edit_cutoff, name_similarity

Key = tuple[str, Hashable]


class CompanyNames:
    """Every usable company record's (city, name), to find the same and similar names of changed records.

    The city is the one the clustering compares the name in: a record's own, or for a record without
    one, the city its tax office places it in whatever it joins.
    """

    def __init__(self, rows: Iterable[tuple[int, str | None, str]]) -> None:
        # A city of "" is none known: the client's INN may place such a name in any city.
        self.records: dict[tuple[str, str], list[int]] = defaultdict(list)
        self.item_of: dict[int, tuple[str, str]] = {}
        self.cities_of: dict[str, set[str]] = defaultdict(set)  # a name -> the cities it is found in
        for record_id, city, name in rows:
            item = (city or "", name)
            self.records[item].append(record_id)
            self.item_of[record_id] = item
            self.cities_of[name].add(item[0])

    def same_name(self, record_ids: Iterable[int]) -> set[int]:
        """Records with the same name in the same city as any of these, or either without a city.

        A record without a city may be placed in its client's tax office's city, and join that city's names.
        """
        items = {self.item_of[r] for r in record_ids if r in self.item_of}
        same = set()
        for city, name in items:
            for other_city in self.cities_of[name] if not city else {city, ""}:
                same.update(self.records.get((other_city, name), ()))
        return same

    def similar_names(self, record_ids: Iterable[int], review_score: float) -> set[int]:
        """Records whose name, in the same city (or either without one), scores review_score or more."""
        seeds = {self.item_of[r] for r in record_ids if r in self.item_of}
        if not seeds:
            return set()
        items = list(self.records)
        found: set[tuple[str, str]] = set()
        for sort_key in NAME_ORDERS:
            keyed = sorted((sort_key(name), city, name) for city, name in items)
            by_city: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
            for entry in keyed:
                by_city[entry[1]].append(entry)
            for city, name in seeds:
                probe = (sort_key(name), city, name)
                found.update(_close(keyed, probe, name, review_score, lambda other_city: not city or not other_city))
                # A name without a city may still be placed in any city by its client's INN, and compared there.
                for other_city in (city, "") if city else list(by_city):
                    found.update(_close(by_city[other_city], probe, name, review_score, lambda _: True))
        return {record_id for item in found for record_id in self.records[item]}


def _close(ordered: list[tuple[str, str, str]], probe: tuple[str, str, str], name: str,
           review_score: float, eligible: Callable[[str], bool]) -> set[tuple[str, str]]:
    position = bisect_left(ordered, probe)
    window = [(city, other) for _, city, other in ordered[max(0, position - NAME_WINDOW):position + NAME_WINDOW + 1]
              if other != name and eligible(city)]
    near = process.extract(name, [other for _, other in window], scorer=OSA.normalized_distance,
                           score_cutoff=edit_cutoff(review_score), limit=None)
    return {window[k] for other, _, k in near if name_similarity(name, other) >= review_score}


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
