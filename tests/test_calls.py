import csv
import io
import json
from datetime import datetime, timedelta

import pytest
import xlsxwriter
from hypothesis import given
from hypothesis import strategies as st

from clientbase.calls import OUTCOMES, Call, judge_calls, parse_duration, read_outcome

START = datetime(2026, 10, 1, 10, 0)


def attempts(days, outcome="no_answer"):
    return [Call((START + timedelta(days=d)).isoformat(sep=" "), outcome) for d in days]


@pytest.mark.parametrize(
    "word, outcome",
    [
        ("Отвечен", "answered"), ("Разговор", "answered"), ("ANSWERED", "answered"),
        ("Нет ответа", "no_answer"), ("Занято", "busy"), ("busy", "busy"),
        ("Не зарегистрирован в сети", "not_registered"), ("Номер не существует", "not_registered"),
        ("Абонент недоступен", "unavailable"), ("Не тот абонент", "wrong_party"), ("Неверный номер", "wrong_party"),
        ("Автоответчик", "voicemail"), ("no_answer", "no_answer"), ("wrong number", "wrong_party"),
        ("Абонент не отвечает", "no_answer"), ("Абонент занят", "busy"),
        # A call the callee turned down: the caller hears busy, so it counts like busy (DOMAIN §4).
        ("Сброс", "busy"), ("Сброшен", "busy"), ("Абонент сбросил", "busy"), ("Отклонён", "busy"),
        ("rejected", "busy"), ("Declined", "busy"),
        ("Перезвонить завтра", None), ("", None),
        # Dialers' longer wordings: a known phrase inside the cell, any case, ё or е, punctuation.
        ("Number does not exist", "not_registered"), ("Number does not exist.", "not_registered"),
        ("Абонент не зарегистрирован в сети", "not_registered"), ("Not registered in the network", "not_registered"),
        ("Неправильный номер", "wrong_party"), ("Ошибочный номер", "wrong_party"), ("Не берёт трубку", "no_answer"),
        ("Не дозвонились", "no_answer"), ("Звонок: абонент НЕДОСТУПЕН", "unavailable"),
        ("Абонент не доступен", "unavailable"), ("not_registered", "not_registered"),
        ("Не удалось дозвониться", "no_answer"), ("Вызов не принят", "no_answer"),
        # A negation no phrase holds may turn a word around: nothing known.
        ("Разговор не состоялся", None), ("Номер не определён", None), ("Not connected", None), ("Не отвечен", None),
        # Asterisk's dispositions: a call that could not be placed or found no free line says nothing of the number.
        ("FAILED", "unavailable"), ("CONGESTION", "unavailable"), ("CHANUNAVAIL", "unavailable"),
        ("Call failed", "unavailable"), ("NO ANSWER", "no_answer"), ("NOANSWER", "no_answer"), ("BUSY", "busy"),
        # A number out of service is dead; a call cut off is no news of the number, and `Disconnected` may be either.
        ("Number disconnected", "not_registered"), ("Disconnected number", "not_registered"),
        ("The number you have dialed has been disconnected.", "not_registered"),
        ("Disconnected", None), ("Call disconnected", None),
    ],
)
def test_outcome_words(word, outcome):
    assert read_outcome(word)[0] == outcome


# What dialers write for each outcome, as DOMAIN §4 reads it.
_SAID = {
    "answered": ["Отвечен", "Разговор", "Answered", "Соединён"],
    "no_answer": ["Нет ответа", "Абонент не отвечает", "Не берёт трубку", "No answer"],
    "busy": ["Занято", "Абонент занят", "Busy", "Сброс"],
    "unavailable": ["Абонент недоступен", "Вне зоны действия сети", "Switched off"],
    "not_registered": ["Не зарегистрирован в сети", "Номер не существует", "Number does not exist",
                       "Not registered"],
    "wrong_party": ["Не тот абонент", "Неверный номер", "Wrong number", "Ошибочный номер"],
    "voicemail": ["Автоответчик", "Голосовая почта", "Voicemail"],
}
_SAYINGS = st.sampled_from([(outcome, said) for outcome, words in _SAID.items() for said in words])
_CASED = st.sampled_from([str, str.upper, str.lower, str.title])
_AROUND = st.sampled_from(["", "Звонок: ", "Результат - ", "Call result: ", "(", "12:05 "])
_AFTER = st.sampled_from(["", ".", "!", ")", " (3 сек)", "; SIP 480", " - итог", "..."])


