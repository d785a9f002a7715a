"""Deduplication: cluster records into clients, explain every merge, never join two valid INNs.

Edges are tried strongest first: same INN, same company email domain, same phone, a person's name
with a shared phone or email, the same name in the same city, then similar names in the same city
by falling similarity. A union-find refuses every union that would put two different valid INNs, or
two records the user split apart, into one client, so no chain of edges can join them either.
A key touching two valid INNs, or clearly different clients, is a hub: it joins nothing.

A name is weaker than a key, so a name match goes to review instead when anything says the two may
be two firms: other company email domains or head-office KPPs, an INN registered in another city
(the match may be its branch's local namesake), more than a typo between the names, or no phone
in common between similar names. A record without a city is put in the city of its tax office
(the first four digits of its KPP or INN), which the base itself shows.

Pure and deterministic: plain dataclasses in and out (the pairs made as they are read); the output does not
depend on the input order.
Exact keys are grouped by sorting (phones and INNs, held as numbers) or with dicts (emails, domains); a
name is compared only with a few neighbours in sorted blocks (same city, same first or last letters), so
the work stays linear in the number of records.
"""

from __future__ import annotations

import gc
import itertools
import operator
import re
from array import array
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from operator import attrgetter

import numpy
from rapidfuzz import process
from rapidfuzz.distance import OSA

from clientbase.config import DedupeSettings
from clientbase.workers import InChild, cores


# Not frozen: a clean makes one per record, and frozen ones take six times as long to make.
@dataclass(slots=True)
class MatchRecord:
    """What matching needs of one record; every key already normalised by the caller."""

    record_id: int
    name_key: str | None  # company name folded, legal form stripped: 'ромашка'
    person: bool  # a private person or a sole trader
    city: str | None  # folded city: 'москва'
    inn: str | None  # a valid INN only
    kpp: str | None
    email_domains: tuple[str, ...]  # company domains only: free mail is excluded by the caller
    emails: tuple[str, ...]  # every valid address: keys for persons
    phones: tuple[str, ...]  # E.164 of the usable phones


@dataclass(slots=True)  # not frozen: one per pair found, as for MatchRecord
class Pair:
    a: int  # record ids, a < b
    b: int
    rule: str  # 'inn', 'email_domain', 'phone', 'person:name+phone', 'person:name+email', 'name+city', 'name'
    score: float  # 100 for exact keys, the name similarity for fuzzy ones
    decision: str  # 'merged' or 'review'
    detail: str  # the values that joined them: 'INN 7707083893', 'phone +74951234567', ...


# A pair's rule as one byte in _Pairs.
_RULES = ("inn", "email_domain", "phone", "person:name+phone", "person:name+email", "name+city", "name")
_RULE_CODES = {rule: code for code, rule in enumerate(_RULES)}


class _Pairs:
    """Pairs found as columns: record positions (a < b), rule, score and detail.

    A large base finds about as many pairs as it has records, held at the clustering's peak: a Pair
    object, its float and its (a, b) key would take about 150 bytes more each. A detail is kept in
    UTF-8, half the size of a Cyrillic str.
    """

    __slots__ = ("a", "b", "details", "rules", "scores")

    def __init__(self) -> None:
        self.a, self.b, self.scores = array("q"), array("q"), array("d")
        self.rules = bytearray()
        self.details: list[bytes] = []

    def __len__(self) -> int:
        return len(self.details)

    def add(self, a: int, b: int, rule: str, score: float, detail: str) -> None:
        if a > b:
            a, b = b, a
        self.a.append(a)
        self.b.append(b)
        self.rules.append(_RULE_CODES[rule])
        self.scores.append(score)
        self.details.append(detail.encode())


class FoundPairs(Sequence[Pair]):
    """A clustering's merges and listed review pairs by (a, b), made into Pair objects as they are read.

    A large base finds about as many pairs as records: held as objects all at once, they would be
    the clustering's peak. Each read makes a new Pair; a slice is a list.
    """

    def __init__(self, ids: numpy.ndarray, merged: _Pairs, review: _Pairs, listed: numpy.ndarray) -> None:
        self._parts = ((merged, "merged"), (review, "review"))
        at = (numpy.arange(len(merged)), listed)
        a = numpy.concatenate([ids[_positions(pairs.a)[chosen]] for (pairs, _), chosen in zip(self._parts, at)])
        b = numpy.concatenate([ids[_positions(pairs.b)[chosen]] for (pairs, _), chosen in zip(self._parts, at)])
        order = numpy.lexsort((b, a))  # a pair is merged or listed, never both
        self._a, self._b = a[order], b[order]
        self._part = numpy.repeat(numpy.array([0, 1], dtype=numpy.int8), [len(chosen) for chosen in at])[order]
        self._at = numpy.concatenate(at)[order]

    def __len__(self) -> int:
        return len(self._at)

    def __getitem__(self, k: int | slice) -> Pair | list[Pair]:  # type: ignore[override]
        if isinstance(k, slice):
            return [self[i] for i in range(*k.indices(len(self)))]
        k = operator.index(k)
        return self._pair(int(self._a[k]), int(self._b[k]), int(self._part[k]), int(self._at[k]))

    def __iter__(self) -> Iterator[Pair]:
        for start in range(0, len(self), _SCORED_SLICE):  # a slice of Python objects at a time
            end = start + _SCORED_SLICE
            yield from map(self._pair, self._a[start:end].tolist(), self._b[start:end].tolist(),
                           self._part[start:end].tolist(), self._at[start:end].tolist())

    def __eq__(self, other: object) -> bool:
        return list(self) == list(other) if isinstance(other, (FoundPairs, list)) else NotImplemented

    def __repr__(self) -> str:
        return repr(list(self))

    def _pair(self, a: int, b: int, part: int, k: int) -> Pair:
        pairs, decision = self._parts[part]
        return Pair(a, b, _RULES[pairs.rules[k]], pairs.scores[k], decision, pairs.details[k].decode())


@dataclass
class DedupeResult:
    clusters: list[list[int]]  # every record id in exactly one cluster; each sorted, ordered by first id
    pairs: FoundPairs  # the merges used (one per joined record) and the review pairs, by (a, b)
    hubs: dict[str, int]  # hub phone -> how many clusters it touches
    ids: numpy.ndarray  # the record ids clustered, sorted
    # For each of ids, the smallest id its shared keys join it to, hubs and keys of two INNs included, and an id
    # standing for its cluster: what a change of one record may reach (changes.joined_records).
    joined: numpy.ndarray
    cluster_of: numpy.ndarray


@dataclass(frozen=True, slots=True)
class ContactRecord:
    contact_id: int
    name_key: str | None  # folded person name: 'иванов иван иванович', 'иванов и и'
    phones: tuple[str, ...]
    emails: tuple[str, ...]


# Similar names are looked for in blocks: one city and the same first letters, or the same last
# letters (a one-letter typo keeps one of the two in a name of 6+ letters). In a block sorted by
# name, each name is compared with the next NAME_WINDOW only: giant blocks ('стр…' in Moscow) stay linear.
BLOCK_LETTERS = 3
NAME_WINDOW = 10
# How many similar-name pairs become Python objects at a time.
_SCORED_SLICE = 65_536
# Names kept per party when telling how many clients a shared key touches.
_PARTY_NAMES = 4
# Within one client, a phone or email shared by more people than this is a switchboard, not a key.
_SWITCHBOARD = 10

_MERGED, _SAME, _REFUSED = 1, 0, -1
# A phone held as a number stays below this, far above E.164's 15 digits: the numbers are held in 64 bits.
_NUMBERS_END = 1 << 62
# From this many (city, name) items on, similar names are looked for in a worker process (on two cores or more).
PARALLEL_NAMES = 50_000

