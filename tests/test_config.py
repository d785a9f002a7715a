import tomllib

import pytest

from clientbase.config import Rules, RulesError, load_rules, rules_to_toml


def test_defaults_follow_the_domain():
    rules = Rules()
    assert rules.cycle.rest_days == 30
    assert rules.ownership.term_days == 90
    assert rules.quarantine.recheck_days == 180
    assert rules.phones.no_answer_streak == 5 and rules.phones.no_answer_min_days == 14
    assert rules.today.quota == 50
    assert (rules.rank.key_share, rules.rank.critical_share, rules.rank.mono_share) == (0.10, 0.20, 0.70)


def test_written_rules_read_back_identically(tmp_path):
    path = tmp_path / "clientbase.toml"
    path.write_text(rules_to_toml(Rules()), encoding="utf-8")
    assert load_rules(path) == Rules()
    assert "# Days a client rests after any contact." in path.read_text(encoding="utf-8")


def test_a_partial_file_overrides_only_what_it_names(tmp_path):
    path = tmp_path / "r.toml"
    path.write_text("[cycle]\nrest_days = 21\n[rank]\nmax_share = 0.6\n", encoding="utf-8")
    rules = load_rules(path)
    assert rules.cycle.rest_days == 21
    assert rules.rank.max_share == 0.6
    assert rules.today.quota == 50


@pytest.mark.parametrize(
    "text, message",
    [
        ("[cycle]\nrest_dayz = 3\n", "unknown setting [cycle] rest_dayz"),
        ("[cycles]\nrest_days = 3\n", "unknown section [cycles]"),
        ("[cycle]\nrest_days = 'long'\n", "[cycle] rest_days must be a whole number, got 'long'"),
        ("[cycle]\nrest_days = -1\n", "[cycle] rest_days must be 0 or more, got -1"),
        ("[cycle\n", "not valid TOML"),
        ("[ownership]\nconflict_rule = 'loudest'\n", "conflict_rule must be"),
        ("[cycle]\nrest_days_by_class = ['A:14']\n", "is not like"),
        ("[ingest]\ndefault_region = 'XX'\n", "[ingest] default_region must be a country"),
        ("[ingest]\ndefault_region = 'РУ'\n", "[ingest] default_region must be a country"),
        ("[ingest]\ndefault_area_code = '+7495'\n", "[ingest] default_area_code must be an area code alone"),
        ("quota = 5\n", "setting quota is outside a section: put it under [today]"),
        ("colour = 5\n", "setting colour is outside a section"),
        ("[access]\nmanager_columns = []\n", "[access] manager_columns must list at least one column"),
        ("[ingest]\ndefault_area_code = 'abc'\n", "[ingest] default_area_code must be an area code alone"),
        ("[ingest]\ndefault_area_code = '495123'\n", "[ingest] default_area_code must be an area code alone"),
        ("[ingest]\ndefault_area_code = '8 (495)'\n", "[ingest] default_area_code must be an area code alone"),
        ("[ingest]\ndefault_area_code = '8495'\n", "[ingest] default_area_code must be an area code alone"),
        ("[today]\ncall_from = '25:00'\n", "[today] call_from must be a time HH:MM"),
        ("[today]\ncall_until = '8 pm'\n", "[today] call_until must be a time HH:MM"),
        ("[today]\ncall_from = '21:00'\n", "[today] call_from must be before call_until"),
        ("[rank]\nhigh_share = 0.4\n", "[rank] max_share must not exceed high_share"),
        ("[rank]\nkey_share = 10\n", "[rank] key_share must be a share above 0 and at most 1 (0.10 for 10%), got 10"),
        ("[rank]\nmono_share = 0\n", "[rank] mono_share must be a share above 0 and at most 1"),
        ("[rank]\nkey_share = 0.3\n", "[rank] key_share must not exceed critical_share, got 0.3 over 0.2"),
        ("[rank]\ncritical_share = 0.8\n", "[rank] critical_share must not exceed mono_share, got 0.8 over 0.7"),
        ("[dedupe]\nmerge_score = 200\nreview_score = 150\n", "[dedupe] merge_score must be from 0 to 100"),
        ("[dedupe]\nreview_score = nan\n", "[dedupe] review_score must be from 0 to 100"),
        ("[dedupe]\nreview_score = 95\n", "[dedupe] review_score must not exceed merge_score, got 95 over 92"),
        ("[dedupe]\nhub_min_clients = 1\n", "[dedupe] hub_min_clients must be 2 or more"),
        ("[phones]\nno_answer_streak = 0\n", "[phones] no_answer_streak must be 1 or more, got 0"),
        ("[ownership]\nterm_days = 0\n", "[ownership] term_days must be 1 or more"),
        ("[ownership]\nterm_days = 40\nmax_term_days = 30\n",
         "[ownership] term_days must not exceed max_term_days, got 40 over 30"),
        ("[ownership]\nmax_term_days = 30\n",
         "[ownership] term_days must not exceed max_term_days, got 90 (the default) over 30"),
        ("[quarantine]\nrecheck_days = 0\n", "[quarantine] recheck_days must be 1 or more"),
        ("[today]\nquota = 0\n", "[today] quota must be from 1 to 10000"),
        ("[today]\nquota = 4000000000000000000\n", "[today] quota must be from 1 to 10000"),
        ("[cycle]\nrest_days_by_class = ['A=14', 'a=20']\n", "[cycle] rest_days_by_class names class A twice"),
        ("[cycle]\nrest_days_by_class = 'A=14'\n", "[cycle] rest_days_by_class must be a list of texts in quotes"),
        ("[access]\nmanager_columns = ['name', 'proffit']\n",
         "[access] manager_columns: 'proffit' is no column of an export or a call list (did you mean 'profit'?)"),
    ],
)
def test_bad_rules_name_the_file_and_setting(tmp_path, text, message):
    path = tmp_path / "r.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RulesError) as error:
        load_rules(path)
    assert str(path) in str(error.value) and message in str(error.value)


