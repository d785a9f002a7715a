"""Phone health and the quarantine, driven by real dialer logs through the CLI."""

import csv
import io
import json
import sqlite3

import pytest

CLIENTS = {
    "Альфа": "+7 916 100-00-01",  # not registered: dead at once
    "Бета": "+7 916 100-00-02",  # someone else answers: mismatch at once
    "Гамма": "+7 916 100-00-03; +7 916 100-00-13",  # one dead number, one good
    "Дельта": "+7 916 100-00-04",  # 4 attempts: not a streak
    "Эпсилон": "+7 916 100-00-05",  # 5 attempts within 10 days: not dead
    "Зета": "+7 916 100-00-06",  # 5 attempts over 14 days: dead
    "Тета": "+7 916 100-00-07",  # an answer in between resets the streak
    "Йота": "+7 916 100-00-08",  # unavailable proves nothing
}


def no_answers(phone, days, word="Нет ответа"):
    return [(phone, f"2026-{10 + (d // 31)}-{1 + d % 31:02d} 10:00", word) for d in days]


CALLS = [
    ("79161000001", "2026-10-05 10:00", "Не зарегистрирован в сети"),
    ("79161000002", "2026-10-05 11:00", "Не тот абонент"),
    ("79161000003", "2026-10-06 11:00", "Номер не существует"),
    ("79161000013", "2026-10-06 12:00", "Отвечен"),
    *no_answers("79161000004", [0, 6, 12, 20]),
    *no_answers("79161000005", [0, 2, 5, 8, 10]),
    *no_answers("79161000006", [0, 3, 7, 10, 14]),
    *no_answers("79161000007", [0, 3, 7]),
    ("79161000007", "2026-10-09 10:00", "Разговор"),
    *no_answers("79161000007", [9, 12, 16]),
    *no_answers("79161000008", [0, 5, 10, 15, 20, 25], "Абонент недоступен"),
    ("79161000008", "2026-10-28 10:00", "Перезвонить позже"),
]


def write(path, header, rows, delimiter=";"):
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.fixture
def base(run, tmp_path):
    clients = write(tmp_path / "crm.csv", ["Компания", "Город", "Телефон", "Ответственный"],
                    [[f"ООО «{name}»", "Москва", phones, ""] for name, phones in CLIENTS.items()])
    run("ingest", str(clients))
    log = write(tmp_path / "dialer.csv", ["Телефон", "Дата и время", "Результат", "Оператор"],
                [[p, at, word, "Робот"] for p, at, word in CALLS])
    imported = json.loads(run("calls", str(log), "--json").stdout)
    return imported


def export(run, kind):
    return list(csv.DictReader(io.StringIO(run("export", kind).stdout)))


def status_of(run):
    return {p["e164"]: (p["status"], p["reason"]) for p in export(run, "phones")}


def client_ids(run):
    return {c["name"]: c["client_id"] for c in export(run, "clients")}


def test_unknown_outcome_words_are_reported_not_guessed(base, run, tmp_path):
    (source,) = base["sources"]
    assert source["rows"] == len(CALLS)
    assert source["rejected"] == {"unknown outcome 'Перезвонить позже'": 1}
    again = json.loads(run("calls", str(tmp_path / "dialer.csv"), "--json").stdout)
    assert again["sources"][0]["outcome"] == "unchanged"


def test_call_outcomes_decide_each_number(base, run):
    run("clean", "--as-of", "2026-11-20")
    status = status_of(run)
    assert status["+79161000001"][0] == "dead"
    assert status["+79161000002"][0] == "mismatch"
    assert status["+79161000003"][0] == "dead" and status["+79161000013"][0] == "ok"
    assert status["+79161000004"][0] == "ok"  # 4 attempts
    assert status["+79161000005"][0] == "ok"  # 5 attempts in 10 days
    assert status["+79161000006"] == ("dead", "5 attempts without an answer over 14 days")
    assert status["+79161000007"][0] == "ok"  # answered in between
    assert status["+79161000008"][0] == "ok"  # unavailable proves nothing