@given(_SAYINGS, _CASED, _AROUND, _AFTER)
def test_a_known_phrase_means_its_outcome_however_the_cell_writes_it(saying, cased, before, after):
    outcome, said = saying
    assert read_outcome(before + cased(said) + after) == (outcome, None)
    assert read_outcome(before + cased(said.replace("е", "ё")) + after) == (outcome, None)  # ё typed for е


@given(_SAYINGS, _SAYINGS, st.sampled_from([", ", " / ", "; ", " и "]))
def test_phrases_of_two_outcomes_in_one_cell_mean_nothing(first, second, joint):
    cell = first[1] + joint + second[1]
    outcome, why = read_outcome(cell)
    if first[0] == second[0]:
        assert (outcome, why) == (first[0], None)
    else:
        assert outcome is None and why.startswith(f"ambiguous outcome {cell!r}")


@given(st.text(max_size=40))
def test_an_outcome_is_known_or_rejected_with_its_reason(text):
    outcome, why = read_outcome(text)
    assert (outcome in OUTCOMES and why is None) or (outcome is None and (
        why == f"unknown outcome {text!r}" or why.startswith(f"ambiguous outcome {text!r}: ")))


def judge(calls):
    return judge_calls(calls, streak=5, min_days=14)


def test_four_attempts_are_not_a_streak():
    assert judge(attempts([0, 5, 10, 15])).status == "ok"


def test_five_attempts_in_ten_days_are_not_dead():
    assert judge(attempts([0, 2, 5, 8, 10])).status == "ok"


def test_five_attempts_over_fourteen_days_are_dead():
    health = judge(attempts([0, 3, 7, 10, 14]))
    assert health.status == "dead" and "5 attempts" in health.reason
    assert health.decided_on == "2026-10-15"


def test_an_answer_in_between_resets_the_streak():
    calls = attempts([0, 3, 7]) + attempts([8], "answered") + attempts([10, 12, 14])
    assert judge(calls).status == "ok"


def test_busy_counts_like_no_answer_and_unavailable_proves_nothing():
    calls = attempts([0, 4], "busy") + attempts([6, 9], "unavailable") + attempts([8, 11, 16])
    assert judge(calls).status == "dead"
    assert judge(attempts([0, 5, 10, 15, 20, 25], "unavailable")).status == "ok"


def test_not_registered_and_wrong_party_act_at_once_and_a_later_answer_restores():
    assert judge(attempts([0], "not_registered")).status == "dead"
    assert judge(attempts([0], "wrong_party")).status == "mismatch"
    back = judge(attempts([0], "not_registered") + attempts([30], "answered"))
    assert back.status == "ok" and back.last_answered == "2026-10-31"


def test_only_a_whole_new_streak_decides_a_dead_number_again():
    gone = attempts([0], "not_registered")
    assert judge(gone + attempts([200, 201])).decided_on == "2026-10-01"  # unanswered calls decide nothing
    again = judge(gone + attempts([200, 204, 207, 210, 214]))
    assert (again.status, again.decided_on) == ("dead", "2027-05-03")
    assert again.reason == "5 attempts without an answer over 14 days"
    streak = attempts([0, 3, 7, 10, 14])
    assert judge(streak + attempts([200])).decided_on == judge(streak).decided_on == "2026-10-15"
    assert judge(streak + attempts([200, 204, 207, 210, 214])).decided_on == "2027-05-03"


def test_order_of_the_log_does_not_matter():
    calls = attempts([14, 0, 10, 3, 7])
    assert judge(calls).status == "dead"


