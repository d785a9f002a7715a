import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clientbase.ingest import (
    MappingError,
    city_of,
    continues_header,
    header_field,
    map_columns,
    parse_overrides,
    raw_json,
    raw_keys,
    typo_field,
)


def fields_of(header, overrides=()):
    header = tuple(header)
    return map_columns(header, parse_overrides(overrides)).describe(header)


@pytest.mark.parametrize(
    "title", ["Наименование", "Контрагент", "Компания", "Организация", "Name", "Company", "НАИМЕНОВАНИЕ КОНТРАГЕНТА"]
)
def test_client_name_headers(title):
    assert fields_of([title]) == {title: "name"}


@pytest.mark.parametrize("title", ["Телефон", "Телефоны", "Тел.", "Моб.", "Phone", "Телефон(ы)", "Тел./факс", "Мобильный телефон"])
def test_phone_headers(title):
    assert fields_of([title]) == {title: "phone"}


@pytest.mark.parametrize("title", [
    "Ответственный", "Менеджер", "Owner", "Ответственный менеджер", "Менеджер по продажам", "Account manager",
    "Sales rep", "Sales manager", "Account Owner", "Company owner", "Key account manager", "Sales representative",
    "Salesperson", "Основной менеджер", "Персональный менеджер", "Аккаунт-менеджер", "Sales manager (ФИО)",
])
def test_owner_headers(title):
    assert fields_of([title]) == {title: "owner"}


@pytest.mark.parametrize("title, field", [
    ("Sales", "revenue"), ("Sales, RUB", "revenue"), ("Sales by manager", "revenue"), ("Продажи менеджера", "revenue"),
    ("Сумма продаж", "revenue"), ("Account", "name"), ("Account name", "name"), ("Company", "name"),
    ("Категорийный менеджер", None), ("Office manager", None),  # the client's own staff, not its owner
])
def test_a_role_word_alone_does_not_make_an_owner(title, field):
    assert header_field(title, {}) == field


_SALE_WORDS = st.sampled_from(["Sales", "Account", "Key account", "Client", "Customer", "Company", "Contact", "Lead",
                               "Deal", "Responsible", "Assigned", "Personal"])


@given(_SALE_WORDS, st.sampled_from(["manager", "owner", "rep", "representative"]),
       st.sampled_from([" ", "-", "_", ". ", " / "]), st.sampled_from([str, str.upper, str.lower, str.title]),
       st.sampled_from(["", ":", " (ФИО)", " name", ", login"]))
def test_a_role_named_after_the_sale_or_the_record_is_the_owner(word, role, gap, cased, after):
    assert header_field(cased(word + gap + role) + after, {}) == "owner"


def test_a_real_crm_header_maps_every_known_column_and_keeps_the_rest():
    header = ("Компания", "ИНН", "КПП", "Город", "Телефоны", "Моб.", "E-mail", "Контактное лицо", "Должность",
              "Дата рождения", "Ответственный", "Дата назначения", "Канал", "Прибыль", "Потенциал",
              "Дата последней покупки", "Дата последнего контакта", "Комментарий", "Любимый цвет")
    columns = map_columns(header, {})
    described = columns.describe(header)
    assert described["Телефоны"] == described["Моб."] == "phone"
    assert described["E-mail"] == "email"
    assert described["Дата последней покупки"] == "last_purchase"
    assert described["Дата последнего контакта"] == "last_contact"
    assert described["Контактное лицо"] == "contact"
    assert columns.unmapped == ("Любимый цвет",)


def test_map_overrides_and_ignores():
    assert fields_of(["Клиент", "Примечание"], ["Примечание=name", "клиент="]) == {"Примечание": "name"}


def test_a_second_name_column_stays_raw():
    header = ("Компания", "Организация")
    columns = map_columns(header, {})
    assert columns.describe(header) == {"Компания": "name"}
    assert columns.unmapped == ("Организация",)


@pytest.mark.parametrize("bad", ["Клиент", "=name", "Клиент=nmae"])
def test_bad_map_is_a_clear_error(bad):
    with pytest.raises(MappingError, match="--map"):
        parse_overrides([bad])


GROUPED = ("Компания", "ИНН", "Контакты", "", "Ответственный")


@pytest.mark.parametrize("header, row, overrides, continues", [
    (GROUPED, ("", "", "Телефон", "E-mail", ""), [], True),
    (GROUPED, ("", "", "+7 495 123-45-02", "info@gamma.ru", ""), [], False),  # contacts of a first data row
    (GROUPED, ("", "", "Телефон", "", ""), [], False),  # only under the group cell itself: no blank filled
    (GROUPED, ("Наименование", "", "Телефон", "E-mail", ""), [], False),  # `Компания` is no group
    (("Контрагент", "", "Город"), ("Компания Вектор", "Москва", ""), [], False),  # `Москва` names no field
    (("Наименование", "", "ИНН"), ("", "Клиент", ""), [], True),  # under a blank: a sub-header
    (("Наименование", "", "ИНН"), ("Компания Вектор", "Клиент", ""), [], False),  # `Наименование` is no group
    (("Компания", "Контакты", ""), ("", "Телефон", "Город Москва"), [], False),  # a value, not a field's name
    (("Компания", "Контакты", ""), ("", "Телефон", "Skype"), [], False),
    (("Компания", "Контакты", ""), ("", "Телефон", "Skype"), ["Skype=comment"], True),
])
def test_a_row_continues_a_header_only_as_field_names_under_its_groups(header, row, overrides, continues):
    assert continues_header(header, row, parse_overrides(overrides)) is continues