def test_rules_command_prints_the_rules_in_force(run, tmp_path):
    (tmp_path / "clientbase.toml").write_text("[today]\nquota = 40\n", encoding="utf-8")
    printed = tomllib.loads(run("rules").stdout)
    assert printed["today"]["quota"] == 40
    assert printed["cycle"]["rest_days"] == 30


def test_init_writes_a_commented_rules_file_and_keeps_an_existing_one(run, tmp_path):
    run("init")
    written = (tmp_path / "clientbase.toml").read_text(encoding="utf-8")
    assert load_rules(tmp_path / "clientbase.toml") == Rules()
    assert written.count("# ") > 20
    assert (tmp_path / "cb.db").exists()
    assert (tmp_path / "cb.db").stat().st_mode & 0o777 == 0o600
    (tmp_path / "clientbase.toml").write_text("[today]\nquota = 7\n", encoding="utf-8")
    run("init")
    assert "quota = 7" in (tmp_path / "clientbase.toml").read_text(encoding="utf-8")


def test_a_broken_rules_file_is_a_one_line_error(run, tmp_path):
    (tmp_path / "clientbase.toml").write_text("[today]\nquota = 'many'\n", encoding="utf-8")
    result = run("rules", check=1)
    assert "quota must be a whole number" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_rest_days_per_class(tmp_path):
    path = tmp_path / "r.toml"
    path.write_text('[cycle]\nrest_days = 30\nrest_days_by_class = ["A=14", "e=60"]\n', encoding="utf-8")
    cycle = load_rules(path).cycle
    assert (cycle.rest_for("A"), cycle.rest_for("E"), cycle.rest_for("C"), cycle.rest_for(None)) == (14, 60, 30, 30)


def test_an_error_naming_a_section_prints_its_brackets(run, tmp_path):
    (tmp_path / "r.toml").write_text("[cycles]\nrest_days = 3\n", encoding="utf-8")
    assert "unknown section [cycles]" in run("--rules", str(tmp_path / "r.toml"), "clean", check=1).stderr


@pytest.mark.parametrize("text, message", [
    ("[ingest]\ndefault_region = 'XX'\n", "[ingest] default_region must be a country code"),
    ("[today]\ncall_from = '9'\n", "[today] call_from must be a time HH:MM"),
    ("[today]\ncall_from = '20:00'\n", "[today] call_from must be before call_until"),
    ("[rank]\nmax_share = 0.9\n", "[rank] max_share must not exceed high_share"),
    ("[dedupe]\nmerge_score = 200\n", "[dedupe] merge_score must be from 0 to 100"),
    ("[dedupe]\nhub_min_clients = 1\n", "[dedupe] hub_min_clients must be 2 or more"),
])
def test_rules_that_would_break_every_client_are_refused_before_any_work(run, tmp_path, text, message):
    (tmp_path / "clientbase.toml").write_text(text, encoding="utf-8")
    (tmp_path / "crm.csv").write_text("Компания;Город;Телефон\nООО Тест;Казань;8 916 123-45-67\n", encoding="utf-8")
    result = run("ingest", str(tmp_path / "crm.csv"), check=1)
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith("error: clientbase.toml: ")  # the file, then the setting
    assert message in run("rules", check=1).stderr  # `rules` shows the rules in force: none are
    assert not (tmp_path / "cb.db").exists()
    (tmp_path / "clientbase.toml").write_text("[ingest]\ndefault_region = 'by'\n[today]\ncall_from = '08:30'\n",
                                            encoding="utf-8")
    run("ingest", str(tmp_path / "crm.csv"))


def test_every_column_a_manager_may_see_is_accepted(tmp_path):
    path = tmp_path / "r.toml"
    path.write_text("[access]\nmanager_columns = ['name', 'profit', 'call_window', 'detail']\n", encoding="utf-8")
    assert load_rules(path).access.manager_columns == ("name", "profit", "call_window", "detail")


def test_a_usual_term_over_a_year_written_before_max_term_days_is_still_read(tmp_path):
    path = tmp_path / "clientbase.toml"
    path.write_text("[ownership]\nterm_days = 400\n", encoding="utf-8")
    rules = load_rules(path)
    assert (rules.ownership.term_days, rules.ownership.max_term_days) == (400, 400)