def test_a_call_in_several_rows_is_one_attempt():
    # The export of 1-16 March and last week's of 1-8 March: three real calls, two of them in both.
    overlapping = attempts([0, 7, 15]) + attempts([0, 7]) + attempts([7])  # and a row repeated in one file
    assert judge(overlapping).status == "ok"
    health = judge(attempts([0, 3, 7, 10, 14]) + attempts([3, 7, 14]) + attempts([10], "busy"))
    assert (health.status, health.reason) == ("dead", "5 attempts without an answer over 14 days")


def test_rows_are_one_call_when_their_moments_agree_to_the_precision_both_carry():
    def na(*stamps):
        return [Call(f"2026-10-{stamp}", "no_answer") for stamp in stamps]

    later = attempts([5, 10, 15])  # three more attempts, up to 16 October 10:00
    assert judge(na("01 10:15", "01 10:15:00") + later).status == "ok"
    assert judge(na("01 10:15", "01 10:15:40") + later).status == "ok"
    assert judge(na("01", "01 10:15:40") + later).status == "ok"  # a bare date is the whole day
    # Two calls a few seconds apart are two calls, and a row written to the minute is one of them.
    assert judge(na("01 10:00:00", "01 10:00:40") + later).status == "dead"
    assert judge(na("01 10:00", "01 10:00:00", "01 10:00:40") + later).status == "dead"
    assert judge(na("01 10:00", "01 10:01") + later).status == "dead"


def test_outcomes_of_one_moment_that_disagree_never_count_against_the_number():
    def at(stamp, outcome):
        return Call(f"2026-10-01 {stamp}", outcome)

    later = attempts([3, 7, 10, 15])
    # No answer and busy of one moment are one attempt.
    assert judge([at("10:00", "no_answer"), at("10:00", "busy")] + attempts([7, 10, 15])).status == "ok"
    # An answer outweighs a no-answer or a death of its moment, whichever row comes first or writes it finer.
    for rows in ([at("10:00", "answered"), at("10:00", "no_answer")],
                 [at("10:00", "no_answer"), at("10:00", "answered")],
                 [at("10:00", "answered"), at("10:00:30", "no_answer")],
                 [at("10:00", "no_answer"), at("10:00:30", "answered")]):
        health = judge(rows + later)
        assert (health.status, health.last_answered) == ("ok", "2026-10-01"), rows
    for rows in ([at("10:00", "answered"), at("10:00", "not_registered")],
                 [at("10:00", "not_registered"), at("10:00", "answered")],
                 [at("10:00:00", "wrong_party"), at("10:00", "answered")]):
        assert judge(rows).status == "ok", rows
    assert judge([at("10:00", "answered"), at("10:01", "not_registered")]).status == "dead"


# Calls in distinct minutes over 30 days, most of them unanswered, so that streaks are common.
_MINUTES = st.lists(st.tuples(st.integers(0, 60 * 24 * 30), st.integers(0, 59),
                              st.sampled_from(("no_answer",) * 6 + ("busy",) * 2 + OUTCOMES)),
                    max_size=12, unique_by=lambda call: call[0])


@given(_MINUTES, st.data())
def test_repeating_rows_to_the_second_or_to_the_minute_changes_nothing(calls, data):
    real = [Call((START + timedelta(minutes=m, seconds=s)).isoformat(sep=" "), o) for m, s, o in calls]
    repeats = [Call(call.at[:16] if minute else call.at, call.outcome)
               for call, minute in data.draw(st.lists(st.tuples(st.sampled_from(real), st.booleans())))] \
        if real else []
    rows = data.draw(st.permutations(real + repeats))
    assert judge(rows) == judge(real)


def test_durations():
    assert parse_duration("00:10:18") == 618
    assert parse_duration("10:18") == 618
    assert parse_duration("75") == 75
    assert parse_duration("") is None