# Similar names as (k1, k2, score) arrays of item numbers and scores.
_Similar = tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray]
# Of pairs of records (two arrays of ids), whether each is compared.
Compared = Callable[[numpy.ndarray, numpy.ndarray], numpy.ndarray]


def name_similarity(a: str, b: str, edits: int | None = None) -> float:
    """0-100, one decimal: 100·(1 − edits / (len a + len b)), the better of as written and words sorted.

    Edits are the optimal-string-alignment distance: a wrong, missing, extra or swapped letter is
    one edit (fuzz.ratio counts a wrong letter twice), so 'ромашка' ~ 'ромашко' scores 92.9.
    Names that share whole words are judged by the words that tell them apart: 'стройсервис нова'
    ~ 'стройсервис нива' is 'нова' ~ 'нива' (87.5), not 96.9 because of the long common word.
    `edits`, the edit distance of a and b as written when the caller has it, saves computing it again.
    """
    if " " not in a and " " not in b:
        return round(_edit_ratio(a, b, edits), 1)
    words_a, words_b = a.split(), b.split()
    common = set(words_a).intersection(words_b)
    if common:
        rest_a = [word for word in words_a if word not in common]
        rest_b = [word for word in words_b if word not in common]
        if rest_a and rest_b:
            return round(_edit_ratio(" ".join(sorted(rest_a)), " ".join(sorted(rest_b))), 1)
    return round(max(_edit_ratio(a, b), _edit_ratio(" ".join(sorted(words_a)), " ".join(sorted(words_b)))), 1)


_VOWELS = frozenset("аеиоуыэюяaeiouy")
_DIGITS = re.compile(r"\D+")  # what is left is a name's digits


def _one_typo_apart(a: str, b: str) -> bool:
    """Whether two names differ by one slip of the hand or the ear at most, as written or with the words sorted.

    A slip is two neighbouring letters swapped, a letter dropped or added, or a vowel written for
    another (unstressed vowels are the commonest Russian misspelling). A consonant for another
    consonant is more often another name than a typo: Геокомплект and Геокомплекс, Домтехника and
    Донтехника.
    """
    if _DIGITS.sub("", a) != _DIGITS.sub("", b):  # Стройтрест1 and Стройтрест17 are two firms, not a slip
        return False
    return _one_slip(a, b) or (" " in a and _one_slip(" ".join(sorted(a.split())), " ".join(sorted(b.split()))))


def _one_slip(a: str, b: str) -> bool:
    if len(a) < len(b):
        a, b = b, a
    at = next((k for k, (x, y) in enumerate(zip(a, b)) if x != y), len(b))
    if len(a) == len(b) + 1:
        return a[at + 1:] == b[at:]
    if len(a) != len(b):
        return False
    if at == len(a):
        return True
    if a[at + 1:] == b[at + 1:]:
        return a[at] in _VOWELS and b[at] in _VOWELS
    return a[at] == b[at + 1] and a[at + 1] == b[at] and a[at + 2:] == b[at + 2:]


def similarity_as_written(a: str, b: str) -> float:
    """name_similarity of the names as written, words and all: a pair scoring under review_score so is not scored
    further by the clustering (_CloseAsWritten), whatever words sorted or set aside would make of it."""
    return round(_edit_ratio(a, b), 1)


def _edit_ratio(a: str, b: str, edits: int | None = None) -> float:
    total = len(a) + len(b)
    return _ratio(total, edits if edits is not None or not total else OSA.distance(a, b))


def _ratio(total: int, edits: int) -> float:
    """The similarity of two names of `total` letters together, `edits` apart (unrounded)."""
    return 100.0 * (1.0 - edits / total) if total else 100.0


def person_names_compatible(a: str, b: str) -> bool:
    """Whether two person names can be one person: 'иванов иван иванович' ~ 'иванов и и' ~ 'иван иванов'.

    A full word must agree on both sides (a one-letter typo is forgiven in words of 5+ letters, a
    feminine ending is not: 'иванов' vs 'иванова'). The words left over must not contradict: an
    initial agrees with a word of its first letter, two different full words disagree, and words
    present on one side only ('иванов иван' vs 'иванов иван иванович') are missing, not different.
    """
    left, right = a.split(), b.split()
    rest_left: list[str] = []
    agreed = False
    for word in sorted(left, key=len, reverse=True):  # full words claim their partners first
        hit = next((k for k, other in enumerate(right)
                    if len(word) > 1 and len(other) > 1 and _same_word(word, other)), None)
        if hit is None:
            rest_left.append(word)
        else:
            del right[hit]
            agreed = True
    if not agreed:
        return False
    unpaired = False
    for word in rest_left:
        hit = next((k for k, other in enumerate(right)
                    if other[0] == word[0] and (len(word) == 1 or len(other) == 1)), None)
        if hit is None:
            unpaired = True
        else:
            del right[hit]
    return not (unpaired and right)


def _same_word(a: str, b: str) -> bool:
    if a == b:
        return True
    if min(len(a), len(b)) < 5 or a + "а" == b or b + "а" == a:
        return False
    return OSA.distance(a, b, score_cutoff=1) <= 1


class _Groups:
    """Record positions per key value, with a list only for the values seen on two records or more.

    Most names, emails and domains are seen once: millions of one-element lists would cost more time
    and memory than the clustering itself.
    """

    __slots__ = ("first", "shared")

    def __init__(self) -> None:
        self.first: dict[str, int] = {}  # value -> the first record carrying it, for every value
        self.shared: dict[str, list[int]] = {}  # value -> every record carrying it, for shared values

    def add(self, value: str, position: int) -> None:
        if self.first.setdefault(value, position) != position:
            self.share(value, position)

    def share(self, value: str, position: int) -> None:
        """Add a record to a value already seen; a value repeated within one record counts once."""
        members = self.shared.get(value)
        if members is None:
            first = self.first[value]
            if first != position:
                self.shared[value] = [first, position]
        elif members[-1] != position:
            members.append(position)


class _Forest:
    """Union-find over record positions that keeps one valid INN per component and honours cannot-links.

    It also keeps each component's marks (company email domains, head-office KPPs), which do not
    block a union but tell a name match that two components are different companies.
    """

    __slots__ = ("banned", "inn", "marks", "parent", "size")

    def __init__(self, inns: array, banned_pairs: Iterable[tuple[int, int]]) -> None:
        count = len(inns)
        self.parent = array("q", range(count))  # 8 bytes a record, where a list of ints took 36
        self.size = [1] * count
        self.inn = array("q", inns)  # the component's INN as a number (see _inn_number), kept at its root
        self.marks: list[tuple[str, ...]] = [()] * count  # the component's marks, kept at its root
        self.banned: dict[int, set[int]] = {}  # root -> records (anywhere) its component must not join
        for a, b in banned_pairs:
            self.banned.setdefault(a, set()).add(b)
            self.banned.setdefault(b, set()).add(a)

    def find(self, x: int) -> int:
        parent = self.parent
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(self, a: int, b: int) -> int:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return _SAME
        inn_a, inn_b = self.inn[ra], self.inn[rb]
        if inn_a and inn_b and inn_a != inn_b:
            return _REFUSED
        banned = self.banned
        if banned:
            banned_a, banned_b = banned.get(ra), banned.get(rb)
            # Both sides hold a cannot-link if the two components are split apart.
            if banned_a and banned_b:
                probe, target = (banned_a, rb) if len(banned_a) <= len(banned_b) else (banned_b, ra)
                if any(self.find(x) == target for x in probe):
                    return _REFUSED
        if self.size[ra] < self.size[rb]:
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.size[ra] += self.size[rb]
        self.inn[ra] = inn_a or inn_b
        marks_a, marks_b = self.marks[ra], self.marks[rb]
        if marks_b and marks_b != marks_a:
            self.marks[ra] = tuple(sorted({*marks_a, *marks_b})) if marks_a else marks_b
        if banned and rb in banned:
            banned.setdefault(ra, set()).update(banned.pop(rb))
        return _MERGED

    def told_apart(self, a: int, b: int) -> str | None:
        """What says the components of a and b are two companies: both have email domains, or both
        head-office KPPs, and none in common (a company registers at one tax office)."""
        marks_a, marks_b = self.marks[self.find(a)], self.marks[self.find(b)]
        if not (marks_a and marks_b) or not set(marks_a).isdisjoint(marks_b):
            return None
        for what, is_domain in (("email domains", True), ("head-office KPPs", False)):
            if any(("." in m) == is_domain for m in marks_a) and any(("." in m) == is_domain for m in marks_b):
                return f"different {what}"
        return None