def test_clients_without_a_working_number_go_to_quarantine(base, run):
    run("clean", "--as-of", "2026-11-20")
    ids = client_ids(run)
    rows = export(run, "quarantine")
    quarantined = {r["client_id"] for r in rows if r["e164"] == ""}
    assert quarantined == {ids["ООО «Альфа»"], ids["ООО «Бета»"], ids["ООО «Зета»"]}
    alpha = next(r for r in rows if r["client_id"] == ids["ООО «Альфа»"] and r["e164"] == "")
    assert (alpha["since"], alpha["recheck_on"]) == ("2026-11-20", "2027-05-19")
    # A dead number of a client that has another is listed, but the client is not quarantined.
    gamma = [r for r in rows if r["client_id"] == ids["ООО «Гамма»"]]
    assert [r["e164"] for r in gamma] == ["+79161000003"]
    states = {c["name"]: c["state"] for c in export(run, "clients")}
    assert states["ООО «Альфа»"] == "quarantined" and states["ООО «Гамма»"] == "pool"


def test_quarantined_clients_come_back_as_recheck_and_leave_only_when_alive(base, run, tmp_path):
    run("clean", "--as-of", "2026-11-20")
    ids = client_ids(run)
    alpha = int(ids["ООО «Альфа»"])
    day1 = json.loads(run("today", "--manager", "Робот", "--new-manager", "--as-of", "2026-11-21", "--json").stdout)["items"]
    listed = {i["client_id"] for i in day1}
    assert alpha not in listed and int(ids["ООО «Гамма»"]) in listed
    assert all(i["phone"] not in ("+79161000001", "+79161000003") for i in day1)

    run("clean", "--as-of", "2027-05-20")
    due = json.loads(run("quarantine", "list", "--as-of", "2027-05-20", "--json").stdout)["items"]
    assert {d["client_id"] for d in due if d["recheck_due"]} >= {alpha}
    later = json.loads(run("today", "--manager", "Петрова", "--new-manager", "--as-of", "2027-05-20", "--json").stdout)["items"]
    item = next(i for i in later if i["client_id"] == alpha)
    assert item["reason"].startswith("re-check") and item["phone"] == "+79161000001"

    answered = write(tmp_path / "recheck.csv", ["Телефон", "Дата", "Результат", "Менеджер"],
                     [["+7 916 100-00-01", "20.05.2027 11:00", "Разговор", "Петрова"]])
    run("calls", str(answered), "--as-of", "2027-05-20")  # read on that day: a call then is no typo
    summary = json.loads(run("clean", "--as-of", "2027-05-20", "--json").stdout)
    assert summary["phones"]["released"] >= 1
    states = {c["client_id"]: c for c in export(run, "clients")}
    assert states[str(alpha)]["state"] == "owned"  # back to work, with the manager who called
    assert states[str(alpha)]["last_contact"] == "2027-05-20"


def test_release_by_hand_is_logged_and_sticks(base, run):
    run("clean", "--as-of", "2026-11-20")
    beta = client_ids(run)["ООО «Бета»"]
    run("quarantine", "release", beta, "--as-of", "2026-11-21")
    run("clean", "--as-of", "2026-11-21")
    assert beta not in {r["client_id"] for r in export(run, "quarantine") if r["e164"] == ""}
    assert run("quarantine", "release", beta, check=1).stderr.count("not in quarantine") == 1
    history = json.loads(run("explain", beta, "--json").stdout)["history"]
    assert any(h["action"] == "release" for h in history)


