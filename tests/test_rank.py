import csv
import io
import json
from dataclasses import replace
from datetime import date, timedelta
from fractions import Fraction
from itertools import pairwise
from types import SimpleNamespace

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from clientbase.rank import KeptRanking, RankInput, RankInputs, RankSettings, pareto_tiers, rank_clients

AS_OF = date(2025, 6, 30)
RECENT = (AS_OF - timedelta(days=10)).isoformat()
LONG_AGO = (AS_OF - timedelta(days=400)).isoformat()
SETTINGS = RankSettings()
TIER_ORDER = {"low": 0, "high": 1, "max": 2}


def rows(result):
    """Each client's ranking as one row, in the order of the input."""
    return [SimpleNamespace(client_id=cid, segment=segment, abcde=abcde, profit_tier=profit, potential_tier=potential,
                            dependency=dependency)
            for cid, segment, abcde, profit, potential, dependency in zip(
                result.client_ids, result.segments, result.abcde, result.profit_tiers, result.potential_tiers,
                result.dependencies, strict=True)]


def by_id(clients, as_of=AS_OF, settings=SETTINGS):
    result = rank_clients(clients, as_of, settings)
    return {r.client_id: r for r in rows(result)}, result


def active(client_id, profit, potential=None, channel="retail"):
    return RankInput(client_id, channel, profit, potential, RECENT)


def test_small_channel_by_hand():
    # Profits 50, 30, 10, 5, 5, -3: positive total 100.
    #   50: share before 0          -> max
    #   30: before 50/100 = 0.5     -> not below 0.5, high
    #   10: before 80/100 = 0.8     -> not below 0.8, low
    #   5, 5: before 90/100         -> low; -3 is not positive -> low
    # Potentials 400, 50, 300, 150, missing, 100: total 1000, descending 400, 300, 150, 100, 50.
    #   400: before 0 -> max; 300: before 0.4 -> max; 150: before 0.7 -> high;
    #   100: before 0.85 -> low; 50: before 0.95 -> low; missing -> low
    clients = [
        active(1, 50, 400),   # max/max   -> A
        active(2, 30, 50),    # high/low  -> B
        active(3, 10, 300),   # low/max   -> C
        active(4, 5, 150),    # low/high  -> C
        active(5, 5, None),   # low/low   -> D
        active(6, -3, 100),   # negative  -> E whatever the potential
    ]
    ranked, result = by_id(clients)
    assert [(ranked[i].profit_tier, ranked[i].potential_tier, ranked[i].abcde) for i in range(1, 7)] == [
        ("max", "max", "A"), ("high", "low", "B"), ("low", "max", "C"),
        ("low", "high", "C"), ("low", "low", "D"), ("low", "low", "E"),
    ]
    assert result.client_ids == [1, 2, 3, 4, 5, 6]
    assert result.profit_only_channels == []
    # Shares of the company's 100: 0.5 critical (not over 0.7), 0.3 critical, 0.1 exactly is not key.
    assert [ranked[i].dependency for i in range(1, 7)] == ["critical", "critical", None, None, None, None]


def test_max_high_low_borders():
    # 50, 30, 20 of 100: 30 has exactly 0.5 before it -> high; 20 has exactly 0.8 -> low.
    assert pareto_tiers({1: 50, 2: 30, 3: 20}, 0.5, 0.8) == {1: "max", 2: "high", 3: "low"}
    # 49, 30, 21: before 30 is 0.49 -> max; before 21 is 0.79 -> high.
    assert pareto_tiers({1: 49, 2: 30, 3: 21}, 0.5, 0.8) == {1: "max", 2: "max", 3: "high"}


def test_largest_is_always_max_and_zero_or_missing_is_low():
    assert pareto_tiers({7: 1_000_000, 8: 1}, 0.5, 0.8) == {7: "max", 8: "low"}
    assert pareto_tiers({7: 0.01}, 0.5, 0.8) == {7: "max"}
    assert pareto_tiers({1: 0, 2: None, 3: -5}, 0.5, 0.8) == {1: "low", 2: "low", 3: "low"}
    assert pareto_tiers({}, 0.5, 0.8) == {}