@pytest.mark.parametrize("header, stamp", [
    (["Телефон", "Время", "Результат"], ["10.11.2026 10:00"]),
    (["Phone", "Call time", "Result"], ["2026-11-10 10:00"]),
    (["Телефон", "Дата", "Время", "Результат"], ["10.11.2026", "10:00"]),
])
def test_a_log_with_its_moment_under_a_time_header_loads(run, tmp_path, header, stamp):
    (tmp_path / "crm.csv").write_text("Компания;Город;Телефон\nООО Тест;Казань;+7 916 300-00-01\n", encoding="utf-8")
    run("ingest", str(tmp_path / "crm.csv"))
    log = tmp_path / "dialer.csv"
    log.write_text(";".join(header) + "\n" + ";".join(["+79163000001", *stamp, "Отвечен"]) + "\n", encoding="utf-8")
    (source,) = json.loads(run("calls", str(log), "--json").stdout)["sources"]
    assert (source["ok"], source["rejected"]) == (1, {})
    run("clean", "--as-of", "2026-11-20")
    (client,) = csv.DictReader(io.StringIO(run("export", "clients").stdout))
    assert client["last_contact"] == "2026-11-10"


def test_an_asterisk_cdr_export_is_read_as_it_is_written(run, tmp_path):
    (tmp_path / "crm.csv").write_text("Компания;Телефон\nООО Альфа;+7 912 444-55-66\n", encoding="utf-8")
    run("ingest", str(tmp_path / "crm.csv"))
    log = tmp_path / "cdr.csv"
    log.write_text("calldate,clid,src,dst,dcontext,channel,dstchannel,lastapp,duration,billsec,disposition,uniqueid\n"
                   '2026-11-05 10:00:00,"Иванов" <101>,101,89124445566,from-internal,SIP/101-1,SIP/trunk-2,Dial,30,0,'
                   "ANSWERED,1730800000.1\n", encoding="utf-8")
    (source,) = json.loads(run("calls", str(log), "--json").stdout)["sources"]
    assert (source["ok"], source["mapping"]["dst"], source["mapping"]["calldate"]) == (1, "phone", "at")
    run("clean", "--as-of", "2026-11-20")
    (client,) = csv.DictReader(io.StringIO(run("export", "clients").stdout))
    assert client["last_contact"] == "2026-11-05"


def test_a_log_without_a_date_column_is_refused_in_the_users_words(run, tmp_path):
    log = tmp_path / "log.csv"
    log.write_text("Телефон;Результат\n+79124445566;Отвечен\n", encoding="utf-8")
    error = run("calls", str(log), check=1).stderr
    assert "log.csv: no date and time column in a call log (headers: Телефон, Результат)" in error


def test_a_dialers_no_answer_and_turned_down_calls_are_imported_and_make_a_streak(run, tmp_path):
    crm = tmp_path / "crm.csv"
    crm.write_text("Компания;Телефон\nООО Альфа;+7 916 300-00-01\n", encoding="utf-8")
    log = tmp_path / "dialer.csv"
    log.write_bytes(("Телефон;Дата и время;Результат\r\n"
                     "79163000001;2026-10-01 10:00;Абонент не отвечает\r\n"
                     "79163000001;2026-10-05 10:00;Сброс\r\n"
                     "79163000001;2026-10-09 10:00;declined\r\n"
                     "79163000001;2026-10-13 10:00;rejected\r\n"
                     "79163000001;2026-10-17 10:00;Абонент не отвечает\r\n").encode("cp1251"))
    run("ingest", str(crm))
    imported = json.loads(run("calls", str(log), "--json").stdout)
    assert (imported["rows"], imported["rejected"]) == (5, 0)
    run("clean", "--as-of", "2026-11-20")
    [phone] = csv.DictReader(io.StringIO(run("export", "phones").stdout))
    assert (phone["status"], phone["reason"]) == ("dead", "5 attempts without an answer over 16 days")


