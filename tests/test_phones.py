"""Phone cells as they come in real dumps: one number, several, extensions, Excel damage, local numbers."""

import csv
import io
import subprocess
import sys

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clientbase import geocodes
from clientbase.phones import (
    CITY_AREA_CODES,
    PHONE_STATUSES,
    PHONE_TYPES,
    Phone,
    PhoneNormaliser,
    area_codes_for_city,
)


@pytest.fixture(scope="module")
def norm() -> PhoneNormaliser:
    return PhoneNormaliser()


def one(norm: PhoneNormaliser, cell: str, city: str | None = None) -> Phone:
    phones = norm.parse_cell(cell, city)
    assert len(phones) == 1, phones
    return phones[0]


@pytest.mark.parametrize("cell", [
    "8 (495) 123-45-67",
    "+7 495 123 45 67",
    "(495)1234567",
    "84951234567",
    "8.495.123.45.67",
    "495) 123-45-67",  # the opening bracket is missing
    "'8 (495) 123-45-67",  # Excel's text marker
    "8\u00a0(495)\u00a0123\u00a045\u00a067",  # non-breaking spaces
    "+7\u202f495\u2009123\u201145\u201167",  # narrow and thin spaces, non-breaking hyphens
    "8 (495) 123\u201345\u201367",  # en dashes
    "8 \u2014 495 \u2014 123 45 67",  # em dashes
])
def test_written_forms_of_one_moscow_number(norm, cell):
    phone = one(norm, cell)
    assert (phone.e164, phone.status, phone.type, phone.country) == ("+74951234567", "ok", "fixed", "RU")
    assert phone.region == "Москва"
    assert phone.raw == cell
    assert phone.reason is None


@pytest.mark.parametrize("cell", [
    "8-916-123-45-67", "9161234567", "+7 (916) 123-45-67", "79161234567", "79161234567.0",
])
def test_written_forms_of_one_mobile(norm, cell):
    phone = one(norm, cell)
    assert (phone.e164, phone.status, phone.type, phone.country) == ("+79161234567", "ok", "mobile", "RU")
    assert phone.region is None  # regions are given for fixed lines only


def test_double_separator_is_a_typo_not_two_numbers(norm):
    phone = one(norm, "8-495-322--1477")
    assert (phone.e164, phone.status) == ("+74953221477", "ok")


def test_scientific_notation_that_lost_digits_is_invalid(norm):
    phone = one(norm, "7.91612E+10")
    assert phone.e164 is None
    assert phone.status == "invalid"
    assert phone.reason == "Excel scientific notation lost digits"


@pytest.mark.parametrize("cell", ["7.9161234567E+10", "7,9161234567E+10"])
def test_scientific_notation_with_every_digit_is_read(norm, cell):
    phone = one(norm, cell)
    assert (phone.e164, phone.status) == ("+79161234567", "ok")
    assert "scientific notation" in phone.reason


def test_local_number_gets_the_only_area_code_of_the_city(norm):
    phone = one(norm, "55-66-77", "Тюмень")
    assert (phone.e164, phone.status, phone.type) == ("+73452556677", "ok", "fixed")
    assert phone.reason == "area code 3452 added from city Тюмень"
    assert phone.region == "Тюмень"
    assert one(norm, "55-66-77", "г. Тюмень").e164 == "+73452556677"


def test_seven_digit_local_number_under_a_three_digit_code(norm):
    phone = one(norm, "741-22-19", "Екатеринбург")
    assert (phone.e164, phone.status) == ("+73437412219", "ok")
    assert "343" in phone.reason


def test_moscow_local_number_is_incomplete_without_a_default(norm):
    phone = one(norm, "741-22-19", "Москва")
    assert (phone.e164, phone.status) == (None, "incomplete")
    assert phone.reason == "no area code: Москва has several (495, 499)"


def test_moscow_local_number_takes_the_default_area_code():
    norm = PhoneNormaliser(default_area_code="495")
    phone = one(norm, "741-22-19", "Москва")
    assert (phone.e164, phone.status) == ("+74957412219", "ok")
    assert "495" in phone.reason and "default" in phone.reason
    # The default never overrides a city that has its own code.
    assert one(norm, "55-66-77", "Тюмень").e164 == "+73452556677"
    assert one(norm, "741-22-19", "Тюмень").status == "incomplete"