def test_equal_values_share_the_tier_of_the_first_whatever_the_order():
    # 30, 30, 30, 10 of 100: every 30 has only larger values (none) before it -> max;
    # 10 has 90 before it -> low. One by one the second and third 30 would be max and high.
    expected = {1: "max", 2: "max", 3: "max", 4: "low"}
    assert pareto_tiers({1: 30, 2: 30, 3: 30, 4: 10}, 0.5, 0.8) == expected
    assert pareto_tiers({4: 10, 3: 30, 1: 30, 2: 30}, 0.5, 0.8) == expected
    # 60, 20, 20: both 20s have 0.6 before them -> high.
    assert pareto_tiers({1: 20, 2: 60, 3: 20}, 0.5, 0.8) == {1: "high", 2: "max", 3: "high"}


def test_profit_only_channel_is_ranked_by_profit_and_reported():
    # Dealers have no potential at all: 60, 25, 15 of 100 -> before 0 max (A), 0.6 high (B), 0.85 low (D).
    clients = [
        active(1, 60, channel="dealers"), active(2, 25, channel="dealers"),
        active(3, 15, channel="dealers"), active(4, -1, channel="dealers"),
        active(5, 10, 5, channel="retail"), active(6, 90, None, channel="retail"),
    ]
    ranked, result = by_id(clients)
    assert [ranked[i].abcde for i in (1, 2, 3, 4)] == ["A", "B", "D", "E"]
    assert all(ranked[i].potential_tier is None for i in (1, 2, 3, 4))
    assert result.profit_only_channels == ["dealers"]
    # Retail has one potential value, so it is ranked on both: 90 is max profit but low potential -> B.
    assert (ranked[6].abcde, ranked[6].potential_tier) == ("B", "low")
    assert (ranked[5].abcde, ranked[5].potential_tier) == ("C", "max")


def test_missing_channel_is_its_own_channel_named_empty():
    clients = [active(1, 10, channel=None), active(2, 1000, 5, channel="retail")]
    ranked, result = by_id(clients)
    assert ranked[1].abcde == "A"
    assert result.profit_only_channels == [""]


def test_channels_are_ranked_separately():
    # Each channel's largest client is max in its own channel, however small next to the other.
    # Chains: profits 1000, 10 -> max, low (1000/1010 before); potentials 10, 1000 -> low, max.
    # Online: profits 5, 1 -> max, low (5/6 before); potentials 9, 1 -> max, low (0.9 before).
    clients = [active(1, 1000, 10, "chains"), active(2, 10, 1000, "chains"),
               active(3, 5, 9, "online"), active(4, 1, 1, "online")]
    ranked, _ = by_id(clients)
    assert [ranked[i].abcde for i in (1, 2, 3, 4)] == ["B", "C", "A", "D"]


def test_segments_at_the_active_days_boundary():
    clients = [
        RankInput(1, "retail", 10, None, (AS_OF - timedelta(days=180)).isoformat()),  # exactly 180 days: still active
        RankInput(2, "retail", 10, None, (AS_OF - timedelta(days=181)).isoformat()),  # lost
        RankInput(3, "retail", 10, None, None),                         # never bought
        RankInput(4, "retail", 10, None, AS_OF.isoformat()),            # today
        RankInput(5, "retail", 10, None, (AS_OF + timedelta(days=3)).isoformat()),  # dated ahead: counts as active
    ]
    ranked, _ = by_id(clients)
    assert [ranked[i].segment for i in range(1, 6)] == ["active", "lost", "potential", "active", "active"]
    assert ranked[3].abcde is None
    ranked, _ = by_id(clients, settings=RankSettings(active_days=181))
    assert ranked[2].segment == "active"


@given(bought=st.dates(), as_of=st.dates(), active_days=st.integers(0, 10**12))
def test_a_client_is_active_while_its_purchase_is_within_active_days(bought, as_of, active_days):
    # Any number of days a rules file may give, beyond the calendar's range too.
    [ranked] = rows(rank_clients([RankInput(1, "retail", 10, None, bought.isoformat())], as_of,
                                 RankSettings(active_days=active_days)))
    assert ranked.segment == ("active" if (as_of - bought).days <= active_days else "lost")