class _Linker:
    """One run of find_clusters: the record columns, the forest, and the pairs it explains."""

    def __init__(self, records: Iterable[MatchRecord], settings: DedupeSettings,
                 cannot_link: Iterable[tuple[int, int]]) -> None:
        """Read the records into columns in id order: a list per field is lighter than an object per record,
        and the phones, numbers in one array, lighter still (16 MB a million records, not 110)."""
        self.settings = settings
        ids: list[int] = []
        self.names: list[str | None] = []
        self.persons: list[bool] = []
        self.inns = array("q")  # each record's valid INN as a number (see _inn_number), 0 for none
        odd_inns: dict[str, int] = {}
        self.kpps: list[str | None] = []
        numbers, ends = array("q"), array("q")
        odd_phones: dict[str, int] = {}  # a phone not written as E.164 -> its number, negative
        # Needed only until the keys are linked and the names placed in cities.
        self.cities: list[str | None] = []
        self.emails: list[tuple[str, ...]] = []
        self.email_domains: list[tuple[str, ...]] = []
        # Each name and KPP held once (1M records have 417k and 3k distinct), the dict only while reading.
        same: dict[str, str] = {}
        held = same.setdefault
        for r in records:
            ids.append(r.record_id)
            self.names.append(r.name_key and held(r.name_key, r.name_key) or None)  # a bare legal form is no name
            self.persons.append(r.person)
            self.inns.append(_inn_number(r.inn, odd_inns) if r.inn else 0)
            self.kpps.append(r.kpp and held(r.kpp, r.kpp))
            for phone in r.phones:
                numbers.append(_phone_number(phone, odd_phones))
            ends.append(len(numbers))
            self.cities.append(r.city)
            self.emails.append(r.emails)
            self.email_domains.append(r.email_domains)
        del same, held
        self.odd_phones, self.odd_inns = list(odd_phones), list(odd_inns)
        self.ids = numpy.array(ids, dtype=numpy.int64)
        del ids
        self.phone_numbers = numpy.array(numbers, dtype=numpy.int64)
        self.phone_starts = numpy.concatenate(([0], numpy.array(ends, dtype=numpy.int64)))
        del numbers, ends
        self._order_by_id()
        banned_pairs = _positions_of(self.ids, cannot_link)
        self.banned = {*banned_pairs, *((b, a) for a, b in banned_pairs)}
        self.forest = _Forest(self.inns, banned_pairs)
        self.merged = _Pairs()
        self.review = _Pairs()  # as suggested: a pair suggested again is seldom, and is left out at the end
        self.placed: dict[int, str] = {}  # a record without a city -> how its city was found
        self.home: dict[str, str] = {}  # a tax office (the first four digits of an INN or a KPP) -> its city

    def _order_by_id(self) -> None:
        """The same input in any order, the same result."""
        ids = self.ids
        if (ids[1:] > ids[:-1]).all():  # as the store reads them
            return
        order = numpy.argsort(ids, kind="stable")
        self.ids = ids[order]
        if (self.ids[1:] == self.ids[:-1]).any():
            raise ValueError("record ids must be unique")
        positions = order.tolist()
        for column in (self.names, self.persons, self.kpps, self.cities, self.emails, self.email_domains):
            column[:] = [column[k] for k in positions]
        self.inns = array("q", numpy.frombuffer(self.inns, dtype=numpy.int64)[order].tobytes())
        starts, counts = self.phone_starts[:-1][order], numpy.diff(self.phone_starts)[order]
        self.phone_starts = numpy.concatenate(([0], numpy.cumsum(counts)))
        self.phone_numbers = self.phone_numbers[numpy.repeat(starts - self.phone_starts[:-1], counts)
                                                + numpy.arange(int(self.phone_starts[-1]))]

    def phones_of(self, position: int) -> list[int]:
        """The numbers of a record's phones."""
        return self.phone_numbers[self.phone_starts[position]:self.phone_starts[position + 1]].tolist()

    def inn_text(self, number: int) -> str | None:
        """An INN as the records wrote it, from its number."""
        if number > 0:
            digits, twelve = divmod(number - 1, 2)
            return f"{digits:0{12 if twelve else 10}d}"
        return self.odd_inns[-1 - number] if number else None

    def phone_text(self, number: int) -> str:
        """A phone as the records wrote it, from its number."""
        return f"+{number}" if number >= 0 else self.odd_phones[-1 - number]

    def release_keys(self) -> None:
        """Drop the columns only linking the keys and placing the names read."""
        self.cities = self.emails = self.email_domains = []

    def release_records(self) -> None:
        """Drop the record columns once every link is made: the clusters and the review pairs, built
        last and the peak of a clustering, need only the forest's parents."""
        self.names = self.kpps = self.persons = []
        self.inns = array("q")
        self.phone_numbers = self.phone_starts = numpy.empty(0, numpy.int64)
        self.forest.inn = self.forest.marks = self.forest.size = []

    def link(self, a: int, b: int, rule: str, score: float, detail: str) -> None:
        """Merge two records; a union refused only through the records joined to them goes to review."""
        outcome = self.forest.union(a, b)
        if outcome == _MERGED:
            self.merged.add(a, b, rule, score, detail)
        elif outcome == _REFUSED:
            self.suggest(a, b, rule, score, detail)

    def link_by_name(self, a: int, b: int, city: str, score: float, detail: str) -> None:
        """A name in one city joins two records unless something says they may be two companies.

        Their clients' marks may differ; or one of them has an INN registered in another city: the
        match is then with its branch here, or with a local namesake, and a person decides.
        """
        for placed in (a, b):
            if placed in self.placed:
                detail += f" ({self.placed[placed]})"
        forest = self.forest
        apart = forest.told_apart(a, b)
        inn = self.inn_text(forest.inn[forest.find(a)] or forest.inn[forest.find(b)])
        home = self.home.get(inn[:4]) if inn else None
        if not apart and home and home != city:
            apart = f"INN {inn} is registered in {home}"
        if apart:
            self.suggest(a, b, "name+city", score, f"{detail}, {apart}")
        else:
            self.link(a, b, "name+city", score, detail)

    def link_all(self, members: list[int], rule: str, detail: str) -> None:
        first = members[0]
        for other in members[1:]:
            self.link(first, other, rule, 100.0, detail)

    def suggest(self, a: int, b: int, rule: str, score: float, detail: str) -> None:
        if not self.opposed(a, b):
            self.review.add(a, b, rule, score, detail)

    def opposed(self, a: int, b: int) -> bool:
        """The records themselves say they are different clients: two valid INNs, or the user split them."""
        inn_a, inn_b = self.inns[a], self.inns[b]
        return bool(inn_a and inn_b and inn_a != inn_b) or (a, b) in self.banned

    def is_hub(self, members: list[int]) -> bool:
        """A shared key is a hub when it touches two valid INNs or hub_min_clients clearly different clients."""
        inns, names, persons = self.inns, self.names, self.persons
        seen = 0
        for m in members:
            inn = inns[m]
            if inn:
                if seen and inn != seen:
                    return True
                seen = inn
        limit = self.settings.hub_min_clients
        entries = {(names[m], persons[m], bool(inns[m])) for m in members if names[m]}
        return len(entries) >= limit and _count_parties(entries, limit, self.settings.review_score) >= limit

    def link_persons(self, members: list[int], rule: str, via: str) -> None:
        """A shared phone or email joins a person only to records whose names can be the same person."""
        names, persons = self.names, self.persons
        by_name: dict[str, list[int]] = defaultdict(list)
        for m in members:
            if names[m]:
                by_name[names[m]].append(m)
        groups = [(name, group, any(persons[m] for m in group)) for name, group in by_name.items()]
        for name, group, has_person in groups:
            if has_person and len(group) > 1:
                self.link_all(group, rule, f'name "{name}", {via}')
        for i, (name_a, group_a, person_a) in enumerate(groups):
            if not person_a:
                continue
            for j, (name_b, group_b, person_b) in enumerate(groups):  # each person pair once
                if (j > i or not person_b) and j != i and person_names_compatible(name_a, name_b):
                    self.link(group_a[0], group_b[0], rule, 100.0, f'names "{name_a}" ~ "{name_b}", {via}')