def test_city_from_column_or_address():
    assert city_of("г. Тюмень", "") == "Тюмень"
    assert city_of("", "625000, г. Тюмень, ул. Ленина, д. 5") == "Тюмень"
    assert city_of("", "г.Москва, Тверская 1") == "Москва"
    assert city_of("", "ул. Ленина, 5") is None


def test_repeated_headers_keep_every_cell_of_the_raw_record():
    header = ("Телефон", "Телефон", "Телефон (2)", "", "column 4")
    raw = json.loads(raw_json(raw_keys(header), ("+7 916 111-11-11", "+7 916 222-22-22", "+7 916 333-33-33", "x",
                                                  "y", "extra")))
    assert sorted(raw.values()) == sorted(["+7 916 111-11-11", "+7 916 222-22-22", "+7 916 333-33-33", "x", "y",
                                           "extra"])
    assert raw["Телефон"] == "+7 916 111-11-11" and raw["Телефон (2)"] == "+7 916 333-33-33"


_TITLES = st.sampled_from(["", "Телефон", "Телефон (2)", "Телефон (3)", "column 1", "column 2", "column 3 (2)"])


@given(st.lists(_TITLES, max_size=6).map(tuple), st.lists(st.text(min_size=1, max_size=3), max_size=8).map(tuple))
def test_no_header_loses_a_cell_of_the_raw_record(header, cells):
    assert len(json.loads(raw_json(raw_keys(header), cells))) == len(cells)


@given(st.lists(st.text(max_size=6), max_size=6).map(tuple), st.lists(st.text(max_size=6), max_size=8).map(tuple))
def test_the_raw_record_is_written_as_rows_read_before_were(header, cells):
    # A stored row is told unchanged by its raw text: another spelling of the same JSON would read every row again.
    keys = raw_keys(header)
    keys = keys + tuple(f"column {index + 1}" for index in range(len(keys), len(cells)))
    if len(set(keys)) == len(keys):
        assert raw_json(raw_keys(header), cells) == json.dumps(
            {key: cell for key, cell in zip(keys, cells) if cell}, ensure_ascii=False)


@pytest.mark.parametrize("title, field", [
    ("Наименоваие", "name"), ("Телфон", "phone"), ("Ответсвенный", "owner"), ("Дата рожденя", "birthday"),
    ("Организаця клиента", "name"), ("Comapny", "name"), ("Manger", "owner"),
    ("Контакты", None), ("Компани", None), ("Мобильные", None),  # an ending, not a typo: another word or cut short
    ("Кампания", None), ("Кампания UTM", None), ("Контракт", None), ("Contract", None), ("Statue", None),  # real words
    ("Телефон менеджеа", None),  # may be our manager's own phone (`Телефон менеджера`), which is no field
    ("Телфон менеджеа", None),  # one slip read at a time: one reading is our manager's phone, which vetoes the other
    ("Город", None), ("Гоорд", None), ("Любимый цвет", None),  # five letters or fewer: too short to tell a typo
])
def test_a_header_one_typo_from_a_field_names_it(title, field):
    assert typo_field(title) == field
    header = (title,)
    assert map_columns(header, {}).typos == (((title, field),) if field else ())


@given(st.lists(st.text(max_size=30), max_size=12))
def test_any_header_maps_every_column_once(header):
    columns = map_columns(tuple(header), {})
    mapped = [*columns.single.values(), *(i for group in columns.multi.values() for i in group)]
    if columns.inn_kpp is not None:
        mapped.append(columns.inn_kpp)
    assert len(mapped) == len(set(mapped)) and len(mapped) + len(columns.unmapped) == len(header)
    assert {title for title, _ in columns.typos} <= {header[i] for i in mapped}


@pytest.mark.parametrize("title, field", [
    ("Контрагент.ИНН", "inn"), ("ИНН контрагента", "inn"), ("КПП контрагента", "kpp"), ("ИНН клиента", "inn"),
    ("Customer INN", "inn"), ("ОГРН организации", "ogrn"),  # the client's numbers, named after whose they are
    ("ИНН руководителя", None),  # a person's own INN is not the company's
    ("Телефон1", "phone"), ("Тел2", "phone"), ("Phone1", "phone"), ("E-mail1", "email"), ("ИНН2", "inn"),
])
def test_a_column_of_the_clients_numbers_is_read_however_1c_or_a_crm_names_it(title, field):
    assert header_field(title, {}) == field


def test_a_1c_report_header_gives_the_inn_and_the_name_their_columns():
    header = ("Контрагент.ИНН", "Полное наименование", "КПП контрагента", "Телефон1", "Телефон2")
    assert fields_of(header) == {"Контрагент.ИНН": "inn", "Полное наименование": "name", "КПП контрагента": "kpp",
                                 "Телефон1": "phone", "Телефон2": "phone"}


@pytest.mark.parametrize("address, city", [
    ("Московская обл, г Подольск, ул Ленина, д 1", "Подольск"),  # FIAS's and DaData's г without its dot
    ("обл Московская, г Химки, ул Победы, д 5", "Химки"),
    ("ул Г Петрова, д 1", None),  # an initial in a street's name is no city
])
def test_a_city_in_an_address_written_as_fias_writes_it_is_read(address, city):
    assert city_of("", address) == city
