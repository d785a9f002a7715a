import csv
import io
import json
import os
import random
import resource
import time
from collections import Counter, defaultdict

import numpy
import pytest
from hypothesis import example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from rapidfuzz import process
from rapidfuzz.distance import OSA

from clientbase.dedupe import (
    NAME_ORDERS,
    ContactRecord,
    DedupeSettings,
    MatchRecord,
    components,
    edit_cutoff,
    find_clusters,
    group_contacts,
    name_similarity,
    person_names_compatible,
)
from clientbase.dedupe import NAME_WINDOW as WINDOW
from clientbase.dedupe import _each_pair, _similar_pairs

SETTINGS = DedupeSettings()


def similar_names(cities, names, review_score):
    numbers = {city: n for n, city in enumerate(dict.fromkeys(cities), 1)}
    city_of = numpy.array([0 if city is None else numbers[city] for city in cities], dtype=numpy.int64)
    return [pair for batch in _similar_pairs(names, city_of, review_score) for pair in _each_pair(batch)]


def rec(record_id, name=None, city=None, inn=None, phones=(), person=False, kpp=None, domains=(), emails=()):
    return MatchRecord(record_id=record_id, name_key=name, person=person, city=city, inn=inn, kpp=kpp,
                       email_domains=tuple(domains), emails=tuple(emails), phones=tuple(phones))


def cluster_of(result, record_id):
    return next(cluster for cluster in result.clusters if record_id in cluster)


def together(result, *record_ids):
    return set(record_ids) <= set(cluster_of(result, record_ids[0]))


# --- the rules, one by one ------------------------------------------------------------------------------------

def test_same_inn_with_another_kpp_is_a_branch_of_the_same_client():
    result = find_clusters([rec(1, "ромашка", "москва", "7707083893", kpp="770701001"),
                            rec(2, "ромашка северо запад", "санкт петербург", "7707083893", kpp="781001001")],
                           SETTINGS)
    assert result.clusters == [[1, 2]]
    [pair] = result.pairs
    assert (pair.rule, pair.score, pair.decision) == ("inn", 100.0, "merged")
    assert pair.detail == "INN 7707083893, KPP 770701001 / 781001001"


def test_same_name_in_different_cities_with_different_inns_stays_apart():
    result = find_clusters([rec(1, "ромашка", "москва", "7707083893", phones=["+74951234567"]),
                            rec(2, "ромашка", "казань", "1655000010"),
                            rec(3, "ромашка", "москва"),  # joins the Moscow one
                            rec(4, "ромашка", "казань", phones=["+78432000000"])], SETTINGS)
    assert result.clusters == [[1, 3], [2, 4]]
    assert all(p.decision == "merged" for p in result.pairs)


def test_same_name_in_different_cities_without_inn_is_neither_merged_nor_reviewed():
    result = find_clusters([rec(1, "ромашка", "москва"), rec(2, "ромашка", "казань")], SETTINGS)
    assert result.clusters == [[1], [2]] and result.pairs == []


def test_a_reception_phone_shared_by_different_companies_is_a_hub():
    reception = "+74951112233"
    result = find_clusters([
        rec(1, "альфа строй", "москва", phones=[reception, "+74950000001"]),
        rec(2, "бета логистик", "москва", phones=[reception]),
        rec(3, "гамма консалт", "москва", phones=[reception]),
        rec(4, "альфа строй", None, phones=["+74950000001"]),  # its own phone still joins it
    ], SETTINGS)
    assert result.clusters == [[1, 4], [2], [3]]
    assert result.hubs == {reception: 3}
    assert [p.rule for p in result.pairs] == ["phone"]


def test_a_phone_on_two_valid_inns_is_a_hub_and_joins_nothing_else():
    shared = "+74951112233"
    result = find_clusters([rec(1, "ромашка", "москва", "7707083893", phones=[shared]),
                            rec(2, "лютик", "москва", "1655000010", phones=[shared]),
                            rec(3, "василек", "москва", phones=[shared])], SETTINGS)
    assert result.clusters == [[1], [2], [3]] and result.hubs == {shared: 3}


def test_a_phone_not_written_as_e164_is_compared_as_written():
    result = find_clusters([
        rec(1, "альфа строй", "москва", phones=["8 495 111-22-33"]),
        rec(2, "тд альфа", None, phones=["8 495 111-22-33"]),
        rec(3, "бета", "казань", phones=["74951112233"]),  # not the number below as written: no join
        rec(4, "гамма", "тула", phones=["+74951112233"]),
        rec(5, "дельта", "тула", phones=["ресепшн", "+00"]),  # "+00" and "+0" are two phones as written
        rec(6, "эпсилон", "тула", phones=["ресепшн", "+0"]),
        rec(7, "дзета", "тула", phones=["ресепшн"]),
    ], SETTINGS)
    assert result.clusters == [[1, 2], [3], [4], [5], [6], [7]]
    assert result.pairs[0].detail == "phone 8 495 111-22-33"
    assert result.hubs == {"ресепшн": 3}


def test_inns_differing_in_length_or_leading_zeros_are_two_clients():
    result = find_clusters([rec(1, "альфа", "москва", "0277000001"), rec(2, "бета", "казань", "000277000001"),
                            rec(3, "гамма", "тула", "0277000001"), rec(4, "дельта", "омск", "277000001"),
                            rec(5, "эпсилон", "сочи", "277000001")], SETTINGS)
    assert result.clusters == [[1, 3], [2], [4, 5]]
    assert [p.detail for p in result.pairs] == ["INN 0277000001", "INN 277000001"]


def test_a_phone_shared_by_two_records_of_one_company_joins_them():
    result = find_clusters([rec(1, "ромашка", "москва", phones=["+74951234567"]),
                            rec(2, "тд ромашка", None, phones=["+74951234567", "+79161234567"])], SETTINGS)
    assert result.clusters == [[1, 2]] and result.pairs[0].detail == "phone +74951234567"