@pytest.mark.parametrize(("cell", "city", "words"), [
    ("741-22-19", None, "no city"),
    ("741-22-19", "Урюпинск", "Урюпинск"),
    ("55-66-77", "Москва", "6-digit"),  # a 6-digit number needs a 4-digit code; Moscow has none
    ("51-23-45", "Киров (Калужская обл.)", "unknown"),  # not Kirov's 8332: a town of Kaluga's
])
def test_local_number_is_never_completed_by_guessing(norm, cell, city, words):
    phone = one(norm, cell, city)
    assert (phone.e164, phone.status) == (None, "incomplete")
    assert words in phone.reason


def test_two_numbers_in_one_cell_share_the_raw_cell(norm):
    cell = "741-22-19; 8-905-111-20-30"
    local, mobile = norm.parse_cell(cell)
    assert local.raw == mobile.raw == cell
    assert (local.e164, local.status) == (None, "incomplete")
    assert (mobile.e164, mobile.status, mobile.type) == ("+79051112030", "ok", "mobile")
    assert [p.e164 for p in norm.parse_cell(cell, "Екатеринбург")] == ["+73437412219", "+79051112030"]


@pytest.mark.parametrize("cell", [
    "(495) 701-0202, касса (495) 633-0044",
    "(495) 701-0202 / 8 495 633 00 44",
    "(495) 701-0202\n(495) 633-0044",
    "(495) 701-0202 или (495) 633-00-44",
    "8 495 701 02 02 8 495 633 00 44",  # only spaces between them
])
def test_several_numbers_in_one_cell(norm, cell):
    assert [p.e164 for p in norm.parse_cell(cell)] == ["+74957010202", "+74956330044"]


def test_words_and_names_between_numbers(norm):
    phones = norm.parse_cell("тел. 8(343)741-22-19, моб. 8-912-600-11-22 Ольга Петровна")
    assert [(p.e164, p.type) for p in phones] == [("+73437412219", "fixed"), ("+79126001122", "mobile")]


def test_extension_after_a_comma_belongs_to_the_number_before_it(norm):
    phone = one(norm, "8-495-612-0304, (доб. 118)")
    assert (phone.e164, phone.extension, phone.status) == ("+74956120304", "118", "ok")


@pytest.mark.parametrize(("cell", "extension"), [
    ("8-495-612-0304 ext. 5", "5"),
    ("8-495-612-0304 вн. 12", "12"),
    ("8-495-612-0304 добавочный 3", "3"),
    ("8-495-612-0304 доб.118", "118"),
    ("8-495-612-0304 x 77", "77"),
])
def test_extension_markers(norm, cell, extension):
    phone = one(norm, cell)
    assert (phone.e164, phone.extension) == ("+74956120304", extension)


def test_extension_goes_with_its_own_number(norm):
    first, second = norm.parse_cell("(495) 701-0202 доб. 15; 8-905-111-20-30")
    assert (first.e164, first.extension) == ("+74957010202", "15")
    assert (second.e164, second.extension) == ("+79051112030", None)


def test_a_bare_bracketed_group_after_a_number_is_noted_not_lost(norm):
    phone = one(norm, "8 (495) 612-03-04 (118)")
    assert (phone.e164, phone.status) == ("+74956120304", "ok")
    assert "118" in phone.reason


@pytest.mark.parametrize(("cell", "city"), [
    ("+7 000 000-00-00", None),
    ("8 (000) 000-00-00", None),
    ("8 (999) 999-99-99", None),
    ("+7 916 000-00-00", None),
    ("000-00-00", "Москва"),
    ("00-00-00", "Тюмень"),
    ("+7 (123) 456-78-90", None),
    # DOMAIN §4 names 1234567: a straight run is a placeholder whatever area code the city would give it.
    ("1234567", None),
    ("123-45-67", "Москва"),
    ("123-45-67", "Екатеринбург"),
    ("12-34-56", "Тюмень"),
    ("765-43-21", "Екатеринбург"),
])
def test_placeholders_are_invalid(norm, cell, city):
    phone = one(norm, cell, city)
    assert (phone.e164, phone.status, phone.reason) == (None, "invalid", "placeholder")