def test_a_client_released_by_hand_goes_back_on_a_later_call_that_condemns_its_number(base, run, tmp_path):
    run("clean", "--as-of", "2026-11-20")
    beta = client_ids(run)["ООО «Бета»"]
    run("quarantine", "release", beta, "--as-of", "2026-11-21")
    run("clean", "--as-of", "2026-11-22")  # the old evidence does not put it back
    assert {c["client_id"]: c["state"] for c in export(run, "clients")}[beta] != "quarantined"
    log = write(tmp_path / "dialer2.csv", ["Телефон", "Дата и время", "Результат"],
                [["79161000002", "2026-11-25 10:00", "Номер не существует"]])
    run("calls", str(log))
    run("clean", "--as-of", "2026-11-26")
    assert {c["client_id"]: c["state"] for c in export(run, "clients")}[beta] == "quarantined"
    (entry,) = [q for q in json.loads(run("quarantine", "list", "--json", "--as-of", "2026-11-26").stdout)["items"]
                if str(q["client_id"]) == beta]
    assert entry["since"] == "2026-11-26"


def test_a_closed_client_released_by_hand_stays_out_after_an_answered_call(run, tmp_path):
    crm = write(tmp_path / "crm.csv", ["Компания", "Город", "Телефон", "Статус"],
                [["ООО «Закрытая»", "Москва", "+7 916 100-00-09", "Закрыт"]])
    run("ingest", str(crm))
    run("clean", "--as-of", "2026-11-20")
    (client,) = export(run, "clients")
    assert client["state"] == "quarantined"
    run("quarantine", "release", client["client_id"], "--as-of", "2026-11-21")
    log = write(tmp_path / "dialer.csv", ["Телефон", "Дата и время", "Результат"],
                [["79161000009", "2026-11-25 10:00", "Отвечен"]])
    run("calls", str(log), "--as-of", "2026-11-25")
    run("clean", "--as-of", "2026-11-26")
    assert export(run, "clients")[0]["state"] != "quarantined"  # an answer is no evidence against it


def test_a_closed_client_released_by_hand_goes_back_only_when_its_numbers_fail(run, tmp_path):
    crm = write(tmp_path / "crm.csv", ["Компания", "Город", "Телефон", "Статус"],
                [["ООО «Закрытая»", "Москва", "+7 916 100-00-09, +7 916 100-00-08", "Закрыт"]])
    run("ingest", str(crm))
    run("clean", "--as-of", "2026-11-20")
    client = export(run, "clients")[0]["client_id"]
    run("quarantine", "release", client, "--as-of", "2026-11-21")
    one = write(tmp_path / "dialer1.csv", ["Телефон", "Дата и время", "Результат"],
                [["79161000009", "2026-11-25 10:00", "Отвечен"], ["79161000008", "2026-11-25 11:00", "Номер не существует"]])
    run("calls", str(one), "--as-of", "2026-11-25")
    run("clean", "--as-of", "2026-11-26")
    assert export(run, "clients")[0]["state"] != "quarantined"  # one number died, the other answered
    two = write(tmp_path / "dialer2.csv", ["Телефон", "Дата и время", "Результат"],
                [["79161000009", "2026-11-27 10:00", "Не тот абонент"]])
    run("calls", str(two), "--as-of", "2026-11-27")
    run("clean", "--as-of", "2026-11-28")
    (entry,) = json.loads(run("quarantine", "list", "--json", "--as-of", "2026-11-28").stdout)["items"]
    assert (entry["reason"], entry["since"]) == ("all numbers dead or mismatched", "2026-11-28")


def test_snooze_keeps_a_client_off_the_lists_until_its_date(base, run):
    run("clean", "--as-of", "2026-11-20")
    delta = client_ids(run)["ООО «Дельта»"]
    run("snooze", delta, "--until", "2027-11-20", "--reason", "закупки через головной офис в Москве",
        "--as-of", "2026-11-20")
    run("clean", "--as-of", "2026-11-21")
    clients = {c["client_id"]: c for c in export(run, "clients")}
    assert clients[delta]["state"] == "snoozed"
    items = json.loads(run("today", "--manager", "Робот", "--new-manager", "--as-of", "2026-11-21", "--json").stdout)["items"]
    assert int(delta) not in {i["client_id"] for i in items}
    assert run("snooze", delta, "--until", "2026-11-01", "--reason", "x", "--as-of", "2026-11-21", check=1)