def _marks(person: bool, domains: tuple[str, ...], kpp: str | None, hub_domains: set[str],
           head_offices: dict[str, tuple[str]]) -> tuple[str, ...]:
    """The company email domains (but hubs) and the head-office KPP (reason code 01) of a company's record.
    A KPP alone is one tuple for all its records, kept in `head_offices`: half of a base's records."""
    if person:
        return ()
    if hub_domains and not hub_domains.isdisjoint(domains):
        domains = tuple(domain for domain in domains if domain not in hub_domains)
    if kpp and kpp[4:6] == "01":
        return (*domains, kpp) if domains else head_offices.setdefault(kpp, (kpp,))
    return domains


def _count_parties(entries: set[tuple[str, bool, bool]], limit: int, review_score: float) -> int:
    """How many clearly different clients (counting up to limit) the (name, person, has INN) entries show.

    Names seen with the key's one INN are one client; other names join a client whose name is
    similar (or, for two persons, compatible), else they start a new one.
    """
    parties: list[list[tuple[str, bool]]] = []
    with_inn = sorted((name, person) for name, person, has_inn in entries if has_inn)
    if with_inn:
        parties.append(with_inn[:_PARTY_NAMES])
    for name, person in sorted({(name, person) for name, person, has_inn in entries if not has_inn} - set(with_inn)):
        for party in parties:
            if any((person and other_person and person_names_compatible(name, other))
                   or name_similarity(name, other) >= review_score for other, other_person in party):
                if len(party) < _PARTY_NAMES and (name, person) not in party:
                    party.append((name, person))
                break
        else:
            parties.append([(name, person)])
            if len(parties) >= limit:
                break
    return len(parties)


def find_clusters(records: Iterable[MatchRecord], settings: DedupeSettings,
                  cannot_link: Iterable[tuple[int, int]] = (), offices: dict[str, str] | None = None,
                  parallel: bool | None = None, compared: Compared | None = None) -> DedupeResult:
    """Cluster records into clients; cannot_link holds pairs of record ids the user split apart.

    `offices` gives the city of each tax office (see office_cities); by default the records show it.
    A clustering of part of a base passes the whole base's, and `compared`: of pairs of records (their names'
    first records), whether a clustering of the whole base compares their names. Similar names
    are looked for in a process of their own while this one links the keys when `parallel`, by default for
    PARALLEL_NAMES names or more: the result is the same either way.
    """
    with cyclic_gc_paused():
        return _find_clusters(records, settings, cannot_link, offices, parallel, compared)


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Pause the cyclic collector, and leave it as it was found.

    Clustering allocates millions of small objects that reference counting frees (none form cycles):
    the collector would only rescan the growing heap, a fifth of the time on a million records.
    """
    collecting, frozen = gc.isenabled(), gc.get_freeze_count()
    gc.disable()
    try:
        yield
    finally:
        if not frozen:  # a caller's frozen objects stay frozen
            # What was made meanwhile goes to the oldest generation (freeze and unfreeze move it there
            # without a scan): else the first collection after this would scan every object made.
            gc.freeze()
            gc.unfreeze()
        if collecting:
            gc.enable()


def _find_clusters(records: Iterable[MatchRecord], settings: DedupeSettings, cannot_link: Iterable[tuple[int, int]],
                   offices: dict[str, str] | None, parallel: bool | None, compared: Compared | None) -> DedupeResult:
    linker = _Linker(records, settings, cannot_link)
    if offices is None:
        kpp_cities = Counter((kpp, city) for kpp, city in zip(linker.kpps, linker.cities) if kpp and city)
        offices = office_cities(((kpp, city, n) for (kpp, city), n in kpp_cities.items()),
                                {(linker.inn_text(inn), city) for inn, city in zip(linker.inns, linker.cities)
                                 if inn and city})
    linker.home = offices
    items = _name_items(linker)
    separate = parallel if parallel is not None else len(items.names) >= PARALLEL_NAMES and cores() > 1
    search = (items.names, items.city_numbers, settings.review_score,
              numpy.frombuffer(linker.inns, dtype=numpy.int64)[numpy.array(items.firsts, dtype=numpy.int64)])
    with InChild(_similar_pairs, search, separate) as similar:
        del search
        hubs, joined = _link_keys(linker)
        linker.release_keys()
        ambiguous = _link_same_names(linker, items)
        scored = similar.values()
        if compared is not None:
            scored = (_only_compared(batch, items, linker.ids, compared) for batch in scored)
        _link_similar_names(linker, items, ambiguous, scored)
    linker.release_records()

    roots = _roots(linker.forest.parent)
    return DedupeResult(
        clusters=_clusters(linker.ids, roots),
        pairs=FoundPairs(linker.ids, linker.merged, linker.review, _closest_reviews(linker.review, roots)),
        hubs={phone: len(set(roots[members].tolist())) for phone, members in hubs},
        ids=linker.ids,
        joined=linker.ids[joined],
        cluster_of=linker.ids[roots],
    )


def _only_compared(similar: _Similar, items: _NameItems, ids: numpy.ndarray, compared: Compared) -> _Similar:
    """The pairs of similar names without those `compared` says are not compared."""
    first, second, scores = similar
    firsts = numpy.array(items.firsts, dtype=numpy.int64)
    kept = compared(ids[firsts[first]], ids[firsts[second]])
    return first[kept], second[kept], scores[kept]


def _positions_of(ids: numpy.ndarray, pairs: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """The positions in `ids` (sorted) of the pairs of two different ids both in it."""
    wanted = numpy.array([pair for pair in pairs if pair[0] != pair[1]], dtype=numpy.int64).reshape(-1, 2)
    if not len(ids) or not len(wanted):
        return []
    at = numpy.minimum(numpy.searchsorted(ids, wanted), len(ids) - 1)
    return list(map(tuple, at[(ids[at] == wanted).all(axis=1)].tolist()))


def _roots(parent: array) -> numpy.ndarray:
    """Each record's root in the forest: every path halved at once until none is left."""
    roots = numpy.frombuffer(parent, dtype=numpy.int64).copy()
    while not numpy.array_equal(up := roots[roots], roots):
        roots = up
    return roots


def _clusters(ids: numpy.ndarray, roots: numpy.ndarray) -> list[list[int]]:
    """The record ids of each root, each list in id order (positions are), the lists by their first id."""
    if not len(ids):
        return []
    order = numpy.argsort(roots, kind="stable")
    grouped = roots[order]
    starts = numpy.flatnonzero(numpy.concatenate(([True], grouped[1:] != grouped[:-1])))
    ends = numpy.append(starts[1:], len(order))
    by_first = numpy.argsort(order[starts])
    flat = ids[order].tolist()
    return [flat[start:end] for start, end in zip(starts[by_first].tolist(), ends[by_first].tolist())]