def test_a_bare_placeholder_is_invalid_even_with_a_default_area_code(run, tmp_path):
    crm = tmp_path / "crm.csv"
    crm.write_text("Компания;Город;Телефоны\nООО Эта;Москва;1234567\nООО Тета;Москва;741-22-19\n", encoding="utf-8")
    rules = tmp_path / "rules.toml"
    rules.write_text('[ingest]\ndefault_area_code = "495"\n', encoding="utf-8")
    run("--rules", str(rules), "ingest", str(crm))
    phones = list(csv.DictReader(io.StringIO(run("export", "phones").stdout)))
    assert [(p["raw"], p["e164"], p["status"], p["reason"]) for p in phones] == [
        ("1234567", "", "invalid", "placeholder"),
        ("741-22-19", "+74957412219", "ok", "area code 495 added (default area code)")]


def test_a_real_number_with_an_easy_ending_is_not_a_placeholder(norm):
    assert one(norm, "8 (495) 123-45-67").status == "ok"


# DOMAIN §4 names the placeholders "+7 000…, all-same digits, 1234567": a repeated subscriber part is not one,
# 777-77-77 and 555-55-55 are real numbers, sought after in Russia.
@pytest.mark.parametrize(("cell", "city", "e164", "kind"), [
    ("8 800 555-55-55", None, "+78005555555", "toll_free"),
    ("8 (495) 777-77-77", None, "+74957777777", "fixed"),
    ("+7 916 222-22-22", None, "+79162222222", "mobile"),
    ("+375 29 777-77-77", None, "+375297777777", "mobile"),
])
def test_a_repeated_subscriber_part_is_a_real_number(norm, cell, city, e164, kind):
    phone = one(norm, cell, city)
    assert (phone.e164, phone.type, phone.status) == (e164, kind, "ok")


@pytest.mark.parametrize("cell", ["11-11-11", "777-77-77", "00-00-00", "123-45-67"])
def test_a_local_number_all_one_digit_or_a_run_is_a_placeholder_not_completed(norm, cell):
    # Written without its area code, nothing tells 777-77-77 from filler: DOMAIN's "all-same digits".
    phone = one(norm, cell, "Тюмень")
    assert (phone.e164, phone.status, phone.reason) == (None, "invalid", "placeholder")


def test_clients_with_vanity_numbers_stay_in_the_pool(run, tmp_path):
    crm = tmp_path / "crm.csv"
    crm.write_text("Компания;ИНН;Город;Телефон\n"
                   "ООО Один;7729141771;Москва;8 800 555-55-55\n"
                   "ООО Два;7776317060;Москва;8 (495) 777-77-77\n"
                   "ООО Три;7715000805;Москва;8 (999) 999-99-99\n", encoding="utf-8")
    run("ingest", str(crm))
    run("clean", "--as-of", "2026-11-20")
    phones = list(csv.DictReader(io.StringIO(run("export", "phones").stdout)))
    assert [(p["e164"], p["status"], p["reason"]) for p in phones] == [
        ("+78005555555", "ok", ""), ("+74957777777", "ok", ""), ("", "invalid", "placeholder")]
    clients = list(csv.DictReader(io.StringIO(run("export", "clients").stdout)))
    assert {c["name"]: c["state"] for c in clients} == {
        "ООО Один": "pool", "ООО Два": "pool", "ООО Три": "quarantined"}


@pytest.mark.parametrize(("cell", "reason"), [
    ("+7 (100) 612-03-04", "not in the numbering plan"),
    ("8-916-123-45-6", "too short"),
    ("8-916-123-45-67-89", "too long"),
    ("оф. 12", "too short"),
])
def test_unusable_numbers_are_kept_with_a_reason(norm, cell, reason):
    phone = one(norm, cell)
    assert (phone.e164, phone.status, phone.reason) == (None, "invalid", reason)


def test_an_extension_alone_is_kept(norm):
    phone = one(norm, "доб. 118")
    assert (phone.e164, phone.status, phone.extension) == (None, "invalid", "118")


@pytest.mark.parametrize("cell", [None, "", "   ", "Иван Петрович", "касса, бухгалтерия", "нет"])
def test_cells_without_digits_give_nothing(norm, cell):
    assert norm.parse_cell(cell) == []