def test_options_before_the_quarantine_subcommand_count(base, run, tmp_path):
    run("clean", "--as-of", "2026-11-20")
    after = json.loads(run("quarantine", "list", "--as-of", "2027-05-20", "--json").stdout)
    assert json.loads(run("quarantine", "--as-of", "2027-05-20", "--json", "list").stdout) == after
    assert json.loads(run("quarantine", "--as-of", "2027-05-20", "list", "--json").stdout) == after
    assert any(item["recheck_due"] for item in after["items"])
    clash = run("quarantine", "--as-of", "2027-05-20", "list", "--as-of", "2027-05-21", check=2)
    assert "--as-of" in clash.stderr and clash.stdout == ""
    beta = client_ids(run)["ООО «Бета»"]
    assert "--json" in run("quarantine", "--json", "release", beta, check=2).stderr
    run("quarantine", "--as-of", "2026-11-22", "release", beta)
    with sqlite3.connect(tmp_path / "cb.db") as db:
        assert db.execute("SELECT released_on FROM quarantine WHERE client_id = ?", (beta,)).fetchone() == ("2026-11-22",)


def test_a_snooze_without_a_reason_is_refused(base, run, tmp_path):
    run("clean", "--as-of", "2026-11-20")
    delta = client_ids(run)["ООО «Дельта»"]
    for reason in ("", "   "):
        result = run("snooze", delta, "--until", "2027-11-20", "--reason", reason, "--as-of", "2026-11-20", check=1)
        assert result.stderr.strip() == "error: --reason needs a text: why the client is put aside"
    assert {c["client_id"]: c for c in export(run, "clients")}[delta]["state"] != "snoozed"
    assert not [h for h in json.loads(run("explain", delta, "--json").stdout)["history"] if h["action"] == "snooze"]


def test_a_release_or_a_snooze_shows_in_the_clients_state_at_once(run, tmp_path):
    dump = write(tmp_path / "crm.csv", ["Компания", "ИНН", "Телефон", "Статус", "Ответственный"],
                 [["ООО Альфа", "7729141771", "+7 916 100-00-01", "Компания закрыта", "Орлов Евгений"],
                  ["ООО Бета", "7776317060", "+7 916 100-00-02", "Компания закрыта", ""],
                  ["ООО Гамма", "7702070139", "+7 916 100-00-03", "Компания закрыта", "Орлов Евгений"]])
    run("ingest", str(dump), "--as-of", "2026-11-20")
    run("clean", "--as-of", "2026-11-20")
    ids = client_ids(run)
    alpha, beta = ids["ООО Альфа"], ids["ООО Бета"]
    run("snooze", beta, "--until", "2027-01-10", "--reason", "закупки через головной офис", "--as-of", "2026-11-20")
    assert {c["client_id"]: c["state"] for c in export(run, "clients") if c["client_id"] in (alpha, beta)} == {
        alpha: "quarantined", beta: "quarantined"}
    run("quarantine", "release", alpha, "--as-of", "2026-11-21")
    run("quarantine", "release", beta, "--as-of", "2026-11-21")
    before_clean = {c["client_id"]: c["state"] for c in export(run, "clients")}
    assert before_clean == {alpha: "owned", beta: "snoozed", ids["ООО Гамма"]: "quarantined"}  # as the next clean has them
    run("clean", "--as-of", "2026-11-21")
    assert {c["client_id"]: c["state"] for c in export(run, "clients")} == before_clean
    # Released after Орлов's term ran out (90 days from 20 November), Гамма is the pool's, as the clean has it.
    gamma = ids["ООО Гамма"]
    run("quarantine", "release", gamma, "--as-of", "2027-03-01")
    states = {c["client_id"]: c["state"] for c in export(run, "clients")}
    assert states[gamma] == "pool"
    run("clean", "--as-of", "2027-03-01")
    assert {c["client_id"]: c["state"] for c in export(run, "clients")}[gamma] == "pool"