def test_one_letter_typo_in_the_same_city_merges():
    assert name_similarity("ромашка", "ромашко") == 92.9  # fuzz.ratio would say 85.7
    result = find_clusters([rec(1, "ромашка", "москва"), rec(2, "ромашко", "москва")], SETTINGS)
    assert result.clusters == [[1, 2]]
    [pair] = result.pairs
    assert (pair.rule, pair.score, pair.decision) == ("name+city", 92.9, "merged")
    assert pair.detail == 'names "ромашка" ~ "ромашко" (92.9) in москва'


def test_one_letter_typo_with_a_shared_phone_merges():
    result = find_clusters([rec(1, "ромашка", "москва", phones=["+74951234567"]),
                            rec(2, "ромашко", None, phones=["+74951234567"])], SETTINGS)
    assert result.clusters == [[1, 2]]


def test_typo_without_city_or_phone_agreement_is_only_reviewed():
    result = find_clusters([rec(1, "ромашка", "москва", phones=["+74951234567"]),
                            rec(2, "ромашко", None, phones=["+74957654321"])], SETTINGS)
    assert result.clusters == [[1], [2]]
    [pair] = result.pairs
    assert (pair.a, pair.b, pair.rule, pair.decision) == (1, 2, "name", "review")
    assert pair.detail == 'names "ромашка" ~ "ромашко" (92.9), city unknown vs москва'


def test_names_that_differ_in_a_number_are_two_firms_to_review_not_one():
    result = find_clusters([rec(1, "стройтрест1", "москва"), rec(2, "стройтрест17", "москва"),
                            rec(3, "ромашка 2", "москва"), rec(4, "ромашко 2", "москва")], SETTINGS)
    assert result.clusters == [[1], [2], [3, 4]]
    [review] = [p for p in result.pairs if p.decision == "review"]
    assert (review.a, review.b) == (1, 2) and review.detail.endswith("in москва, more than a typo apart")


def test_close_but_not_close_enough_names_in_one_city_are_reviewed():
    assert 85 <= name_similarity("стройтех", "стройтекс") < 92
    result = find_clusters([rec(1, "стройтех", "москва"), rec(2, "стройтекс", "москва")], SETTINGS)
    assert result.clusters == [[1], [2]]
    assert [(p.rule, p.decision) for p in result.pairs] == [("name+city", "review")]


def test_similar_names_of_two_inns_or_split_apart_are_neither_merged_nor_reviewed():
    """Two valid INNs, or a split the user made, say two companies: a close name is no question to ask.
    A record without an INN close to both INNs' names is still a question."""
    result = find_clusters([rec(1, "ромашка", "москва", "7707083893"), rec(2, "ромашко", "москва", "1655000010"),
                            rec(3, "стройтех", "москва"), rec(4, "стройтекс", "москва"),
                            rec(5, "ромашкаа", "москва")],
                           SETTINGS, cannot_link=[(3, 4)])
    assert result.clusters == [[1, 5], [2], [3], [4]]
    assert [(p.a, p.b, p.decision) for p in result.pairs] == [(1, 5, "merged"), (2, 5, "review")]


def test_a_chain_never_joins_two_inns():
    # A (INN1) shares a phone with B (no INN); B's name is C's (INN2) in the same city.
    result = find_clusters([rec(1, "ромашка", "москва", "7707083893", phones=["+74951234567"]),
                            rec(2, "лютик", "москва", phones=["+74951234567"]),
                            rec(3, "лютик", "москва", "1655000010")], SETTINGS)
    assert result.clusters == [[1, 2], [3]]
    review = [p for p in result.pairs if p.decision == "review"]
    assert [(p.a, p.b, p.rule) for p in review] == [(2, 3, "name+city")]  # the refused name match is shown


def test_a_name_carried_by_two_inns_in_one_city_does_not_pick_one():
    result = find_clusters([rec(1, "ромашка", "москва", "7707083893"), rec(2, "ромашка", "москва", "1655000010"),
                            rec(3, "ромашка", "москва")], SETTINGS)
    assert result.clusters == [[1], [2], [3]]
    assert {(p.a, p.b) for p in result.pairs} == {(1, 3), (2, 3)}
    assert {p.decision for p in result.pairs} == {"review"}


def test_a_domain_on_two_inns_is_not_a_key():
    result = find_clusters([rec(1, "ромашка", "москва", "7707083893", domains=["holding.ru"]),
                            rec(2, "лютик", "казань", "1655000010", domains=["holding.ru"]),
                            rec(3, "василек", "омск", domains=["holding.ru"]),
                            rec(4, "ромашка", "москва", domains=["romashka.ru"]),
                            rec(5, "ромашка", None, domains=["romashka.ru"])], SETTINGS)
    assert result.clusters == [[1, 4, 5], [2], [3]]


def test_cannot_link_splits_and_holds_through_chains():
    records = [rec(1, "ромашка", "москва", phones=["+74951234567"]), rec(2, "ромашка", "москва"),
               rec(3, "ромашко", "москва", phones=["+74951234567"])]
    assert find_clusters(records, SETTINGS).clusters == [[1, 2, 3]]
    result = find_clusters(records, SETTINGS, cannot_link=[(2, 1)])
    assert result.clusters == [[1, 3], [2]]
    # a review pair between records the user split apart would only nag
    assert all(p.decision == "merged" for p in result.pairs)
    assert find_clusters(records, SETTINGS, cannot_link=[(1, 2), (1, 3), (2, 3)]).clusters == [[1], [2], [3]]