def test_lost_clients_are_ranked_among_the_lost_of_their_channel():
    # Among the active: 1000 alone -> max. Among the lost: 90, 10 of 100 -> max (A), before 0.9 -> low (D).
    # Ranked together, the lost 90 would be low next to 1000.
    clients = [
        active(1, 1000),
        RankInput(2, "retail", 10, None, LONG_AGO),
        RankInput(3, "retail", 90, None, LONG_AGO),
        RankInput(4, "retail", -2, None, LONG_AGO),
    ]
    ranked, result = by_id(clients)
    assert [(ranked[i].segment, ranked[i].abcde) for i in (1, 2, 3, 4)] == [
        ("active", "A"), ("lost", "D"), ("lost", "A"), ("lost", "E")]
    assert result.profit_only_channels == ["retail"]


def test_profit_only_is_decided_per_segment():
    # The active clients have potentials, the lost ones none: only the lost are ranked by profit alone.
    # Active profits 90, 10 -> max, low (0.9 before); potentials 100, 5 -> max, low (100/105 before).
    clients = [active(1, 10, 100), active(2, 90, 5), RankInput(3, "retail", 7, None, LONG_AGO)]
    ranked, result = by_id(clients)
    assert [ranked[i].abcde for i in (1, 2, 3)] == ["C", "B", "A"]
    assert ranked[3].potential_tier is None
    assert result.profit_only_channels == ["retail"]


def test_potential_clients_get_tiers_but_no_class_and_no_profit_only_warning():
    clients = [RankInput(1, "tenders", None, 500, None), RankInput(2, "tenders", None, None, None),
               RankInput(3, "shops", None, None, None)]
    ranked, result = by_id(clients)
    assert [(r.abcde, r.profit_tier, r.potential_tier) for r in ranked.values()] == [
        (None, "low", "max"), (None, "low", "low"), (None, "low", None)]
    assert result.profit_only_channels == []


@pytest.mark.parametrize(("profit", "rest", "dependency"), [
    (10, 90, None),            # exactly 10% is not key
    (10.01, 89.99, "key"),     # 10.01%
    (20, 80, "key"),           # exactly 20% is not critical
    (20.01, 79.99, "critical"),
    (70, 30, "critical"),      # exactly 70% is not mono
    (70.01, 29.99, "mono"),
])
def test_dependency_borders(profit, rest, dependency):
    # The rest sits in another channel, and a loss-making client does not lower the total.
    clients = [active(1, profit), active(2, rest, channel="dealers"), active(3, -50)]
    ranked, _ = by_id(clients)
    assert ranked[1].dependency == dependency
    assert ranked[3].dependency is None


def test_dependency_counts_no_lost_clients_profit_and_no_revenue():
    # Client 1 earns 30 of the 100 earned now; the lost client's 900 is past profit, and client 4 only
    # has sales, which rank it in its class but are no profit.
    clients = [active(1, 30), active(2, 70, channel="dealers"), RankInput(3, "retail", 900, None, LONG_AGO),
               RankInput(4, "retail", None, None, RECENT, revenue=5000)]
    ranked, _ = by_id(clients)
    assert [ranked[i].dependency for i in (1, 2, 3, 4)] == ["critical", "critical", None, None]
    assert (ranked[3].segment, ranked[3].abcde) == ("lost", "A")  # still first to win back
    assert (ranked[4].profit_tier, ranked[4].abcde) == ("max", "A")


def test_dependency_is_exact_on_decimal_amounts():
    # 0.1 + 0.2 + 0.7 is 0.9999999999999999 in floats, which would make 0.1 "over" 10%.
    clients = [active(1, 0.1), active(2, 0.2), active(3, 0.7)]
    ranked, _ = by_id(clients)
    assert [ranked[i].dependency for i in (1, 2, 3)] == [None, "key", "critical"]


def test_no_positive_profit_anywhere_makes_no_key_client():
    ranked, _ = by_id([active(1, -5), active(2, None), active(3, 0)])
    assert [r.dependency for r in ranked.values()] == [None] * 3
    assert [r.abcde for r in ranked.values()] == ["E", "D", "D"]


amounts = st.one_of(st.none(), st.integers(-20, 100).map(float),
                    st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False))