def test_asterisks_dispositions_are_read_and_a_failed_or_congested_call_kills_no_number(run, tmp_path):
    crm = tmp_path / "crm.csv"
    crm.write_text("Компания;Телефон\nООО Альфа;+7 916 300-00-01\nООО Бета;+7 916 300-00-02\n", encoding="utf-8")
    # An Asterisk CDR: the first number's calls never got through, the second's rang unanswered.
    days = ("2026-10-01", "2026-10-05", "2026-10-09", "2026-10-13", "2026-10-17", "2026-10-21")
    rows = [f"79163000001;{day} 10:00;{said}" for day, said in zip(days, ("FAILED", "CONGESTION", "Congestion",
                                                                          "failed", "CONGESTION", "FAILED"))]
    rows += [f"79163000002;{day} 11:00;{said}" for day, said in zip(days, ("NO ANSWER", "BUSY", "NOANSWER",
                                                                          "NO ANSWER", "BUSY", "FAILED"))]
    log = tmp_path / "cdr.csv"
    log.write_text("Number;Call date;Disposition\n" + "\n".join(rows) + "\n", encoding="utf-8")
    run("ingest", str(crm))
    (source,) = json.loads(run("calls", str(log), "--json").stdout)["sources"]
    assert (source["ok"], source["rejected"]) == (12, {})
    run("clean", "--as-of", "2026-11-20")
    phones = {p["e164"]: (p["status"], p["reason"])
              for p in csv.DictReader(io.StringIO(run("export", "phones").stdout))}
    assert phones == {"+79163000001": ("ok", ""),
                      "+79163000002": ("dead", "5 attempts without an answer over 16 days")}


def test_a_number_the_dialer_says_does_not_exist_is_dead_and_not_handed_out(run, tmp_path):
    crm = tmp_path / "crm.csv"
    crm.write_text("Компания;Город;Телефон\nООО Альфа;Москва;8 916 200 00 00\nООО Бета;Москва;8 916 200 00 01\n",
                   encoding="utf-8")
    log = tmp_path / "dialer.csv"
    log.write_text("Телефон;Дата и время;Результат;Оператор\n"
                   "79162000000;2026-11-10 10:00;Абонент не зарегистрирован в сети;bot\n"
                   "79162000001;2026-11-10 10:05;Number does not exist.;bot\n"
                   "79162000001;2026-11-10 10:10;Номер не определён;bot\n"
                   "79162000001;2026-11-10 10:15;Разговор, не тот абонент;bot\n", encoding="utf-8")
    run("ingest", str(crm))
    (source,) = json.loads(run("calls", str(log), "--json").stdout)["sources"]
    assert source["rejected"] == {"unknown outcome 'Номер не определён'": 1,
                                  "ambiguous outcome 'Разговор, не тот абонент': answered or wrong_party": 1}
    run("clean", "--as-of", "2026-11-20")
    phones = {p["e164"]: (p["status"], p["reason"])
              for p in csv.DictReader(io.StringIO(run("export", "phones").stdout))}
    assert phones == {"+79162000000": ("dead", "not registered in the network"),
                      "+79162000001": ("dead", "not registered in the network")}
    today = json.loads(run("today", "--manager", "Иванов Иван", "--new-manager", "--as-of", "2026-11-20",
                           "--json").stdout)
    assert today["items"] == []


def test_the_operators_own_line_is_neither_the_number_called_nor_the_manager(run, tmp_path):
    (tmp_path / "crm.csv").write_text("Компания;Телефон\nООО Тест;+7 916 300-00-01\n", encoding="utf-8")
    run("ingest", str(tmp_path / "crm.csv"))
    log = tmp_path / "dialer.csv"
    log.write_text("Номер оператора;Agent phone;Number;Date;Outcome;Sales manager\n"
                   "+74950000001;+74950000002;+79163000001;2026-11-10 10:00;answered;Ivanov Ivan\n", encoding="utf-8")
    (source,) = json.loads(run("calls", str(log), "--json").stdout)["sources"]
    assert source["mapping"] == {"Number": "phone", "Date": "at", "Outcome": "outcome", "Sales manager": "manager"}
    assert source["ok"] == 1