def _closest_reviews(suggested: _Pairs, roots: numpy.ndarray) -> numpy.ndarray:
    """The suggested pairs to list, by their place in `suggested`: one per two clusters, the closest one
    (then the first by positions), as the question is whether the clients are one. A pair suggested
    twice keeps its first reason."""
    if not suggested:
        return numpy.empty(0, numpy.int64)
    a, b = _positions(suggested.a), _positions(suggested.b)
    scores = numpy.frombuffer(suggested.scores, dtype=numpy.float64)
    root_a, root_b = roots[a], roots[b]
    low, high = numpy.minimum(root_a, root_b), numpy.maximum(root_a, root_b)
    once = numpy.unique(a * len(roots) + b, return_index=True)[1]
    apart = once[low[once] != high[once]]
    ranked = apart[numpy.lexsort((b[apart], a[apart], -scores[apart], high[apart], low[apart]))]
    ranked_low, ranked_high = low[ranked], high[ranked]
    first = numpy.ones(len(ranked), dtype=bool)  # the first of each two clusters
    first[1:] = (ranked_low[1:] != ranked_low[:-1]) | (ranked_high[1:] != ranked_high[:-1])
    return ranked[first]


def _positions(column: array) -> numpy.ndarray:
    return numpy.frombuffer(column, dtype=numpy.int64)


def _link_keys(linker: _Linker) -> tuple[list[tuple[str, list[int]]], numpy.ndarray]:
    """Join the records on their keys, strongest first; return the hub phones and their records, and each
    record's component under every shared key (components)."""
    domains, emails = _Groups(), _Groups()
    for i, (person, record_emails, record_domains) in enumerate(
            zip(linker.persons, linker.emails, linker.email_domains)):
        if person:  # persons join on name + phone or email; their domains and city say nothing
            for email in record_emails:
                emails.add(email, i)
        else:
            for domain in record_domains:
                domains.add(domain, i)
    hub_domains = {domain for domain, members in domains.shared.items() if linker.is_hub(members)}
    head_offices: dict[str, tuple[str]] = {}
    linker.forest.marks = [_marks(person, record_domains, kpp, hub_domains, head_offices)
                           for person, record_domains, kpp in zip(linker.persons, linker.email_domains, linker.kpps)]
    del head_offices
    inns = _shared_inns(linker.inns)
    _link_strong_keys(linker, inns, domains, hub_domains)
    strong = _star_edges([*inns, *domains.shared.values()])
    del domains, inns
    starts = linker.phone_starts
    phones = _shared_numbers(linker.phone_numbers, lambda places: numpy.searchsorted(starts, places, "right") - 1)
    hubs = _link_phones(linker, phones)
    by_phone = _star_edges([members for _, members in phones])
    del phones
    for email, members in emails.shared.items():
        if not linker.is_hub(members):
            linker.link_persons(members, "person:name+email", f"email {email}")
    by_email = _star_edges(list(emails.shared.values()))
    return hubs, components(len(linker.ids), *map(numpy.concatenate, zip(strong, by_phone, by_email)))


def _star_edges(groups: Sequence[Sequence[int]]) -> tuple[numpy.ndarray, numpy.ndarray]:
    """Edges joining each group's members (a first one to itself too) to its first: enough for its component.
    Read by numpy: a loop over the groups took 0.5 s at 1M records."""
    sizes = numpy.fromiter(map(len, groups), dtype=numpy.int64, count=len(groups))
    members = numpy.fromiter(itertools.chain.from_iterable(groups), dtype=numpy.int64, count=int(sizes.sum()))
    return members, numpy.repeat(members[numpy.cumsum(sizes) - sizes], sizes)


def components(count: int, a: numpy.ndarray, b: numpy.ndarray) -> numpy.ndarray:
    """Each of `count` nodes' connected component under the edges (a[k], b[k]), as its smallest node.

    Every edge hooks the larger of its two roots to the smaller, then every path is halved until each node
    points at its root; a few rounds, each a handful of numpy passes, where a Python union-find took seconds.
    """
    label = numpy.arange(count, dtype=numpy.int64)
    while len(a) and not numpy.array_equal(root_a := label[a], root_b := label[b]):
        low = numpy.minimum(root_a, root_b)
        numpy.minimum.at(label, root_a, low)
        numpy.minimum.at(label, root_b, low)
        while not numpy.array_equal(up := label[label], label):
            label = up
    return label


def _shared_inns(inns: array) -> list[list[int]]:
    """The records of each INN that two records or more carry, as _shared_numbers lists them."""
    numbers = numpy.frombuffer(inns, dtype=numpy.int64)
    carriers = numpy.flatnonzero(numbers)
    return [members for _, members in _shared_numbers(numbers[carriers], carriers.__getitem__)]


def _shared_numbers(numbers: numpy.ndarray, carriers: Callable[[numpy.ndarray], numpy.ndarray]
                    ) -> list[tuple[int, list[int]]]:
    """Each number that two records or more carry, with their positions in order. `carriers` gives the
    position of the record carrying each of the numbers at the places given, and never decreases with
    the place. Listed as reading the records one by one finds them shared: by the place of the number in
    its second record. Sorted arrays, not a dict of every number, which took as much memory as the keys;
    only the numbers seen twice are carried further, so that 10M records' phones take two arrays' memory."""
    order = numpy.argsort(numbers, kind="stable")  # each number's places, in record order
    sorted_numbers = numbers[order]
    repeated = numpy.zeros(len(order), dtype=bool)
    same = sorted_numbers[1:] == sorted_numbers[:-1]
    repeated[1:] = same
    repeated[:-1] |= same
    del same
    order, sorted_numbers = order[repeated], sorted_numbers[repeated]
    del repeated
    positions = carriers(order)
    first_of_number = numpy.ones(len(order), dtype=bool)
    first_of_number[1:] = sorted_numbers[1:] != sorted_numbers[:-1]
    kept = first_of_number.copy()  # a number repeated within one record counts once
    kept[1:] |= positions[1:] != positions[:-1]
    order, sorted_numbers, positions, first_of_number = (
        column[kept] for column in (order, sorted_numbers, positions, first_of_number))
    starts_of_number = numpy.flatnonzero(first_of_number)
    counts = numpy.diff(numpy.append(starts_of_number, len(order)))
    shared = starts_of_number[counts > 1]
    counts = counts[counts > 1]
    by_second = numpy.argsort(order[shared + 1], kind="stable")
    listed = positions.tolist()
    return [(number, listed[start:start + count]) for number, start, count
            in zip(sorted_numbers[shared[by_second]].tolist(), shared[by_second].tolist(),
                   counts[by_second].tolist())]


def _link_strong_keys(linker: _Linker, inns: list[list[int]], domains: _Groups, hub_domains: set[str]) -> None:
    kpps = linker.kpps
    for members in inns:
        first = members[0]
        inn = linker.inn_text(linker.inns[first])
        for other in members[1:]:
            kpp_a, kpp_b = kpps[first], kpps[other]
            branches = f", KPP {kpp_a} / {kpp_b}" if kpp_a and kpp_b and kpp_a != kpp_b else ""
            linker.link(first, other, "inn", 100.0, f"INN {inn}{branches}")
    for domain, members in domains.shared.items():
        if domain not in hub_domains:  # a holding's or a web studio's domain
            linker.link_all(members, "email_domain", f"email domain {domain}")


def _link_phones(linker: _Linker, phones: list[tuple[int, list[int]]]) -> list[tuple[str, list[int]]]:
    """Join companies on a shared phone, persons on a phone and a compatible name; return the hubs."""
    persons = linker.persons
    hubs: list[tuple[str, list[int]]] = []
    for number, members in phones:
        phone = linker.phone_text(number)
        if linker.is_hub(members):
            hubs.append((phone, members))
            continue
        companies = [m for m in members if not persons[m]]
        if len(companies) > 1:
            linker.link_all(companies, "phone", f"phone {phone}")
        if len(companies) < len(members):
            linker.link_persons(members, "person:name+phone", f"phone {phone}")
    return hubs