def test_cannot_link_holds_for_records_in_any_order_and_ignores_records_not_clustered():
    records = [rec(30, "ромашко", "москва", phones=["+74951234567"]), rec(20, "ромашка", "москва"),
               rec(10, "ромашка", "москва", phones=["+74951234567"])]
    # a split kept from an earlier clean may name a record gone since, or one outside the part clustered
    result = find_clusters(records, SETTINGS, cannot_link=[(20, 10), (10, 99), (99, 98), (20, 20)])
    assert result.clusters == [[10, 30], [20]]
    with pytest.raises(ValueError, match="unique"):
        find_clusters([*records, rec(20, "другая")], SETTINGS)


def test_persons_join_on_name_and_phone_or_email_never_on_name_and_city():
    person = {"person": True, "city": "москва"}
    result = find_clusters([
        rec(1, "иванов иван иванович", phones=["+79161234567"], **person),
        rec(2, "иванов и и", phones=["+79161234567"], **person),
        rec(3, "иван иванов", emails=["ivanov@mail.ru"], **person),
        rec(4, "иванов иван иванович", emails=["ivanov@mail.ru"], phones=["+79161234567"], **person),
        rec(5, "иванов иван иванович", **person),  # a namesake in the same city
        rec(6, "иванова мария петровна", phones=["+79161234567"], **person),  # his wife, same phone
    ], SETTINGS)
    assert result.clusters == [[1, 2, 3, 4], [5], [6]]
    assert {p.rule for p in result.pairs} == {"person:name+phone", "person:name+email"}


def test_one_person_written_three_ways_on_one_phone_is_not_a_hub():
    phone = "+79161234567"
    result = find_clusters([rec(1, "иванов иван иванович", phones=[phone], person=True),
                            rec(2, "иванов и и", phones=[phone], person=True),
                            rec(3, "иван иванов", phones=[phone], person=True)], SETTINGS)
    assert result.clusters == [[1, 2, 3]] and result.hubs == {}


def test_a_web_studio_domain_on_different_companies_joins_nothing():
    result = find_clusters([rec(i, name, "москва", domains=["webstudio.ru"])
                            for i, name in enumerate(["ромашка", "лютик", "василек"], 1)], SETTINGS)
    assert result.clusters == [[1], [2], [3]] and result.pairs == []


def test_same_name_without_a_city_is_only_reviewed():
    result = find_clusters([rec(1, "ромашка"), rec(2, "ромашка"), rec(3, "ромашка", "москва")], SETTINGS)
    assert result.clusters == [[1], [2], [3]]
    assert {(p.a, p.b, p.rule, p.decision) for p in result.pairs} == {(1, 2, "name", "review"),
                                                                      (1, 3, "name", "review")}


def test_a_name_without_a_city_found_in_many_cities_is_not_reviewed():
    chain = [rec(i, "пятерочка", city) for i, city in enumerate(["москва", "казань", "омск"], 2)]
    assert find_clusters([rec(1, "пятерочка"), *chain], SETTINGS).pairs == []


def test_person_names():
    assert person_names_compatible("иванов иван иванович", "иванов и и")
    assert person_names_compatible("иван иванов", "иванов иван иванович")
    assert person_names_compatible("иваноф иван", "иванов иван")  # a typo
    assert not person_names_compatible("иванов иван", "иванов игорь")
    assert not person_names_compatible("иванов и п", "иванов иван сергеевич")
    assert not person_names_compatible("иванов иван", "иванова мария")
    assert not person_names_compatible("иванов иван", "иванова иванна")


def test_pairs_explain_one_merge_per_joined_record():
    result = find_clusters([rec(i, "ромашка", "москва", "7707083893", phones=["+74951234567"]) for i in range(1, 6)],
                           SETTINGS)
    merged = [p for p in result.pairs if p.decision == "merged"]
    assert len(merged) == 4 and all(p.a < p.b for p in merged)


def test_duplicate_ids_are_refused():
    with pytest.raises(ValueError):
        find_clusters([rec(1, "а"), rec(1, "б")], SETTINGS)


def test_order_does_not_matter():
    records, _ = synthetic(random.Random(3), entities=600)
    expected = find_clusters(records, SETTINGS)
    shuffled = records[:]
    random.Random(4).shuffle(shuffled)
    again = find_clusters(shuffled, SETTINGS)
    assert again.clusters == expected.clusters
    assert again.pairs == expected.pairs and again.hubs == expected.hubs


def test_names_looked_for_in_a_worker_process_give_the_same_clients():
    records, _ = synthetic(random.Random(5), entities=3000)
    here = find_clusters(records, SETTINGS, cannot_link=[(3, 4), (10, 11)], parallel=False)
    apart = find_clusters(records, SETTINGS, cannot_link=[(3, 4), (10, 11)], parallel=True)
    assert sum(p.rule == "name+city" for p in here.pairs) > 100  # the names did join and list records
    assert apart.clusters == here.clusters
    assert apart.pairs == here.pairs and apart.hubs == here.hubs


# --- contacts inside one client -------------------------------------------------------------------------------

def test_group_contacts():
    contacts = [
        ContactRecord(1, "иванов иван", ("+79161234567",), ()),
        ContactRecord(2, "иванов и и", ("+79161234567",), ()),
        ContactRecord(3, "иван иванов", (), ("ivanov@romashka.ru",)),
        ContactRecord(4, None, (), ("ivanov@romashka.ru",)),
        ContactRecord(5, "иванов игорь", ("+79161234567",), ()),  # same phone, another Ivanov
        ContactRecord(6, "петрова анна", ("+74951234567",), ()),
        ContactRecord(7, None, ("+74951234567", "+79161234567"), ()),  # two people's phones: stays alone
    ]
    assert group_contacts(contacts) == [[1, 2, 3, 4], [5], [6], [7]]