def _log(path, rows):
    path.write_text("Телефон;Дата и время;Результат;Оператор\n"
                    + "".join(f"+79170000001;{at};{said};Иванов Иван\n" for at, said in rows), encoding="utf-8")
    return path


def _client(run):
    (phone,) = csv.DictReader(io.StringIO(run("export", "phones").stdout))
    (client,) = csv.DictReader(io.StringIO(run("export", "clients").stdout))
    actions = [h["action"] for h in json.loads(run("explain", client["client_id"], "--json").stdout)["history"]]
    return (phone["status"], phone["reason"]), client, [a for a in actions if a in ("quarantine", "release")]


@pytest.fixture
def romashka(run, tmp_path):
    crm = tmp_path / "crm.csv"
    crm.write_text("Компания;ИНН;Город;Телефон;Ответственный\nООО Ромашка;1650000017;Казань;+79170000001;Иванов Иван\n",
                   encoding="utf-8")
    run("ingest", str(crm), "--as-of", "2026-03-01")
    return tmp_path


def test_a_call_in_overlapping_dialer_logs_or_repeated_in_one_counts_once(run, romashka):
    # The export of 1-16 March holds three unanswered calls, the last one twice; last week's export of 1-8 March,
    # imported as another source and written another way, holds two of them again.
    march = _log(romashka / "dialer_march_1_16.csv", [("2026-03-01 10:00", "Нет ответа"),
                                                      ("2026-03-08 10:00", "Нет ответа"),
                                                      ("2026-03-16 10:00", "Нет ответа"),
                                                      ("2026-03-16 10:00", "Нет ответа")])
    week = _log(romashka / "dialer_week_1_8.csv", [("01.03.2026 10:00:00", "Нет ответа"),
                                                   ("08.03.2026 10:00", "Абонент не отвечает")])
    imported = json.loads(run("calls", str(march), str(week), "--json").stdout)
    assert (imported["rows"], imported["rejected"]) == (6, 0)  # every row stays, each with its SOURCE:ROW
    run("clean", "--as-of", "2026-03-17")
    phone, client, actions = _client(run)
    assert phone == ("ok", "")
    assert (client["state"], client["last_contact"], actions) == ("owned", "", [])
    assert list(csv.DictReader(io.StringIO(run("export", "quarantine").stdout))) == []
    report = json.loads(run("report", "--as-of", "2026-03-17", "--json").stdout)["sections"]
    assert report["Calls imported"]["rows"] == [{"status": "ok", "reason": "", "calls": 6}]
    assert report["Phones by status"]["rows"] == [{"status": "ok", "numbers": 1}]


def test_an_answer_in_the_morning_does_not_hide_a_dead_number_in_the_evening(run, romashka):
    # A log writing the year in two digits: the time must be kept, or both calls are one moment and the answer wins.
    log = _log(romashka / "dialer.csv", [("01.03.26 09:00", "Отвечен"), ("01.03.26 18:00", "Номер не существует")])
    run("calls", str(log))
    run("clean", "--as-of", "2026-03-02")
    assert _client(run)[0] == ("dead", "not registered in the network")


@pytest.mark.parametrize("morning, evening", [
    ("2026-03-01 00:00:00;09:00", "2026-03-01 00:00:00;18:00"),  # a date written with Excel's midnight, a time beside
    ("2026-03-01T00:00:00.000Z;09:00", "2026-03-01 00:00:00+05:00;18:00"),  # a midnight with a zone: the day written
    ("46082;0.375", "46082;0,75"),  # Excel serials in both columns: a day, and a fraction of one
    ("01.03.2026 0:00:00;09:00:00", "1.03.2026 0:00;18:00"),  # 1C's and .NET's midnight, one-digit hour
    ("46082.375;", "46082,75;"),  # Excel serials, the time of day a fraction, with either decimal mark
    ("2026-03-01T12:00:00+03:00;", "2026-03-01T10:00:00Z;"),  # times with their zones: 12:00 and 13:00 in Moscow
])
def test_the_time_of_a_call_is_kept_however_the_log_writes_it(run, romashka, morning, evening):
    log = romashka / "dialer.csv"
    log.write_text("Телефон;Дата;Время;Результат\n"
                   f"+79170000001;{morning};Отвечен\n+79170000001;{evening};Номер не существует\n", encoding="utf-8")
    run("calls", str(log))
    run("clean", "--as-of", "2026-03-02")
    assert _client(run)[0] == ("dead", "not registered in the network")