def _inn_number(inn: str, odd: dict[str, int]) -> int:
    """An INN as a number one to one with it, never 0: from its digits and whether it has 12, and anything
    else a negative number of its own in `odd`. 60 bytes a record less than a string at 10M records."""
    if len(inn) in (10, 12) and inn.isascii() and inn.isdigit():
        return 2 * int(inn) + (len(inn) == 12) + 1
    return odd.setdefault(inn, -1 - len(odd))


def _phone_number(phone: str, odd: dict[str, int]) -> int:
    """A phone as a number one to one with it: an E.164 number's digits, and anything else a negative
    number of its own in `odd`."""
    try:
        number = int(phone)
    except ValueError:
        number = -1
    if 0 <= number < _NUMBERS_END and f"+{number}" == phone:
        return number
    return odd.setdefault(phone, -1 - len(odd))


def office_cities(kpp_cities: Iterable[tuple[str, str, int]], inn_cities: Iterable[tuple[str, str]]) -> dict[str, str]:
    """The city of each tax office (the first four digits of an INN or a KPP), when the base shows it.

    kpp_cities: (KPP or its office, city, how many records). inn_cities: each distinct (valid INN, city).
    A KPP's office is where its record is registered: each record counts. An INN's office is where
    its head office is, but its records may be branches elsewhere: each company counts once in each
    of its cities. The office's city has more than half of the counts, and two at least.
    """
    counts: Counter[tuple[str, str]] = Counter()  # (office, city) -> count
    for kpp, city, records in kpp_cities:
        counts[kpp[:4], city] += records
    counts.update((inn[:4], city) for inn, city in inn_cities)
    return office_majority(counts.items())


def office_majority(counts: Iterable[tuple[tuple[str, str], int]]) -> dict[str, str]:
    """The city of each tax office from the count of each (office, city), every pair once: the city with more
    than half of the office's counts, and two at least."""
    totals: Counter[str] = Counter()
    best: dict[str, tuple[int, str]] = {}  # office -> its most counted city (a tie never has more than half)
    for (office, city), count in counts:
        totals[office] += count
        if count > best.get(office, (0, ""))[0]:
            best[office] = count, city
    return {office: city for office, (count, city) in best.items() if count >= 2 and 2 * count > totals[office]}


@dataclass(slots=True)
class _NameItems:
    """One item per (city, name) of the companies with a name, in parallel lists: lighter than a million tuples."""

    cities: list[str | None]
    names: list[str]
    firsts: list[int]  # the item's first record
    shared: list[list[int] | None]  # every record of an item two or more records carry
    city_numbers: numpy.ndarray  # each item's city as a number from 1, 0 for none


def _name_items(linker: _Linker) -> _NameItems:
    """The companies' (city, name) items. A company without a city is put in the city of its KPP's tax
    office, else of its INN's, when the base shows it (see office_cities); else it has none."""
    names, home, placed = linker.names, linker.home, linker.placed
    by_city: dict[str | None, _Groups] = defaultdict(_Groups)
    cityless: list[int] = []
    for i, (person, name, city) in enumerate(zip(linker.persons, names, linker.cities)):
        if person or not name:  # persons join on name + phone or email
            continue
        if city:
            by_city[city].add(name, i)
        else:
            cityless.append(i)
    for i in cityless:  # after those with a city: an item's first record is one in its city, if any
        city, how = office_city(linker.kpps[i], linker.inn_text(linker.inns[i]), home)
        if city:
            placed[i] = how
        by_city[city].add(names[i], i)
    items = _NameItems([], [], [], [], numpy.empty(0, numpy.int64))
    for city, groups in by_city.items():
        items.cities.extend([city] * len(groups.first))
        items.names.extend(groups.first)
        items.firsts.extend(groups.first.values())
        items.shared.extend(map(groups.shared.get, groups.first))
    numbers = [0 if city is None else n for n, city in enumerate(by_city, 1)]
    items.city_numbers = numpy.repeat(numbers, [len(groups.first) for groups in by_city.values()]).astype(numpy.int64)
    return items


def office_city(kpp: str | None, inn: str | None, home: dict[str, str]) -> tuple[str | None, str]:
    """The city a company without one is placed in, and why: its KPP's tax office's, else its INN's,
    when `home` (see office_cities) knows it; (None, "") when neither does."""
    if kpp and kpp[:4] in home:
        return home[kpp[:4]], f"city of KPP {kpp}"
    if inn and inn[:4] in home:
        return home[inn[:4]], f"city of INN {inn}"
    return None, ""


def _link_same_names(linker: _Linker, items: _NameItems) -> set[int]:
    """Companies of the same name in a city merge; return the items whose name two valid INNs carry.

    Without a city to agree on, the same name is listed for review. A name carried by two valid INNs
    in one city cannot tell which of them its other records belong to: review only.
    """
    settings, inns = linker.settings, linker.inns
    cities, names, firsts = items.cities, items.names, items.firsts
    ambiguous: set[int] = set()
    for item, members in enumerate(items.shared):
        if members is not None:
            city, name, first = cities[item], names[item], firsts[item]
            if city is None:
                for other in members[1:]:
                    linker.suggest(first, other, "name", 100.0, f'name "{name}", city unknown')
            elif len(carriers := {inns[m]: m for m in reversed(members) if inns[m]}) > 1:
                ambiguous.add(item)
                if len(carriers) < settings.hub_min_clients:  # with more, the name is a generic word
                    without_inn = [m for m in members if not inns[m]]
                    for carrier in sorted(carriers.values()):
                        for other in without_inn:
                            linker.suggest(carrier, other, "name+city", 100.0,
                                           f'name "{name}" in {city}, carried by different INNs')
            else:
                for other in members[1:]:
                    linker.link_by_name(first, other, city, 100.0, f'name "{name}" in {city}')
    return ambiguous


def _link_similar_names(linker: _Linker, items: _NameItems, ambiguous: set[int], similar: Iterable[_Similar]) -> None:
    """Similar names in a city merge when one typo apart and nothing tells the companies apart, else go
    to review; without a city to agree on, they are listed for review at most, and not even that when
    the name is found in hub_min_clients cities (a chain, a generic word). `similar` holds the items'
    similar names (see _similar_pairs; given the items' INNs, so that two INNs in one city are left out),
    `ambiguous` the items whose name two valid INNs carry.
    """
    settings = linker.settings
    cities, names, firsts, shared_members = items.cities, items.names, items.firsts, items.shared

    def explain(k1: int, k2: int, score: float) -> tuple[int, int, str]:
        a, b, name_a, name_b = firsts[k1], firsts[k2], names[k1], names[k2]
        if a > b:
            a, b, name_a, name_b = b, a, name_b, name_a
        return a, b, f'name "{name_a}"' if name_a == name_b else f'names "{name_a}" ~ "{name_b}" ({score})'

    def phones_of(k: int) -> set[int]:
        return {p for m in (shared_members[k] or (firsts[k],)) for p in linker.phones_of(m)}

    merges: list[tuple[float, int, int, str, str]] = []
    unplaced: dict[int, list[tuple[float, int]]] = defaultdict(list)  # an item without a city -> its matches
    for k1, k2, score in itertools.chain.from_iterable(map(_each_pair, similar)):
        city = cities[k1]
        if city != cities[k2]:  # one of them has no city
            if score >= settings.merge_score:
                unplaced[k1 if city is None else k2].append((score, k2 if city is None else k1))
            continue
        if (firsts[k1], firsts[k2]) in linker.banned:  # two INNs are left out already; neither merged nor listed
            continue
        a, b, detail = explain(k1, k2, score)
        if city is None:
            if score >= settings.merge_score:
                linker.suggest(a, b, "name", score, f"{detail}, city unknown")
        elif score >= settings.merge_score and k1 not in ambiguous and k2 not in ambiguous:
            phones_1, phones_2 = phones_of(k1), phones_of(k2)
            if phones_1 and phones_2 and phones_1.isdisjoint(phones_2):
                # Similar names in one city with different phones: often two firms (Нефтекомплект and
                # Нефтекомплекс), so a person decides.
                linker.suggest(a, b, "name+city", score, f"{detail} in {city}, no phone in common")
            elif not _one_typo_apart(names[k1], names[k2]):
                linker.suggest(a, b, "name+city", score, f"{detail} in {city}, more than a typo apart")
            else:
                merges.append((-score, a, b, city, f"{detail} in {city}"))
        else:
            linker.suggest(a, b, "name+city", score, f"{detail} in {city}")
    merges.sort()
    for negative, a, b, city, detail in merges:
        linker.link_by_name(a, b, city, -negative, detail)

    for k, matches in unplaced.items():
        if len({cities[other] for _, other in matches}) < settings.hub_min_clients:
            for score, other in sorted(matches, key=lambda match: (-match[0], match[1])):
                a, b, detail = explain(k, other, score)
                linker.suggest(a, b, "name", score, f"{detail}, city unknown vs {cities[other]}")