@pytest.mark.parametrize(("cell", "e164", "country", "kind"), [
    ("+375 29 123 45 67", "+375291234567", "BY", "mobile"),
    ("810 375 29 123 45 67", "+375291234567", "BY", "mobile"),  # 810: the Russian international prefix
    ("+375 17 200-12-34", "+375172001234", "BY", "fixed"),
    ("8 (701) 123-45-67", "+77011234567", "KZ", "mobile"),  # Kazakhstan shares +7 and the trunk prefix 8
    ("+44 20 7946 0958", "+442079460958", "GB", "fixed"),
])
def test_foreign_numbers_keep_their_country(norm, cell, e164, country, kind):
    phone = one(norm, cell)
    assert (phone.e164, phone.country, phone.type, phone.status) == (e164, country, kind, "ok")


def test_foreign_fixed_line_region_comes_from_the_geocoder(norm):
    assert one(norm, "+375 17 200-12-34").region == "Минск"


@pytest.mark.parametrize(("cell", "note"), [
    ("+8 916 123 45 67", "'+8'"),
    ("+7 8 916 123 45 67", "trunk prefix 8"),
    ("375291234567", "no '+'"),
])
def test_common_slips_are_repaired_and_noted(norm, cell, note):
    phone = one(norm, cell)
    assert phone.status == "ok"
    assert phone.e164 in ("+79161234567", "+375291234567")
    assert note in phone.reason


def test_fixed_line_region_and_other_types(norm):
    assert "Свердловская" in one(norm, "+7 (343) 741-22-19").region
    assert one(norm, "8 (812) 315-17-01").region == "Санкт-Петербург"
    toll_free = one(norm, "8-800-100-10-10")
    assert (toll_free.type, toll_free.region, toll_free.status) == ("toll_free", None, "ok")


def test_other_default_region():
    norm = PhoneNormaliser(default_region="BY")
    assert one(norm, "8 029 123-45-67").e164 == "+375291234567"
    assert one(norm, "+7 916 123-45-67").e164 == "+79161234567"
    assert one(norm, "200-12-34").status == "incomplete"


@pytest.mark.parametrize(("city", "codes"), [
    ("Тюмень", ("3452",)),
    ("г. Тюмень", ("3452",)),
    ("Тюмень г.", ("3452",)),
    ("Москва", ("495", "499")),
    ("г. Москва", ("495", "499")),
    ("г.Москва", ("495", "499")),
    ("МОСКВА", ("495", "499")),
    ("Moscow", ("495", "499")),
    ("Мск", ("495", "499")),
    ("Москва, ул. Тверская, 1", ("495", "499")),
    ("Санкт-Петербург", ("812",)),
    ("Санкт Петербург", ("812",)),
    ("С.-Петербург", ("812",)),
    ("СПб", ("812",)),
    ("Питер", ("812",)),
    ("Saint Petersburg", ("812",)),
    ("Орёл", ("4862",)),
    ("Орел", ("4862",)),
    ("Элиста", ("84722",)),
    ("Урюпинск", ()),
    ("Тюменская обл.", ()),
    # A region written after the city: its own, or another's namesake town.
    ("Киров (Калужская обл.)", ()),
    ("г. Киров, Кировская обл.", ("8332",)),
    ("Киров Кировской области", ()),  # no mark before the region: not read as the city at all
    ("Екатеринбург, Свердловская обл.", ("343",)),
    ("Казань, Республика Татарстан", ("843",)),
    ("Санкт-Петербург, Ленинградская обл.", ("812",)),
    ("Тюмень, Тюменский р-н", ("3452",)),  # a district names no region
    ("г. Киров, Кировский район Калужской области", ()),  # the region's name is beside its word
    ("Благовещенск, Республика Башкортостан", ()),  # Amur's city has a namesake there
    ("Москва, Юго-Западный АО", ("495", "499")),  # Moscow's okrugs are the city's
    ("Омск (Омской обл.)", ("3812",)),
    ("Уфа, Республика Башкирия", ("347",)),
    ("Сургут, Тюменская обл.", ("3462",)),  # an okrug's city: the geocoder names no region to compare
    ("Черкесск, Карачаево-Черкесская Республика", ("8782",)),
    ("", ()),
    (None, ()),
])
def test_area_codes_for_city(city, codes):
    assert area_codes_for_city(city) == codes