def test_a_call_two_logs_write_in_two_zones_counts_once(run, romashka):
    moscow = _log(romashka / "dialer_msk.csv", [(f"2026-03-{day:02d}T10:00:00+03:00", "Нет ответа")
                                                for day in (1, 8, 16)])
    utc = _log(romashka / "dialer_utc.csv", [(f"2026-03-{day:02d}T07:00:00Z", "Нет ответа") for day in (1, 8, 16)])
    run("calls", str(moscow), str(utc))
    run("clean", "--as-of", "2026-03-20")
    assert _client(run)[0] == ("ok", "")  # three attempts, not six: no streak


def test_five_real_attempts_over_two_weeks_still_kill_the_number_however_the_logs_overlap(run, romashka):
    first = _log(romashka / "dialer_1.csv", [("2026-03-01 10:00", "Нет ответа"), ("2026-03-08 10:00", "Нет ответа"),
                                             ("2026-03-16 10:00", "Занято")])
    # The next export starts a day back, repeats a row, and writes the seconds: two new attempts.
    second = _log(romashka / "dialer_2.csv", [("2026-03-16 10:00:00", "Занято"), ("2026-03-23 10:00:00", "Нет ответа"),
                                              ("2026-03-23 10:00:00", "Нет ответа"), ("2026-03-30 10:00:00", "Занято")])
    run("calls", str(first), str(second))
    run("clean", "--as-of", "2026-03-31")
    phone, client, actions = _client(run)
    assert phone == ("dead", "5 attempts without an answer over 29 days")
    assert (client["state"], actions) == ("quarantined", ["quarantine"])

    # An answer, in two overlapping exports: the client is released, and its rest counts from that one call.
    third = _log(romashka / "dialer_3.csv", [("2026-03-30 10:00", "Занято"), ("2026-04-02 11:00", "Разговор")])
    fourth = _log(romashka / "dialer_4.csv", [("02.04.2026 11:00:00", "Отвечен"), ("02.04.2026 11:00:00", "Отвечен")])
    run("calls", str(third), str(fourth))
    run("clean", "--as-of", "2026-04-03")
    phone, client, actions = _client(run)
    assert phone == ("ok", "")
    assert (client["state"], client["last_contact"], client["next_due"]) == ("owned", "2026-04-02", "2026-05-02")
    assert actions == ["quarantine", "release"]


def test_a_call_whose_phone_cell_holds_two_numbers_is_rejected_not_guessed(run, romashka):
    log = romashka / "dialer.csv"
    log.write_text("Телефон;Дата и время;Результат\n"
                   "8-917-000-00-01, 8-922-555-66-77;02.03.2026 10:00;Не зарегистрирован в сети\n"
                   "8-917-000-00-01, 322-14-77;02.03.2026 10:30;Не зарегистрирован в сети\n"  # the second incomplete
                   "+7 917 000-00-01 (8 917 000 00 01);02.03.2026 11:00;Нет ответа\n", encoding="utf-8")
    (source,) = json.loads(run("calls", str(log), "--json").stdout)["sources"]
    assert (source["ok"], source["rejected"]) == (1, {"two numbers in one cell": 2})  # one number written twice is one
    run("clean", "--as-of", "2026-03-03")
    assert _client(run)[0] == ("ok", "")