def test_an_initial_does_not_chain_two_different_first_names():
    contacts = [ContactRecord(1, "иванов иван", ("+1",), ()), ContactRecord(2, "иванов и", ("+1", "+2"), ()),
                ContactRecord(3, "иванов игорь", ("+2",), ())]
    assert group_contacts(contacts) == [[1, 2], [3]]


def test_an_office_line_shared_by_many_people_joins_nobody():
    office = ("+74951234567",)
    contacts = [ContactRecord(i, f"{surname} иван", office, ()) for i, surname in enumerate(
        ["иванов", "петров", "сидоров", "смирнов", "кузнецов", "попов", "волков", "орлов", "козлов", "зайцев",
         "соколов", "лебедев"], 1)]
    contacts += [ContactRecord(13, "иванов и", office, ()), ContactRecord(14, None, office, ())]
    groups = group_contacts(contacts)
    assert [1] in groups and [13] in groups and [14] in groups and len(groups) == 14


# --- properties -----------------------------------------------------------------------------------------------

NAMES = st.sampled_from(["ромашка", "ромашко", "лютик", "лютики", "иванов иван", "иванов и", None])
RECORDS = st.lists(st.tuples(
    NAMES, st.sampled_from(["москва", "казань", None]), st.sampled_from(["7707083893", "1655000010", None]),
    st.lists(st.sampled_from(["+71", "+72", "+73"]), max_size=2, unique=True),
    st.lists(st.sampled_from(["a.ru", "b.ru"]), max_size=1), st.booleans()), max_size=25)


@hypothesis_settings(max_examples=300, deadline=None)
@given(RECORDS, st.lists(st.tuples(st.integers(0, 24), st.integers(0, 24)), max_size=4))
def test_every_record_in_one_cluster_and_no_cluster_with_two_inns(rows, cannot):
    records = [rec(i, name, city, inn, phones, person, domains=domains)
               for i, (name, city, inn, phones, domains, person) in enumerate(rows)]
    result = find_clusters(records, SETTINGS, cannot)
    ids = [record_id for cluster in result.clusters for record_id in cluster]
    assert sorted(ids) == list(range(len(records))) and len(ids) == len(set(ids))
    assert all(cluster == sorted(cluster) for cluster in result.clusters)
    assert [c[0] for c in result.clusters] == sorted(c[0] for c in result.clusters)
    for cluster in result.clusters:
        assert len({records[i].inn for i in cluster if records[i].inn}) <= 1
        for a, b in cannot:
            assert not (a in cluster and b in cluster and a != b)
    merged = [p for p in result.pairs if p.decision == "merged"]
    assert len(merged) == len(records) - len(result.clusters)  # a spanning set: one merge per joined record
    cluster = {record_id: n for n, members in enumerate(result.clusters) for record_id in members}
    for pair in result.pairs:
        assert pair.a < pair.b
        assert (cluster[pair.a] == cluster[pair.b]) == (pair.decision == "merged")


NAME_ITEMS = st.lists(st.tuples(
    st.sampled_from(["москва", "москва", "тула", None]),
    st.one_of(st.text(alphabet="аоб кр", min_size=1, max_size=9).map(str.strip).filter(bool),
              st.builds(str.__add__, st.sampled_from(["строй", "ромашк"]), st.text(alphabet="аоб", max_size=2)),
              st.lists(st.sampled_from(["нова", "нива", "строй"]), min_size=1, max_size=2).map(" ".join))),
    min_size=WINDOW - 2, max_size=WINDOW + 1, unique=True)


def close_as_written(a: str, b: str, review_score: float) -> bool:
    """What the search asks of a pair before it scores it by words: that rapidfuzz's cutoff keeps it, and
    that its score as written reaches review_score."""
    kept = process.extract(a, [b], scorer=OSA.normalized_distance, score_cutoff=edit_cutoff(review_score), limit=None)
    return bool(kept) and round(100 * (1 - OSA.distance(a, b) / (len(a) + len(b))), 1) >= review_score


@pytest.mark.parametrize("review_score", [SETTINGS.review_score, 80.0, 90.0, 99.0])
@hypothesis_settings(max_examples=300, deadline=None)
@given(items=NAME_ITEMS)
@example(items=[("москва", "ромашк" + suffix) for suffix in ["", "а", "аа", "аб", "ао", "б", "ба", "бб", "бо", "о", "оа"]])
@example(items=[(None, "строй нова"), ("тула", "нова строй"), ("тула", "нова строи"), ("москва", "строй нива")])
# At 90 and at 99 rapidfuzz's cutoff, in floats, keeps the first pair and drops the second.
@example(items=[("москва", "сокол"), ("москва", "сокал")])
@example(items=[("тула", "а" * 50), ("тула", "а" * 49 + "б")])
def test_similar_names_finds_every_close_pair_among_neighbours(items, review_score):
    """With no more items than a window, every pair that may be compared is, and scores as name_similarity."""
    cities, names = [city for city, _ in items], [name for _, name in items]

    def comparable(a, b):
        if cities[a] is None or cities[b] is None:
            return True
        rotated = [" ".join(n.split(" ", 1)[::-1]) for n in (names[a], names[b])]
        return cities[a] == cities[b] and (names[a][-3:] == names[b][-3:] or rotated[0][:3] == rotated[1][:3])

    expected = {(a, b): name_similarity(names[a], names[b])
                for a in range(len(items)) for b in range(a + 1, len(items))
                if comparable(a, b) and close_as_written(names[a], names[b], review_score)
                and name_similarity(names[a], names[b]) >= review_score}
    found = {(a, b): score for a, b, score in similar_names(cities, names, review_score)}
    assert found == expected