client_lists = st.lists(
    st.tuples(st.sampled_from([None, "retail", "dealers"]), amounts, amounts,
              st.one_of(st.none(), st.dates(AS_OF - timedelta(days=400), AS_OF + timedelta(days=5)).map(date.isoformat))),
    max_size=25,
).map(lambda rows: [RankInput(i, *row) for i, row in enumerate(rows)])


@given(client_lists)
def test_every_client_once_in_order_and_e_iff_negative(clients):
    result = rank_clients(clients, AS_OF, SETTINGS)
    assert result.client_ids == [c.client_id for c in clients]
    for client, ranked in zip(clients, rows(result)):
        if ranked.segment == "potential":
            assert ranked.abcde is None
        else:
            assert (ranked.abcde == "E") == (client.profit is not None and client.profit < 0)


@given(st.data(), client_lists)
def test_input_order_does_not_change_the_result(data, clients):
    shuffled = data.draw(st.permutations(clients))
    first = {r.client_id: r for r in rows(rank_clients(clients, AS_OF, SETTINGS))}
    again = rank_clients(shuffled, AS_OF, SETTINGS)
    assert {r.client_id: r for r in rows(again)} == first
    assert again.profit_only_channels == rank_clients(clients, AS_OF, SETTINGS).profit_only_channels


@given(st.data(), client_lists, client_lists)
def test_ranking_facts_kept_and_updated_with_the_clients_written_since_rank_as_read_whole(data, before, written):
    """A clean keeps every client's facts; the next reads again only the clients written or removed since."""
    removed = data.draw(st.sets(st.sampled_from([c.client_id for c in before]) if before else st.nothing()))
    written = [c._replace(client_id=c.client_id + data.draw(st.sampled_from([0, 30]))) for c in written]
    now = {c.client_id: c for c in before if c.client_id not in removed} | {c.client_id: c for c in written}
    now = [now[client_id] for client_id in sorted(now)]
    changed = removed | {c.client_id for c in written}
    kept = KeptRanking.from_parts(KeptRanking(RankInputs.read(before), rank_clients(before, AS_OF, SETTINGS).standing)
                                  .to_parts())
    updated = kept.inputs.updated(changed, sorted(c for c in now if c.client_id in changed))
    ranked, whole = rank_clients(updated, AS_OF, SETTINGS), rank_clients(now, AS_OF, SETTINGS)
    assert rows(ranked) == rows(whole)
    assert ranked.profit_only_channels == whole.profit_only_channels
    assert (ranked.standing == whole.standing).all()
    last = {r.client_id: (r.segment, r.abcde, r.dependency) for r in rows(rank_clients(before, AS_OF, SETTINGS))}
    assert ranked.moved(kept) == [r.client_id for r in rows(whole)
                                  if last.get(r.client_id) != (r.segment, r.abcde, r.dependency)]


@given(st.dictionaries(st.integers(), amounts, max_size=30))
def test_a_larger_value_never_has_a_lower_tier(values):
    tiers = pareto_tiers(values, 0.5, 0.8)
    assert tiers.keys() == values.keys()
    positive = sorted((v, k) for k, v in values.items() if v is not None and v > 0)
    for (_, a), (_, b) in pairwise(positive):
        assert TIER_ORDER[tiers[a]] <= TIER_ORDER[tiers[b]]
    if positive:
        assert tiers[positive[-1][1]] == "max"


def exact_tiers(values: dict, max_share: float, high_share: float) -> dict:
    """The definition of pareto_tiers in exact fractions of the decimal amounts, to check its arithmetic."""
    positive = {k: Fraction(repr(v)) for k, v in values.items() if v is not None and v > 0}
    total = sum(positive.values(), Fraction(0))
    tiers = {}
    for key, value in positive.items():
        before = sum((v for v in positive.values() if v > value), Fraction(0))
        tiers[key] = ("max" if before < Fraction(repr(max_share)) * total
                      else "high" if before < Fraction(repr(high_share)) * total else "low")
    return {k: tiers.get(k, "low") for k in values}


# Amounts in tenths, so that running shares land exactly on the borders as often as not.
tenths = st.integers(min_value=-5, max_value=40).map(lambda n: n / 10)