@pytest.mark.parametrize(("city", "codes"), sorted(CITY_AREA_CODES.items()))
def test_every_area_code_in_the_table_is_a_geographic_code(city, codes):
    for code in codes:
        national = (code + "2345678")[:10]
        number = phonenumbers.parse("+7" + national)
        assert phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.FIXED_LINE, (city, code)
        assert phonenumbers.region_code_for_number(number) == "RU", (city, code)


def test_results_are_cached_per_cell_and_city():
    norm = PhoneNormaliser()
    first = norm.parse_cell("55-66-77; 8-905-111-20-30", "Тюмень")
    first.clear()  # a caller changing its list must not change the cache
    again = norm.parse_cell("55-66-77; 8-905-111-20-30", "Тюмень")
    assert again == norm.parse_cell("55-66-77; 8-905-111-20-30", "Тюмень")
    assert [p.e164 for p in again] == ["+73452556677", "+79051112030"]
    assert norm.parse_cell("55-66-77; 8-905-111-20-30", "Москва")[0].status == "incomplete"


_PHONEISH = st.lists(
    st.one_of(
        st.text("0123456789", min_size=1, max_size=12),
        st.sampled_from([" ", "-", "--", "(", ")", "+", "+7", "8", ".", ",", ";", "/", "\n", "'", "\u00a0", "\u2013",
                         " доб. ", " вн.", "ext", "x", "#", " касса ", "E+", "e+10", ".0", " или ", "№"]),
    ),
    max_size=14,
).map("".join)
_CITIES = st.one_of(
    st.none(), st.sampled_from(["Москва", "Тюмень", "г. Санкт-Петербург", "Урюпинск", ""]), st.text(max_size=8),
)


def _check(phones: list[Phone], cell: str) -> None:
    for phone in phones:
        assert phone.raw == cell
        assert phone.status in PHONE_STATUSES
        assert phone.type in PHONE_TYPES
        assert (phone.e164 is not None) == (phone.status == "ok")
        if phone.e164 is not None:
            assert phone.e164.startswith("+") and phone.e164[1:].isdigit()
            assert phonenumbers.is_valid_number(phonenumbers.parse(phone.e164))
        else:
            assert phone.reason


@settings(max_examples=300)
@given(cell=st.text(max_size=40), city=_CITIES)
def test_no_text_breaks_the_parser(cell, city):
    _check(PhoneNormaliser().parse_cell(cell, city), cell)


@settings(max_examples=500)
@given(cell=_PHONEISH, city=_CITIES)
def test_no_phone_like_text_breaks_the_parser(cell, city):
    phones = PhoneNormaliser().parse_cell(cell, city)
    _check(phones, cell)
    if any(c in "0123456789" for c in cell):
        assert phones, "a cell with digits is never dropped silently"


def test_the_kept_plus7_areas_are_the_geocoders():
    from phonenumbers.geodata import GEOCODE_DATA
    from phonenumbers.geodata.locale import LOCALE_DATA

    areas = {prefix: names["ru"] for prefix, names in GEOCODE_DATA.items() if prefix.startswith("7")}
    assert geocodes.AREAS == areas, f"phonenumbers' +7 areas changed; set geocodes.AREAS to {areas!r}"
    assert geocodes.COUNTRIES == {region: LOCALE_DATA[region]["ru"] for region in geocodes.COUNTRIES}


def test_every_plus7_range_is_described_as_the_geocoder_describes_it():
    from phonenumbers import geocoder

    differing = []
    for prefix in range(10_000, 100_000):  # validity, type and region are fixed by five national digits
        number = phonenumbers.PhoneNumber(country_code=7, national_number=prefix * 100_000)
        if phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.UNKNOWN:
            continue
        if geocodes.description(number) != geocoder.description_for_valid_number(number, "ru"):
            differing.append(prefix)
    assert differing == []


def test_russian_numbers_are_read_without_the_geocoders_data():
    script = ("import sys; from clientbase.phones import PhoneNormaliser; n = PhoneNormaliser(); "
              "[n.parse_cell(c) for c in ('+7 (343) 741-22-19', '8 (83145) 2-11-00', '+7 7172 55-12-12')]; "
              "print('phonenumbers.geodata' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