def _each_pair(similar: _Similar) -> Iterator[tuple[int, int, float]]:
    """(k1, k2, score) of each pair, a slice at a time: a million names find millions of pairs."""
    first, second, scores = similar
    for start in range(0, len(first), _SCORED_SLICE):
        end = start + _SCORED_SLICE
        yield from zip(first[start:end].tolist(), second[start:end].tolist(), scores[start:end].tolist())


def _similar_pairs(names: list[str], city_of: numpy.ndarray, review_score: float,
                   inn_of: numpy.ndarray | None = None) -> Iterator[_Similar]:
    """(k1, k2, score) for the (city, name) items whose names score review_score or more, k1 < k2, as
    three arrays in (k1, k2) order: one batch per name order, each pair in the first that finds it, so
    that the caller can work on one while the next is looked for.

    Compared: items of one city within a block, and an item without a city with its neighbours in
    name order whatever their city. rapidfuzz measures the edits of every pair a window allows, a
    strip of neighbours at a time; name_similarity is computed only for names close enough as written.
    city_of numbers each item's city, 0 for none. Given each item's valid INN as a number (`inn_of`, 0 for
    none; see _inn_number), two items of one city with two INNs are left out unscored: nothing could join
    or list them (two thirds of the pairs of a large base).
    """
    count = len(names)
    lengths = numpy.fromiter(map(len, names), dtype=numpy.int64, count=count)
    close = _CloseAsWritten(review_score, int(lengths.max(initial=1)))
    cityless = city_of == 0
    # k1 * count + k2 of each pair close enough as written, repeats included, and its edits as written:
    # 12 bytes a pair, where a dict of pairs to scores took about 100 (a million names find millions of pairs).
    found: list[numpy.ndarray] = []
    found_edits: list[numpy.ndarray] = []
    earlier = numpy.empty(0, numpy.int64)  # the pairs of the batches before, sorted

    # Many items share a name (one per city): each distinct name is keyed and sorted once.
    distinct = list(dict.fromkeys(names))
    numbered = dict(zip(distinct, range(len(distinct))))
    name_of = numpy.fromiter(map(numbered.__getitem__, names), dtype=numpy.int64, count=count)
    del numbered
    written = numpy.array(distinct, dtype=object)

    def compare(order: numpy.ndarray, compared: numpy.ndarray) -> None:
        """The pairs (order[p], order[p + j]), 1 <= j <= NAME_WINDOW, where compared[p, j - 1]."""
        first, second, edits = close.pairs(written[name_of[order]].tolist(), lengths[order], compared)
        a, b = order[first], order[second]
        found.append(numpy.minimum(a, b) * count + numpy.maximum(a, b))
        found_edits.append(edits)

    for sort_key in NAME_ORDERS:
        sort_keys = list(map(sort_key, distinct))
        rank = numpy.empty(len(distinct), dtype=numpy.int64)
        rank[sorted(range(len(distinct)), key=sort_keys.__getitem__)] = numpy.arange(len(distinct))
        # A sort key is one-to-one on names: items tie only on one name, and keep their order.
        by_name = numpy.argsort(rank[name_of], kind="stable")
        if cityless.any():  # an item without a city may belong to any: its neighbours in every city
            compare(by_name, _window(cityless[by_name], numpy.logical_or))
        # Blocks are runs of one city and one key prefix; a stable sort by city keeps the name order.
        order = by_name[numpy.argsort(city_of[by_name], kind="stable")]
        prefix_ids: dict[str, int] = {}
        prefix_of = numpy.fromiter((prefix_ids.setdefault(key[:BLOCK_LETTERS], len(prefix_ids)) for key in sort_keys),
                                   dtype=numpy.int64, count=len(distinct))
        del sort_keys, rank
        prefixes = prefix_of[name_of[order]]
        starts = numpy.ones(count, dtype=bool)
        starts[1:] = (city_of[order][1:] != city_of[order][:-1]) | (prefixes[1:] != prefixes[:-1])
        compare(order, _window(numpy.cumsum(starts), numpy.equal))
        pairs, first = numpy.unique(numpy.concatenate(found or [numpy.empty(0, numpy.int64)]), return_index=True)
        edits = numpy.concatenate(found_edits or [numpy.empty(0, numpy.int32)])[first]
        found.clear()
        found_edits.clear()
        new = ~numpy.isin(pairs, earlier, assume_unique=True)
        pairs, edits = pairs[new], edits[new]
        earlier = numpy.sort(numpy.concatenate((earlier, pairs)), kind="stable")  # two sorted runs: merged
        if inn_of is not None:
            k1, k2 = numpy.divmod(pairs, count)
            inn_1, inn_2 = inn_of[k1], inn_of[k2]
            kept = (city_of[k1] != city_of[k2]) | (inn_1 == 0) | (inn_2 == 0) | (inn_1 == inn_2)
            del k1, k2, inn_1, inn_2
            pairs, edits = pairs[kept], edits[kept]
        yield _scored(pairs, edits, names, lengths, close.ratios, review_score)


def _window(column: numpy.ndarray, relate: numpy.ufunc) -> numpy.ndarray:
    """compared[p, j - 1] = relate(column[p], column[p + j]) for 1 <= j <= NAME_WINDOW; False past the end."""
    count = len(column)
    compared = numpy.zeros((count, NAME_WINDOW), dtype=bool)
    for j in range(1, min(count, NAME_WINDOW + 1)):
        compared[:count - j, j - 1] = relate(column[:count - j], column[j:])
    return compared