@given(st.dictionaries(st.integers(), st.one_of(st.none(), tenths, amounts), max_size=30),
       st.sampled_from([(0.5, 0.8), (0.3, 0.6), (0.1, 0.9)]))
@example({0: 1.0, 1: 2.0, 2: 2.1, 3: 3.2, 4: 3.8, 5: 3.7, 6: 3.9, 7: 3.1}, (0.5, 0.8))  # floats alone err here
@example({0: 0.6, 1: 0.4, 2: 4.01446646551439e-210}, (0.3, 0.6))  # 28-digit decimals round the total down
def test_tiers_are_exact_at_the_borders(values, shares):
    assert pareto_tiers(values, *shares) == exact_tiers(values, *shares)


def test_infinite_and_huge_amounts_are_ranked_as_decimals():
    assert pareto_tiers({1: float("inf"), 2: 5.0, 3: None}, 0.5, 0.8) == {1: "max", 2: "low", 3: "low"}
    assert pareto_tiers({1: 1e308, 2: 1e308, 3: 1.0}, 0.5, 0.8) == {1: "max", 2: "max", 3: "low"}


def exact_dependencies(clients: list[RankInput], settings: RankSettings) -> dict[int, str]:
    """The definition of dependency in exact fractions of the decimal amounts, to check its arithmetic."""
    positive = {c.client_id: Fraction(repr(c.profit)) for c in clients if c.profit is not None and c.profit > 0}
    total = sum(positive.values(), Fraction(0))
    bounds = [(name, Fraction(repr(share)) * total) for name, share in (
        ("mono", settings.mono_share), ("critical", settings.critical_share), ("key", settings.key_share))]
    found = {cid: next((name for name, bound in bounds if profit > bound), None) for cid, profit in positive.items()}
    return {cid: name for cid, name in found.items() if name}


@given(st.lists(st.one_of(st.none(), tenths, amounts), max_size=25),
       st.sampled_from([(0.1, 0.2, 0.7), (0.05, 0.25, 0.5), (0.0, 0.3, 0.9)]))
@example([1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0], (0.1, 0.2, 0.7))  # each exactly 10%: none is key
@example([0.1, 0.2, 0.7], (0.1, 0.2, 0.7))  # 0.1 + 0.2 + 0.7 errs in floats
@example([100.01, 900.0], (0.1, 0.2, 0.7))  # over 10% by a part in ten thousand: key
@example([0.1, 0.8999999999999999, 9.99999999999999e-17], (0.1, 0.2, 0.7))  # 28 digits round the total up
def test_dependency_is_exact_at_the_borders(profits, shares):
    settings = replace(SETTINGS, key_share=shares[0], critical_share=shares[1], mono_share=shares[2])
    clients = [RankInput(i, "retail", profit, None, AS_OF.isoformat()) for i, profit in enumerate(profits)]
    result = rank_clients(clients, AS_OF, settings)
    found = {cid: dependency for cid, dependency in zip(result.client_ids, result.dependencies) if dependency}
    assert found == exact_dependencies(clients, settings)


def test_a_lost_client_is_never_key_and_revenue_is_not_profit(run, tmp_path):
    # Ten active clients earn 100 each. A lost client with old 1C sales (no profit figure) and a lost
    # client with a past profit of 5000 are no share of the company's profit today: neither is key, so
    # neither is exempt from expiry, and Альфа's 1500 is a critical 60% of the 2500 earned now.
    crm = tmp_path / "crm.csv"
    crm.write_text("Компания;Телефоны;Ответственный;Дата назначения;Прибыль;Дата последней покупки\n"
                   + "".join(f"ООО Актив{i};+7 843 230-00-0{i};Иванов Иван;2026-06-01;100;2026-11-01\n" for i in range(10))
                   + "ООО Альфа;+7 843 230-00-10;Иванов Иван;2026-06-01;1500;2026-11-01\n"
                   + "ООО Давний;+7 843 230-00-11;Петрова Анна;2026-06-01;5000;2024-05-01\n", encoding="utf-8")
    one_c = tmp_path / "1c.csv"
    one_c.write_bytes("Контрагент;Телефон;Менеджер;Дата назначения;Сумма продаж;Дата последней отгрузки\r\n"
                      "ООО Бывший;+7 843 230-01-00;Петрова Анна;01.06.2026;5 000,00;01.10.2024\r\n".encode("cp1251"))
    run("ingest", str(crm), str(one_c))
    run("clean", "--as-of", "2026-11-20")
    exported = {c["name"]: c for c in csv.DictReader(io.StringIO(run("export", "clients").stdout))}
    assert {name: c["dependency"] for name, c in exported.items() if c["dependency"]} == {"ООО Альфа": "critical"}
    # Assigned on 1 June, without a result since: their terms ran out on 30 August.
    assert [(exported[name]["segment"], exported[name]["owner"]) for name in ("ООО Бывший", "ООО Давний")] == [
        ("lost", ""), ("lost", "")]
    report = json.loads(run("report", "--as-of", "2026-11-20", "--json").stdout)
    assert report["sections"]["Key-client dependency"]["rows"] == [
        {"client": int(exported["ООО Альфа"]["client_id"]), "name": "ООО Альфа", "level": "critical",
         "share of profit": "60.0%"}]


