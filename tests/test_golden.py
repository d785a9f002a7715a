from collections import Counter
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from clientbase.config import source_rank
from clientbase.golden import RecordFacts, golden_record, stable_ids


def facts(id, source, **kw):
    base = dict(id=id, ref=f"{source}:{id}", source=source, client_id=None, name=None, name_key=None, person=False,
                inn=None, inn_valid=False, kpp=None, city=None, channel=None, owner=None, assigned_on=None,
                profit=None, revenue=None, potential=None, last_purchase=None, last_contact=None,
                last_result=None, closed=False)
    base.update(kw)
    return RecordFacts(**base)


PRIORITY = ("crm", "1c", "purchased")


def test_source_rank_matches_prefixes_and_puts_unknown_last():
    assert source_rank("crm_export.xlsx#Клиенты", PRIORITY) == 0
    assert source_rank("1C_export.csv", PRIORITY) == 1
    assert source_rank("scrape.csv", PRIORITY) == 3


def test_valid_inn_beats_a_more_trusted_source_with_an_invalid_one():
    golden = golden_record(7, [
        facts(1, "crm.xlsx", name="ООО «Ромашка»", inn="7707083890", inn_valid=False, city="Москва"),
        facts(2, "purchased.csv", name="Ромашка", inn="7707083893", inn_valid=True, kpp="770701001"),
    ], PRIORITY)
    assert golden.inn == "7707083893" and golden.kpp == "770701001"
    assert golden.name == "Ромашка"  # the valid-INN record is the best record
    assert golden.city == "Москва"  # missing there: the next record supplies it
    assert golden.record_ids == (1, 2)


def test_trusted_source_then_latest_activity_wins():
    golden = golden_record(1, [
        facts(1, "purchased.csv", name="Ромашка", channel="Дилеры", last_purchase="2026-01-01"),
        facts(2, "1c.csv", name="ООО Ромашка", channel="Розница", last_purchase="2025-06-01", profit=100.0),
        facts(3, "1c.csv", name="Ромашка ООО", last_contact="2026-10-01"),
    ], PRIORITY)
    assert golden.name == "Ромашка ООО"  # same source rank: the most recent record first
    assert golden.channel == "Розница"
    assert golden.profit == 100.0
    assert golden.last_purchase == "2026-01-01"  # dates: the latest of all records
    assert golden.last_contact == "2026-10-01"


def test_a_city_in_most_records_wins_however_each_writes_it():
    records = [
        facts(1, "crm.xlsx", city="Санкт-Петербург"),
        facts(2, "1c.csv", city="г. Москва"),
        facts(3, "purchased.csv", city="Москва г"),
        facts(4, "purchased.csv", city="москва"),
    ]
    golden = golden_record(1, records, PRIORITY)
    assert golden.city == "г. Москва"  # three of four name Moscow; each spelling once, so the most trusted one
    assert golden.domestic


def test_the_most_trusted_city_stands_without_a_clear_majority_and_a_majority_keeps_its_common_spelling():
    even = [facts(1, "crm.xlsx", city="Тверь"), facts(2, "1c.csv", city="г. Москва"),
            facts(3, "purchased.csv", city="Тверь г"), facts(4, "purchased.csv", city="Москва")]
    assert golden_record(1, even, PRIORITY).city == "Тверь"  # two and two: no majority
    common = [facts(1, "crm.xlsx", city="Санкт-Петербург"), facts(2, "1c.csv", city="Москва г"),
              facts(3, "purchased.csv", city="Москва"), facts(4, "purchased.csv", city="Москва")]
    assert golden_record(1, common, PRIORITY).city == "Москва"
    namesake = [facts(1, "crm.xlsx", city="Москва"), facts(2, "1c.csv", city="Киров (Калужская обл.)"),
                facts(3, "purchased.csv", city="Киров")]
    assert golden_record(1, namesake, PRIORITY).city == "Москва"  # Kaluga's Kirov is not Kirov


def test_closed_anywhere_means_closed():
    assert golden_record(1, [facts(1, "crm"), facts(2, "1c", closed=True)], PRIORITY).closed


def _ids(clusters: list[list[int]], previous: dict[int, int | None], next_id: int) -> list[int]:
    """stable_ids of clusters whose records had the `previous` client ids, voting as the store counts."""
    claims = [(index, cluster[0], old_id, votes) for index, cluster in enumerate(clusters)
              for old_id, votes in Counter(previous[r] for r in cluster if previous[r] is not None).items()]
    return stable_ids(claims, len(clusters), next_id)


def test_stable_ids_keep_majority_id_and_number_new_clusters_after_the_max():
    previous = {1: 10, 2: 10, 3: 11, 4: 11, 5: None}
    assert _ids([[1, 2, 3], [4], [5]], previous, 12) == [10, 11, 12]
    # A cluster that splits keeps the id for its larger part.
    assert _ids([[1], [2, 3, 4]], {1: 10, 2: 10, 3: 10, 4: 11}, 12) == [12, 10]
    # Order of clusters does not change who gets which id.
    assert _ids([[2, 3, 4], [1]], {1: 10, 2: 10, 3: 10, 4: 11}, 12) == [10, 12]
    # On a tie the cluster with the lowest record keeps the id.
    assert _ids([[3, 4], [1, 2]], {1: 10, 2: 10, 3: 10, 4: 10}, 12) == [12, 10]


_TEXT = st.one_of(st.none(), st.just(""), st.sampled_from(["Москва", "Казань", "Ромашка", "x"]))
_DATE = st.one_of(st.none(), st.just(""), st.sampled_from(["2024-01-02", "2025-06-30"]))


@settings(max_examples=300)
@given(name=_TEXT, city=_TEXT, kpp=_TEXT, channel=_TEXT, inn=st.sampled_from([None, "", "7707083893"]),
       inn_valid=st.sampled_from([0, 1]), person=st.sampled_from([0, 1]), closed=st.sampled_from([0, 1]), profit=st.sampled_from([None, 0.0, 5.5]),
       last_contact=_DATE, last_result=_DATE, last_purchase=_DATE)
def test_a_client_of_one_record_is_what_two_copies_of_it_would_give(**values):  # SQLite gives 0/1 flags
    alone = golden_record(7, [facts(1, "crm", **values)], PRIORITY)
    twins = golden_record(7, [facts(1, "crm", **values), facts(2, "crm", **values)], PRIORITY)
    assert alone == replace(twins, record_ids=(1,))
    assert type(alone.domestic) is bool