def quarantine_on(run, day):
    items = json.loads(run("quarantine", "list", "--as-of", day, "--json").stdout)["items"]
    return {i["name"]: (i["since"], i["recheck_on"], i["recheck_due"]) for i in items}


def listed_on(run, day, mode):
    run("clean", "--as-of", day, *mode)
    items = json.loads(run("today", "--manager", "Иванов Иван", "--as-of", day, "--json").stdout)["items"]
    return {i["name"]: (i["phone"], i["reason"]) for i in items}


@pytest.mark.parametrize("mode", [(), ("--full",)], ids=["incremental", "full"])
def test_a_failed_re_check_puts_the_client_aside_for_another_term(run, tmp_path, mode):
    write(tmp_path / "crm.csv", ["Компания", "ИНН", "Город", "Телефон", "Ответственный"],
          [["ООО Ромашка", "1650000017", "Казань", "+79170000001", "Иванов Иван"],
           ["ООО Лютик", "1650000024", "Казань", "+79170000002", "Иванов Иван"],
           ["ООО Астра", "1650000031", "Казань", "+79170000003", "Иванов Иван"]])
    header = ["Телефон", "Дата и время", "Результат", "Оператор"]
    write(tmp_path / "january.csv", header, [["+79170000001", "2026-01-10 10:00", "Не зарегистрирован в сети", ""],
                                             ["+79170000002", "2026-01-10 10:00", "Не тот абонент", ""],
                                             ["+79170000003", "2026-01-10 10:00", "Номер не существует", ""]])
    run("ingest", str(tmp_path / "crm.csv"), "--as-of", "2026-01-01")
    run("calls", str(tmp_path / "january.csv"))
    run("clean", "--as-of", "2026-01-11", *mode)
    assert {reason for _, reason in listed_on(run, "2026-07-10", mode).values()} == {"re-check"}

    # The re-check: Ромашка is not registered again, Лютик someone else's again; Астра's calls prove nothing.
    write(tmp_path / "july.csv", header, [
        *(["+79170000001", f"2026-07-{day} 10:00", "Не зарегистрирован в сети", ""] for day in (10, 11, 12, 13)),
        ["+79170000002", "2026-07-11 10:00", "Не тот абонент", ""],
        ["+79170000003", "2026-07-10 10:00", "Нет ответа", ""], ["+79170000003", "2026-07-11 10:00", "Занято", ""],
        ["+79170000003", "2026-07-12 10:00", "Абонент недоступен", ""]])
    run("calls", str(tmp_path / "july.csv"))
    assert listed_on(run, "2026-07-14", mode) == {"ООО Астра": ("+79170000003", "re-check")}
    assert quarantine_on(run, "2026-07-14") == {"ООО Ромашка": ("2026-01-11", "2027-01-09", False),
                                                "ООО Лютик": ("2026-01-11", "2027-01-07", False),
                                                "ООО Астра": ("2026-01-11", "2026-07-10", True)}
    # Unanswered calls on until they make a streak (5 over 14 days): Астра's number is dead again on the 24th.
    write(tmp_path / "later.csv", header,
          [["+79170000003", f"2026-07-{day} 10:00", "Нет ответа", ""] for day in (14, 18, 24)])
    run("calls", str(tmp_path / "later.csv"))
    for day in ("2026-07-25", "2026-08-10", "2027-01-06"):
        assert listed_on(run, day, mode) == {}
    assert quarantine_on(run, "2027-01-06")["ООО Астра"] == ("2026-01-11", "2027-01-20", False)
    assert set(listed_on(run, "2027-01-09", mode)) == {"ООО Ромашка", "ООО Лютик"}
    ids = client_ids(run)
    audit = json.loads(run("audit", "--client", ids["ООО Ромашка"], "--json").stdout)["items"]
    assert [json.loads(a["detail"]) for a in audit if a["action"] == "recheck"] == [
        {"reason": "all numbers dead or mismatched", "recheck_on": "2027-01-09"}]