def test_the_report_tells_the_dependency_shares_of_the_rules_in_force(run, tmp_path):
    crm = tmp_path / "crm.csv"
    crm.write_text("Компания;Телефоны;Ответственный;Прибыль\n"
                   "ООО Альфа;+7 843 230-00-10;Иванов Иван;1200\nООО Бета;+7 843 230-00-11;Иванов Иван;8800\n",
                   encoding="utf-8")
    run("ingest", str(crm))
    rules = tmp_path / "rules.toml"
    rules.write_text("[rank]\nkey_share = 0.15\ncritical_share = 0.3\nmono_share = 0.875\n", encoding="utf-8")
    run("--rules", str(rules), "clean", "--as-of", "2026-11-20")
    report = json.loads(run("--rules", str(rules), "report", "--as-of", "2026-11-20", "--json").stdout)
    assert report["sections"]["Key-client dependency"]["note"] == (
        "key > 15%, critical > 30%, mono-client > 87.5% of the company's profit")
    rules.write_text("[rank\n", encoding="utf-8")  # broken: refused, as by every command
    refused = run("--rules", str(rules), "report", "--as-of", "2026-11-20", check=1)
    assert "rules.toml" in refused.stderr and "Traceback" not in refused.stderr


def test_the_reports_changes_are_found_under_one_title_whatever_the_days(run, tmp_path):
    crm = tmp_path / "crm.csv"
    crm.write_text("Компания;Телефоны\nООО Альфа;+7 843 230-00-10\n", encoding="utf-8")
    run("ingest", str(crm))
    run("clean", "--as-of", "2026-11-20")
    first = json.loads(run("report", "--as-of", "2026-11-20", "--json").stdout)["sections"]
    assert first["Changed since the run before"]["note"] == "only one clean so far"
    crm.write_text("Компания;Телефоны\nООО Альфа;+7 843 230-00-10\nООО Бета;+7 843 230-00-11\n", encoding="utf-8")
    run("ingest", str(crm))
    run("clean", "--as-of", "2026-11-21")
    changes = json.loads(run("report", "--as-of", "2026-11-21", "--json").stdout)["sections"][
        "Changed since the run before"]
    assert changes["note"] == "clean of 2026-11-20 -> 2026-11-21"
    assert {"figure": "clients", "before": 1, "now": 2, "change": 1} in changes["rows"]


def test_the_report_counts_numbers_not_the_records_that_write_them(run, tmp_path):
    crm = tmp_path / "crm.csv"
    crm.write_text("Компания;Телефоны\nООО Альфа;+7 843 230-00-10\nООО Альфа;8 (843) 230-00-10\n"
                   "ООО Альфа;+7 843 230-00-10, +7 000 000-00-00\n", encoding="utf-8")
    run("ingest", str(crm))
    run("clean", "--as-of", "2026-11-20")
    phones = json.loads(run("report", "--as-of", "2026-11-20", "--json").stdout)["sections"]["Phones by status"]
    assert {row["status"]: row["numbers"] for row in phones["rows"]} == {"ok": 1, "invalid": 1}