def test_a_date_in_the_future_is_a_typo_kept_raw_not_a_rest_for_decades(run, tmp_path):
    (tmp_path / "crm.csv").write_text(
        "Наименование;ИНН;Город;Телефон;Ответственный;Дата последнего контакта\n"
        "ООО Бета;7728168971;Москва;+7 916 222-33-44;Иванов Иван;12.11.2062\n", encoding="utf-8")
    (source,) = json.loads(run("ingest", str(tmp_path / "crm.csv"), "--json").stdout)["sources"]
    assert (source["ok"], source["unread"]) == (1, 1)
    log = tmp_path / "dialer.csv"
    log.write_text("Телефон;Дата и время;Результат\n+79162223344;12.11.2062 10:00;Не зарегистрирован в сети\n",
                   encoding="utf-8")
    (calls,) = json.loads(run("calls", str(log), "--json").stdout)["sources"]
    assert calls["rejected"] == {"date in the future": 1}
    run("clean", "--as-of", "2026-11-20")
    (client,) = csv.DictReader(io.StringIO(run("export", "clients").stdout))
    assert (client["last_contact"], client["next_due"], client["state"]) == ("", "", "owned")
    (record,) = csv.DictReader(io.StringIO(run("export", "records").stdout))
    assert record["unread"] == "last_contact '12.11.2062' (date in the future)"


def test_a_dialer_workbook_with_a_summary_sheet_is_read_and_the_summary_rejected_in_sight(run, tmp_path):
    (tmp_path / "crm.csv").write_text("Компания;Телефон\nООО Альфа;+7 922 555-66-77\n", encoding="utf-8")
    run("ingest", str(tmp_path / "crm.csv"))
    book = xlsxwriter.Workbook(str(tmp_path / "calls.xlsx"))
    calls, totals = book.add_worksheet("Звонки"), book.add_worksheet("Итоги")
    for row, cells in enumerate([["Телефон", "Дата и время", "Результат"], ["+79225556677", "03.11.2026 12:00", "Отвечен"]]):
        calls.write_row(row, 0, cells)
    for row, cells in enumerate([["Всего звонков", 1], ["Дозвонились", 1]]):
        totals.write_row(row, 0, cells)
    book.close()
    result = json.loads(run("calls", str(tmp_path / "calls.xlsx"), "--json").stdout)["sources"]
    assert [(s["source"], s["ok"], s["rows"]) for s in result] == [("calls.xlsx#Звонки", 1, 1), ("calls.xlsx#Итоги", 0, 1)]
    assert result[1]["note"].startswith("no phone or outcome or date and time column in the header on row 1")
    run("clean", "--as-of", "2026-11-20")
    (client,) = csv.DictReader(io.StringIO(run("export", "clients").stdout))
    assert client["last_contact"] == "2026-11-03"


def test_a_row_set_aside_as_dated_in_the_future_is_read_again_with_the_file_on_a_later_day(run, tmp_path):
    crm = tmp_path / "crm.csv"
    crm.write_text("Наименование;Телефон;Дата последнего контакта\nООО Бета;+7 916 222-33-44;12.11.2062\n",
                   encoding="utf-8")
    run("ingest", str(crm), "--as-of", "2026-11-20")
    log = tmp_path / "dialer.csv"
    log.write_text("Телефон;Дата и время;Результат\n+79162223344;12.11.2062 10:00;Отвечен\n", encoding="utf-8")
    run("calls", str(log), "--as-of", "2026-11-20")
    # Both files come again on that day, each with a row more: the rows set aside are read again, not kept.
    crm.write_text(crm.read_text(encoding="utf-8") + "ООО Гамма;+7 916 222-33-45;\n", encoding="utf-8")
    (source,) = json.loads(run("ingest", str(crm), "--as-of", "2062-11-20", "--json").stdout)["sources"]
    assert (source["kept"], source["unread"]) == (0, 0)
    log.write_text(log.read_text(encoding="utf-8") + "+79162223345;12.11.2062 11:00;Отвечен\n", encoding="utf-8")
    (calls,) = json.loads(run("calls", str(log), "--as-of", "2062-11-20", "--json").stdout)["sources"]
    assert (calls["ok"], calls["rejected"]) == (2, {})