def test_similar_names_in_a_large_base_are_the_pairs_each_window_allows():
    """Across many neighbourhoods, the pairs found are those a name-by-name walk of the windows finds."""
    rng = random.Random(7)
    syllables = ["ром", "аш", "ка", "строй", "нова", "нива", "тех", "ком", "плект", "лекс", "ма", "ш"]
    items = list(dict.fromkeys(
        (rng.choice(["москва", "москва", "тула", "омск", None]),
         "".join(rng.choice(syllables) for _ in range(rng.randint(2, 5)))
         + rng.choice(["", "", " " + rng.choice(syllables) + rng.choice(syllables)]))
        for _ in range(100_000)))
    cities, names = [city for city, _ in items], [name for _, name in items]

    walked: set[tuple[int, int]] = set()
    for sort_key in NAME_ORDERS:
        keys = [sort_key(name) for name in names]
        by_name = sorted(range(len(names)), key=keys.__getitem__)
        for pos, k in enumerate(by_name):
            if cities[k] is None:
                walked.update((min(k, other), max(k, other))
                              for other in by_name[max(0, pos - WINDOW):pos + WINDOW + 1] if other != k)
        order = sorted(by_name, key=lambda k: (cities[k] or "", cities[k] is None))
        for pos, k in enumerate(order):
            for other in order[pos + 1:pos + 1 + WINDOW]:
                if cities[other] != cities[k] or keys[other][:3] != keys[k][:3]:
                    break
                walked.add((min(k, other), max(k, other)))
    expected = {}
    for a, b in walked:
        if (close_as_written(names[a], names[b], SETTINGS.review_score)
                and (score := name_similarity(names[a], names[b])) >= SETTINGS.review_score):
            expected[a, b] = score
    found = {(a, b): score for a, b, score in similar_names(cities, names, SETTINGS.review_score)}
    assert len(items) > 65_536 and len(expected) > 10_000
    assert found == expected


# --- a synthetic base with known truth ------------------------------------------------------------------------

CITIES = ["москва"] * 8 + ["санкт петербург"] * 4 + [
    "новосибирск", "екатеринбург", "казань", "нижний новгород", "челябинск", "самара", "омск", "ростов на дону",
    "уфа", "красноярск"]
STEMS = ["строй", "торг", "техно", "авто", "агро", "пром", "энерго", "мед", "фарм", "сиб", "урал", "нева", "волга",
         "альфа", "вектор", "гранит", "лидер", "эко", "инвест", "транс", "мега", "нова", "спец", "евро", "рос"]
TAILS = ["сервис", "маркет", "снаб", "комплект", "трейд", "групп", "плюс", "мир", "лайн", "центр", "систем",
         "ресурс", "логистик", "строй", "торг", "проект"]
ONSETS = ["б", "в", "г", "д", "ж", "з", "к", "л", "м", "н", "п", "р", "с", "т", "ф", "х", "ц", "ч", "ш", "бр", "гр",
          "др", "кр", "пр", "тр", "ст", "пл", "кл", "зв", "св"]
VOWELS, CODAS = "аеиоуыя", ["", "", "", "н", "р", "л", "с", "к", "м"]
SURNAMES = ["иванов", "петров", "сидоров", "смирнов", "кузнецов", "попов", "васильев", "соколов", "михайлов",
            "новиков", "федоров", "морозов", "волков", "алексеев", "лебедев", "семенов", "егоров", "павлов",
            "козлов", "степанов", "николаев", "орлов", "андреев", "макаров", "никитин", "захаров", "зайцев"]
FIRST = ["иван", "петр", "сергей", "андрей", "алексей", "дмитрий", "михаил", "николай", "олег", "юрий", "павел"]
PATRONYMICS = ["иванович", "петрович", "сергеевич", "андреевич", "алексеевич", "дмитриевич", "михайлович"]


def _word(rnd, syllables):
    return "".join(rnd.choice(ONSETS) + rnd.choice(VOWELS) + rnd.choice(CODAS) for _ in range(syllables))


def _company_name(rnd):
    roll = rnd.random()
    if roll < 0.35:
        return _word(rnd, rnd.randint(2, 4))
    if roll < 0.55:
        return f"{rnd.choice(STEMS)}{rnd.choice(TAILS)} {_word(rnd, 2)}"
    if roll < 0.75:
        return f"{_word(rnd, rnd.randint(2, 3))} {rnd.choice(TAILS)}"
    if roll < 0.9:
        return rnd.choice(STEMS) + _word(rnd, 2)
    return f"тд {_word(rnd, 3)}"


def _typo(rnd, name):
    """One wrong vowel, missing letter, extra vowel or swapped pair, not at a space.

    A wrong consonant is left out: the rules take Геокомплект and Геокомплекс for two names and send
    them to review, and sample_data/generate.py does not make that typo either.
    """
    letters = [k for k, ch in enumerate(name) if ch != " "]
    at = rnd.choice(letters[1:-1] or letters)
    kind = rnd.random()
    if kind < 0.4:
        vowel = next((k for k in range(at, len(name)) if name[k] in VOWELS), None)
        if vowel is not None:
            return name[:vowel] + rnd.choice(VOWELS.replace(name[vowel], "")) + name[vowel + 1:]
        return name[:at] + name[at + 1:]
    if kind < 0.6:
        return name[:at] + name[at + 1:]
    if kind < 0.8:
        return name[:at] + rnd.choice(VOWELS) + name[at:]
    return name[:at] + name[at + 1:at + 2] + name[at] + name[at + 2:] if at + 1 < len(name) else name[:at]