class _CloseAsWritten:
    """Which pairs of neighbours are close enough as written for their similarity to be worth computing.

    A pair is close when rapidfuzz's cutoff on the normalised edit distance (edit_cutoff) keeps it and
    its score as written, rounded as name_similarity rounds it, reaches review_score; both are read
    from tables of every (length, edits), so that the test is exactly the one a pair at a time made.
    """

    _STRIP = 16  # rows measured per rapidfuzz call: a wider strip measures more cells outside the window
    _PART = 65_536  # rows whose edits are held at a time

    def __init__(self, review_score: float, longest: int) -> None:
        cutoff = edit_cutoff(review_score)
        allowed = numpy.array([_most_edits_kept(longer, cutoff) for longer in range(longest + 1)])
        self.most = int(allowed.max())  # no pair with more edits passes
        self.near = numpy.arange(self.most + 1)[None, :] <= allowed[:, None]  # near[longer length, edits]
        # ratios[len a + len b, edits]: a name's similarity as written, exactly as _edit_ratio rounds it.
        self.ratios = numpy.array([[round(_ratio(size, e), 1) for e in range(self.most + 1)]
                                   for size in range(2 * longest + 1)])
        self.scored = self.ratios >= review_score
        self.scored[0] = False

    def pairs(self, ordered: list[str], lengths: numpy.ndarray,
              compared: numpy.ndarray) -> tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray]:
        """(p, p + j, edits) of the close pairs among those `compared` allows (see _window)."""
        count, strip, part = len(ordered), self._STRIP, self._PART
        rows = numpy.arange(strip)[:, None]
        columns = rows + numpy.arange(NAME_WINDOW)[None, :]  # row i's neighbour i + j, among the choices from i + 1
        firsts, seconds, all_edits = [], [], []
        for part_start in range(0, count, part):
            part_compared = compared[part_start:part_start + part]
            height = len(part_compared)
            band = numpy.full((height, NAME_WINDOW), self.most + 1, dtype=numpy.int32)  # band[p, j - 1]: edits
            any_pair = numpy.zeros(-(-height // strip) * strip, dtype=bool)
            any_pair[:height] = part_compared.any(axis=1)
            for start in (numpy.flatnonzero(any_pair.reshape(-1, strip).any(axis=1)) * strip).tolist():
                top = part_start + start
                end = min(part_start + height, top + strip)
                choices = ordered[top + 1:end + NAME_WINDOW]
                measured = process.cdist(ordered[top:end], choices, scorer=OSA.distance, dtype=numpy.int32,
                                         score_cutoff=self.most)
                band[start:start + end - top] = measured[rows[:end - top],
                                                         numpy.minimum(columns[:end - top], len(choices) - 1)]
            row, offset = numpy.nonzero(part_compared & (band <= self.most))
            edits = band[row, offset]
            first = part_start + row
            second = first + offset + 1
            a, b = lengths[first], lengths[second]
            keep = self.scored[a + b, edits] & self.near[numpy.maximum(a, b), edits]
            firsts.append(first[keep])
            seconds.append(second[keep])
            all_edits.append(edits[keep])
        empty = numpy.empty(0, numpy.int64)
        return (numpy.concatenate(firsts or [empty]), numpy.concatenate(seconds or [empty]),
                numpy.concatenate(all_edits or [numpy.empty(0, numpy.int32)]))


def _most_edits_kept(longer: int, cutoff: float) -> int:
    """The most edits between two names, the longer of `longer` letters, that rapidfuzz's normalised cutoff
    keeps. Its decision depends on these two numbers only, and is asked of it: in floats it is not
    always edits / longer <= cutoff."""
    def kept(edits: int) -> bool:
        return bool(process.extract("a" * longer, ["a" * (longer - edits) + "b" * edits], scorer=OSA.normalized_distance,
                                    score_cutoff=cutoff, limit=None))

    edits = min(longer, int(cutoff * longer) + 2)
    while edits > 0 and not kept(edits):
        edits -= 1
    return edits


def _scored(pairs: numpy.ndarray, edits: numpy.ndarray, names: list[str], lengths: numpy.ndarray,
            ratios: numpy.ndarray, review_score: float) -> _Similar:
    """(k1, k2, score) of the pairs that score review_score or more. A pair of one-word names scores its
    edits as written, read from `ratios` (see _CloseAsWritten); only names with words are scored one by one."""
    count = len(names)
    first, second = numpy.divmod(pairs, count)
    scores = ratios[lengths[first] + lengths[second], edits]
    worded = numpy.fromiter(map(str.__contains__, names, itertools.repeat(" ")), dtype=bool, count=count)
    by_words = numpy.flatnonzero(worded[first] | worded[second])
    for start in range(0, len(by_words), _SCORED_SLICE):  # a slice of Python objects at a time
        part = by_words[start:start + _SCORED_SLICE]
        scores[part] = [name_similarity(names[k1], names[k2], e) for k1, k2, e in
                        zip(first[part].tolist(), second[part].tolist(), edits[part].tolist())]
    kept = scores >= review_score
    return first[kept], second[kept], scores[kept]


def edit_cutoff(review_score: float) -> float:
    """The normalised edit distance past which no name scores review_score: a bound rapidfuzz applies in C.

    edits <= share·(len a + len b) <= 2·share·max(len a, len b), where share = 1 - review_score / 100.
    """
    return min(1.0, 2 * (1 - review_score / 100))


def _last_letters_first(name: str) -> str:
    return name[::-1]


def _first_word_last(name: str) -> str:
    head, _, rest = name.partition(" ")
    return f"{rest} {head}" if rest else head


# The two name orders similar names are looked for in: by their last letters, and with the first word
# moved last, for their first letters (a first word is often generic, 'тд', 'стройсервис', and blocks
# on it would be large and full of names that differ only after it). An incremental clean looks in
# the same neighbourhoods.
NAME_ORDERS = (_last_letters_first, _first_word_last)


def group_contacts(contacts: Sequence[ContactRecord]) -> list[list[int]]:
    """Group the contacts of one client that are the same person; each group sorted, groups by first id.

    The same name (in any word order) joins; a shared phone or email joins names that can be one
    person ('Иванов Иван' ~ 'Иванов И.И.' ~ 'Иван Иванов'), and every name in a group must be
    compatible with every other, so 'Иванов И.' cannot chain 'Иванов Иван' to 'Иванов Игорь'. A
    contact without a name joins the one person its phones and emails point to, and stays alone
    when they point to several. A phone or email of more than _SWITCHBOARD people joins nobody.
    """
    ordered = sorted(contacts, key=attrgetter("contact_id"))
    names = [c.name_key or None for c in ordered]
    parent = list(range(len(ordered)))
    group_names: dict[int, set[str]] = {i: {name} for i, name in enumerate(names) if name}

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def join(a: int, b: int) -> None:
        ra, rb = find(a), find(b)
        if ra == rb:
            return
        left, right = group_names.get(ra, set()), group_names.get(rb, set())
        if all(x == y or person_names_compatible(x, y) for x in left for y in right):
            parent[rb] = ra
            if right:
                group_names[ra] = left | group_names.pop(rb)

    by_key: dict[str, list[int]] = defaultdict(list)
    for i, contact in enumerate(ordered):
        for key in _contact_keys(contact):
            by_key[key].append(i)
    by_name: dict[str, list[int]] = defaultdict(list)
    for i, name in enumerate(names):
        if name:  # 'иван иванов' is 'иванов иван'
            by_name[" ".join(sorted(name.split()))].append(i)
    for group in by_name.values():
        for other in group[1:]:
            join(group[0], other)
    switchboards: set[str] = set()  # an office line or a shared mailbox says nothing about who is who
    for key, members in by_key.items():
        people = list(dict.fromkeys(find(m) for m in members if names[m]))
        if len(people) > _SWITCHBOARD:
            switchboards.add(key)
            continue
        for later, b in enumerate(people):
            for a in people[:later]:
                join(a, b)

    # A nameless contact: to the one person its keys point to, or with other nameless ones.
    nameless = [i for i, name in enumerate(names) if not name]
    targets = {i: {find(m) for key in _contact_keys(ordered[i]) if key not in switchboards
                   for m in by_key[key] if names[m]}
               for i in nameless}
    for i in nameless:
        if len(targets[i]) == 1:
            parent[i] = next(iter(targets[i]))
    for key, members in by_key.items():
        loose = [m for m in members if not names[m] and not targets[m]]
        if key not in switchboards:
            for other in loose[1:]:
                join(loose[0], other)

    groups: dict[int, list[int]] = {}
    for i, contact in enumerate(ordered):
        groups.setdefault(find(i), []).append(contact.contact_id)
    return list(groups.values())


def _contact_keys(contact: ContactRecord) -> list[str]:
    return [*(f"phone {p}" for p in contact.phones), *(f"email {e}" for e in contact.emails)]