def test_a_dialer_log_sent_again_without_a_dead_numbers_calls_does_not_free_its_client(run, tmp_path):
    # Only a call that answers frees a quarantined client: the evidence that condemned it may simply be gone.
    write(tmp_path / "crm.csv", ["Компания", "ИНН", "Город", "Телефон", "Ответственный"],
          [["ООО Альфа", "1650000017", "Казань", "+79170000001", "Иванов Иван"]])
    write(tmp_path / "jan.csv", ["Телефон", "Дата и время", "Результат"],
          [["+79170000001", "2026-01-10 10:00", "Не зарегистрирован в сети"]])
    write(tmp_path / "feb.csv", ["Телефон", "Дата и время", "Результат"], [["+79170000005", "2026-02-10 10:00", "Отвечен"]])
    run("ingest", str(tmp_path / "crm.csv"), "--as-of", "2026-01-01")
    run("calls", str(tmp_path / "jan.csv"), "--source", "dialer")
    assert listed_on(run, "2026-01-11", ()) == {}
    run("calls", str(tmp_path / "feb.csv"), "--source", "dialer")  # replaces January's calls
    assert listed_on(run, "2026-02-12", ()) == {}
    assert {c["state"] for c in export(run, "clients")} == {"quarantined"}


def test_a_closed_clients_answered_re_check_is_done_and_keeps_it_closed(run, tmp_path):
    write(tmp_path / "crm.csv", ["Компания", "Город", "Телефон", "Статус", "Ответственный"],
          [["ООО Астра", "Казань", "+79170000003", "Компания закрыта", "Иванов Иван"]])
    run("ingest", str(tmp_path / "crm.csv"), "--as-of", "2026-01-01")
    run("clean", "--as-of", "2026-01-11")
    assert listed_on(run, "2026-07-10", ()) == {"ООО Астра": ("+79170000003", "re-check")}
    write(tmp_path / "calls.csv", ["Телефон", "Дата и время", "Результат"], [["+79170000003", "2026-07-10 10:00", "Отвечен"]])
    run("calls", str(tmp_path / "calls.csv"))
    assert listed_on(run, "2026-07-11", ()) == {}  # the answer was the re-check: closed stays closed
    assert quarantine_on(run, "2026-07-11") == {"ООО Астра": ("2026-01-11", "2027-01-06", False)}


def test_explain_shows_each_number_with_its_verdict_and_calls(base, run):
    run("clean", "--as-of", "2026-11-20")
    gamma = client_ids(run)["ООО «Гамма»"]
    numbers = json.loads(run("explain", gamma, "--json").stdout)["phones"]
    assert [(n["phone"], n["verdict"], n["reason"], n["calls"], n["last_call"], n["refs"]) for n in numbers] == [
        ("+79161000003", "dead", "not registered in the network", 1, "2026-10-06 11:00 not_registered", "crm.csv:3"),
        ("+79161000013", "ok", None, 1, "2026-10-06 12:00 answered", "crm.csv:3")]
    zeta = client_ids(run)["ООО «Зета»"]
    shown = run("explain", zeta, env={"COLUMNS": "200"}).stdout
    assert "5 attempts without an answer over 14 days" in shown and "2026-10-15 10:00 no_answer" in shown
    masked = json.loads(run("explain", zeta, "--mask", "--json").stdout)["phones"]
    assert [(n["phone"], n["calls"]) for n in masked] == [("+7916*****06", 5)]