def synthetic(rnd, entities, hub_share=0.03, twin_share=0.01, person_share=0.15, extra_records=0.43):
    """Records of `entities` known clients and the truth (record id -> entity).

    Companies: a name unique in their city (1% are twins: another company's name in another city),
    INN on 75% (carried by 60% of their records), 1-3 own phones, a company domain on 35%; 3% are
    tenants of a business centre and write its reception phone on half their records. Persons: a
    mobile phone on almost every record, a personal email on some, the name written in several ways.
    Each record: the name as written (8% with a one-letter typo, 2% blank), the city (5% blank).
    About `extra_records` more records than entities: the duplicates to find.
    """
    records: list[MatchRecord] = []
    truth: dict[int, int] = {}
    used_names: set[tuple[str, str]] = set()
    serial = iter(range(10**9))
    centres = [(rnd.choice(CITIES), f"+7800{next(serial):07d}") for _ in range(max(1, int(entities * hub_share / 15)))]
    twins_of: list[tuple[str, str]] = []
    for entity in range(entities):
        person = rnd.random() < person_share
        copies = 1
        while rnd.random() < extra_records / (1 + extra_records) and copies < 6:
            copies += 1
        if person:
            surname, first, patronymic = rnd.choice(SURNAMES), rnd.choice(FIRST), rnd.choice(PATRONYMICS)
            phone, email = f"+79{next(serial):09d}", f"u{entity}@mail.ru" if rnd.random() < 0.4 else None
            inn = f"{next(serial):012d}" if rnd.random() < 0.2 else None
            city = rnd.choice(CITIES)
            for _ in range(copies):
                name = rnd.choice([f"{surname} {first} {patronymic}"] * 3 + [
                    f"{surname} {first[0]} {patronymic[0]}", f"{surname} {first}", f"{first} {surname}"])
                record_id = next(serial)
                records.append(MatchRecord(
                    record_id, name, True, city if rnd.random() < 0.7 else None,
                    inn if inn and rnd.random() < 0.5 else None, None, (),
                    (email,) if email and rnd.random() < 0.6 else (),
                    (phone,) if rnd.random() < 0.97 else ()))
                truth[record_id] = entity
            continue
        city = rnd.choice(CITIES)
        if twins_of and rnd.random() < twin_share:
            name = rnd.choice(twins_of)[1]
        else:
            name = _company_name(rnd)
        while (city, name) in used_names:
            name = _company_name(rnd)
        used_names.add((city, name))
        if len(twins_of) < 1000:
            twins_of.append((city, name))
        inn = f"{next(serial):010d}" if rnd.random() < 0.75 else None
        kpps = [f"{rnd.randint(1000, 9999)}01001", f"{rnd.randint(1000, 9999)}02001"]
        phones = [f"+7495{next(serial):07d}" for _ in range(rnd.choice([1, 1, 2, 3]))]
        domain = f"d{entity}.ru" if rnd.random() < 0.35 else None
        centre = rnd.choice([c for c in centres if c[0] == city] or [None]) if rnd.random() < hub_share else None
        for _ in range(copies):
            roll = rnd.random()
            written = name if roll < 0.9 else _typo(rnd, name) if roll < 0.98 else None
            own = [phones[0]] if rnd.random() < 0.85 else []
            own += [p for p in phones[1:] if rnd.random() < 0.5]
            if centre and rnd.random() < 0.5:
                own.append(centre[1])
            record_id = next(serial)
            records.append(MatchRecord(
                record_id, written, False, city if rnd.random() < 0.95 else None,
                inn if inn and rnd.random() < 0.6 else None, rnd.choice(kpps) if inn else None,
                (domain,) if domain and rnd.random() < 0.6 else (), (), tuple(own)))
            truth[record_id] = entity
    return records, truth


def pairwise_scores(clusters, truth):
    """Pairwise precision, recall and F1 of the clusters against the true entities."""
    def pairs(sizes):
        return sum(size * (size - 1) // 2 for size in sizes)

    true_groups = defaultdict(list)
    for record_id, entity in truth.items():
        true_groups[entity].append(record_id)
    found = pairs(map(len, clusters))
    right = sum(pairs(Counter(truth[r] for r in cluster).values()) for cluster in clusters)
    expected = pairs(map(len, true_groups.values()))
    precision = right / found if found else 1.0
    recall = right / expected if expected else 1.0
    return precision, recall, 2 * precision * recall / (precision + recall)


def test_synthetic_base_is_deduplicated_with_known_quality():
    # What recall misses is mostly out of reach by the rules: a person's record with no phone or
    # email, a company's record with no city and no shared key (listed for review, not merged).
    records, truth = synthetic(random.Random(7), entities=20_000)
    started = time.perf_counter()
    result = find_clusters(records, SETTINGS)
    elapsed = time.perf_counter() - started
    precision, recall, f1 = pairwise_scores(result.clusters, truth)
    reviews = sum(p.decision == "review" for p in result.pairs)
    print(f"\n{len(records)} records, {len(set(truth.values()))} entities -> {len(result.clusters)} clusters "
          f"in {elapsed:.2f} s; precision {precision:.4f} recall {recall:.4f} F1 {f1:.4f}; "
          f"{reviews} review pairs, {len(result.hubs)} hubs")
    assert precision >= 0.998 and recall >= 0.98 and f1 >= 0.99


@pytest.mark.skipif(not os.environ.get("CLIENTBASE_BENCH"), reason="set CLIENTBASE_BENCH=1 to run (1M records)")
def test_benchmark_a_million_records():
    records, truth = synthetic(random.Random(1), entities=700_000)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    result = find_clusters(records, SETTINGS)
    elapsed = time.perf_counter() - started
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    precision, recall, f1 = pairwise_scores(result.clusters, truth)
    print(f"\n{len(records)} records -> {len(result.clusters)} clusters in {elapsed:.1f} s; peak RSS "
          f"{rss_before / 1024:.0f} MB with the records, {rss_after / 1024:.0f} MB after; "
          f"precision {precision:.4f} recall {recall:.4f} F1 {f1:.4f}")


def test_similar_names_in_one_city_with_different_phones_go_to_review():
    """Нефтекомплект and Нефтекомплекс in one city are often two firms: without a common phone a person decides."""
    records = [rec(1, "нефтекомплект", "краснодар", phones=["+78612000001"]),
               rec(2, "нефтекомплекс", "краснодар", phones=["+78612000002"]),
               rec(3, "ромашка", "москва", phones=["+74951000001"]),
               rec(4, "ромашко", "москва")]  # a typo, and nothing that contradicts it
    result = find_clusters(records, DedupeSettings())
    assert not together(result, 1, 2)
    assert [(p.a, p.b, p.decision) for p in result.pairs if {p.a, p.b} == {1, 2}] == [(1, 2, "review")]
    assert together(result, 3, 4)


def test_a_changed_consonant_or_two_edits_in_one_city_go_to_review():
    """Геокомплект and Геокомплекс are two names, not a typo; so are Термостандарт and Теплостандарт."""
    records = [rec(1, "геокомплект", "москва", "7703294798", phones=["+74958643675"]),
               rec(2, "геокомплекс", "москва"),
               rec(3, "термостандарт", "ростов на дону", "6161131703"),
               rec(4, "теплостандарт", "ростов на дону"),
               rec(5, "декорхолдинг", "омск", "5507591712"),
               rec(6, "декорхолдиг", "омск"),  # a letter dropped: a typo
               rec(7, "стеклостандарт", "улан удэ", "0323563219"),
               rec(8, "сткелостандарт", "улан удэ")]  # two letters swapped: a typo
    result = find_clusters(records, SETTINGS)
    assert result.clusters == [[1], [2], [3], [4], [5, 6], [7, 8]]
    review = {(p.a, p.b): p.detail for p in result.pairs if p.decision == "review"}
    assert review == {(1, 2): 'names "геокомплект" ~ "геокомплекс" (95.5) in москва, more than a typo apart',
                      (3, 4): 'names "термостандарт" ~ "теплостандарт" (92.3) in ростов на дону, more than a typo apart'}


def test_a_name_in_one_city_does_not_join_companies_with_other_domains_or_head_office_kpps():
    """A namesake is told apart by its own email domain, or by its own registration (KPP reason code 01)."""
    records = [rec(1, "еврокомплекс", "краснодар", "2308820225", domains=["evrokompleks-krd23.ru"]),
               rec(2, "еврокомплекс", "краснодар", domains=["evrokompleks-krd.ru"]),
               rec(3, "промоэксперт", "самара", "6315735560", kpp="631501001"),
               rec(4, "промоэксперт", "самара", kpp="631601001"),
               rec(5, "промоэксперт", "самара", kpp="631643001"),  # a branch KPP says nothing against it
               rec(6, "вентснаб", "омск", "5506223890", kpp="550601001", domains=["ventsnab-omsk.ru"]),
               rec(7, "вентснаб", "омск", domains=["ventsnab-omsk.ru"], kpp="550601001")]
    result = find_clusters(records, SETTINGS)
    assert result.clusters == [[1], [2], [3, 5], [4], [6, 7]]
    review = {(p.a, p.b): p.detail for p in result.pairs if p.decision == "review"}
    assert review == {(1, 2): 'name "еврокомплекс" in краснодар, different email domains',
                      (3, 4): 'name "промоэксперт" in самара, different head-office KPPs'}


def test_a_record_without_a_city_is_placed_in_the_city_of_its_kpp_or_inn():
    """1C rows often have no city: the tax office in the first four digits of a KPP or an INN tells where it is."""
    novosibirsk = [rec(10 + k, f"компания {k}", "новосибирск", inn) for k, inn in
                   enumerate(["5406183650", "5406000001", "5406000002"])]  # the base shows where office 5406 is
    records = [rec(1, "нефтемаркет", None, "5406183651"),
               rec(2, "нефтемаркет", "новосибирск", domains=["neftemarket-nsk.ru"]),
               rec(3, "нефтемаркет", "москва"),  # a namesake elsewhere
               rec(4, "ромашка", None, "7707083893"),  # office 7707: nowhere in this base
               rec(5, "ромашка", "москва"),
               rec(6, "сибтрейд", None, kpp="540601001"),
               rec(7, "сибтрейд", "новосибирск", "5406000003"),
               *novosibirsk]
    result = find_clusters(records, SETTINGS)
    assert together(result, 1, 2) and not together(result, 1, 3) and not together(result, 4, 5)
    assert together(result, 6, 7)
    details = {(p.a, p.b): p.detail for p in result.pairs if p.decision == "merged"}
    assert details[1, 2] == 'name "нефтемаркет" in новосибирск (city of INN 5406183651)'
    assert details[6, 7] == 'name "сибтрейд" in новосибирск (city of KPP 540601001)'


def test_a_record_without_a_city_is_not_placed_by_the_inn_of_records_it_joins():
    """A record's own KPP or INN places it; one joined to an INN only through a phone is not placed by it:
    its namesake in that city is a question, not a merge."""
    novosibirsk = [rec(10 + k, f"компания {k}", "новосибирск", inn) for k, inn in
                   enumerate(["5406183650", "5406000001", "5406000002"])]
    records = [rec(1, "вектор", "новосибирск", "5406183651", phones=["+73832001122"]),
               rec(2, "нефтемаркет", None, phones=["+73832001122"]),  # no city, no INN: joins 1 by phone
               rec(3, "нефтемаркет", "новосибирск"),
               *novosibirsk]
    result = find_clusters(records, SETTINGS)
    assert together(result, 1, 2) and not together(result, 2, 3)
    [review] = [p for p in result.pairs if p.decision == "review"]
    assert (review.a, review.b, review.rule) == (2, 3, "name")
    assert review.detail == 'name "нефтемаркет", city unknown vs новосибирск'


def test_a_name_where_a_company_has_only_a_branch_is_reviewed():
    """Химмаркет of Краснодар has a branch in Пермь; a Химмаркет in Пермь without an INN may be a local firm."""
    krasnodar = [rec(10 + k, f"компания {k}", "краснодар", inn) for k, inn in enumerate(["2311000001", "2311000002"])]
    records = [rec(1, "химмаркет", "краснодар", "2311442171", kpp="231101001"),
               rec(2, "химмаркет", "пермь", "2311442171", kpp="590543001"),  # the branch
               rec(3, "химмаркет", "пермь"),
               rec(4, "химмаркет", "краснодар", phones=["+78612040146"]),  # at home, the name joins
               *krasnodar]
    result = find_clusters(records, SETTINGS)
    assert cluster_of(result, 1) == [1, 2, 4]
    [review] = [p for p in result.pairs if p.decision == "review"]
    assert (review.a, review.b) == (2, 3)
    assert review.detail == 'name "химмаркет" in пермь, INN 2311442171 is registered in краснодар'


def test_unmerge_naming_every_record_of_a_client_is_refused_not_reported_done(run, tmp_path):
    (tmp_path / "crm.csv").write_text("Компания;Город;Телефоны\nООО Лотос;Казань;+7 843 160-00-01\n"
                                      "Лотос;Казань;+7 843 160-00-01\n", encoding="utf-8")
    run("ingest", str(tmp_path / "crm.csv"))
    run("clean", "--as-of", "2026-11-20")

    def clients():
        return {c["client_id"]: c["record_refs"] for c in csv.DictReader(io.StringIO(run("export", "clients").stdout))}

    [(client, refs)] = clients().items()
    assert refs == "crm.csv:1;crm.csv:2"
    refused = run("unmerge", client, "--ref", "crm.csv:1", "--ref", "crm.csv:2", check=1)
    assert "every record" in refused.stderr and f"clientbase unmerge {client}" in refused.stderr
    assert clients() == {client: refs}
    assert "detached 1 record(s)" in run("unmerge", client, "--ref", "crm.csv:2").stderr
    assert sorted(clients().values()) == ["crm.csv:1", "crm.csv:2"]


def test_a_detached_record_leaves_its_client_and_the_snooze_with_the_records_not_detached(run, tmp_path):
    (tmp_path / "crm.csv").write_text("Компания;Город;Телефоны\nООО Лотос;Казань;+7 843 160-00-01\n"
                                      "Лотос;Казань;+7 843 160-00-01\n", encoding="utf-8")
    run("ingest", str(tmp_path / "crm.csv"))
    run("clean", "--as-of", "2026-11-20")
    [client] = csv.DictReader(io.StringIO(run("export", "clients").stdout))
    run("snooze", client["client_id"], "--until", "2027-06-01", "--reason", "головной офис", "--as-of", "2026-11-20")
    run("unmerge", client["client_id"], "--ref", "crm.csv:1")  # the first record goes, the second stays
    after = {c["record_refs"]: (c["client_id"], c["state"])
             for c in csv.DictReader(io.StringIO(run("export", "clients").stdout))}
    assert after["crm.csv:2"] == (client["client_id"], "snoozed")
    assert after["crm.csv:1"][0] != client["client_id"]


def test_a_legal_form_in_latin_lookalikes_is_one_client_with_its_cyrillic_spelling(run, tmp_path):
    (tmp_path / "c.csv").write_text(
        "Компания;Город;Телефон\n3AO «Восход»;Новосибирск;8 (383) 200-00-07\nЗАО Восход;Новосибирск;8 (383) 200-00-14\n"
        "AHO «Рассвет»;Казань;8 (843) 200-00-01\nАНО Рассвет;Казань;8 (843) 200-00-02\n"
        "AHO Trading;Казань;8 (843) 200-00-03\n", encoding="utf-8")
    run("ingest", str(tmp_path / "c.csv"))
    run("clean", "--as-of", "2026-11-20")
    clients = {c["record_refs"]: c["client_id"] for c in csv.DictReader(io.StringIO(run("export", "clients").stdout))}
    assert sorted(clients) == ["c.csv:1;c.csv:2", "c.csv:3;c.csv:4", "c.csv:5"]
    # One company, one manager: the first list's client is not handed out again on the second.
    lists = [json.loads(run("today", "--manager", manager, "--new-manager", "--as-of", "2026-11-20", *limit,
                            "--json").stdout)["items"] for manager, limit in (("Иванов Иван", ["--limit", "1"]),
                                                                             ("Петров Петр", []))]
    handed = [str(item["client_id"]) for items in lists for item in items]
    assert sorted(handed) == sorted(clients.values())


def test_the_pairs_read_as_a_list_does():
    records = [rec(1, "ромашка", "москва", phones=["+74951234567"]), rec(2, "ромашко", "москва", phones=["+7495"]),
               rec(3, "ромашка", "москва", phones=["+74951234567"])]
    pairs = find_clusters(records, SETTINGS).pairs
    as_list = list(pairs)
    assert len(as_list) == len(pairs) == 2
    assert pairs[-1] == as_list[-1] and pairs[0:1] == as_list[0:1] and pairs[::-1] == as_list[::-1]
    assert pairs == as_list and pairs != tuple(as_list)
    with pytest.raises(TypeError):
        pairs[1.0]


@given(st.integers(0, 40).flatmap(lambda count: st.tuples(
    st.just(count), st.lists(st.tuples(st.integers(0, max(0, count - 1)), st.integers(0, max(0, count - 1))),
                             max_size=60 if count else 0))))
def test_components_name_each_connected_part_by_its_smallest_node(graph):
    count, edges = graph
    part = list(range(count))  # by hand: each node's part, merged edge by edge

    for a, b in edges:
        low, high = sorted((part[a], part[b]))
        part = [low if p == high else p for p in part]
    a, b = (numpy.array(ends, dtype=numpy.int64) for ends in zip(*edges)) if edges else (numpy.empty(0, numpy.int64),) * 2
    assert components(count, a, b).tolist() == part
