import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.ru import inn as stdnum_inn

from clientbase.companies import (
    CompanyName,
    Email,
    TaxId,
    check_emails,
    check_inn,
    check_kpp,
    check_ogrn,
    inn_check_digits_ok,
    parse_company_name,
    split_inn_kpp,
    split_legal_form,
)
from clientbase.companies import _LEGAL_FORMS as LEGAL_FORMS

SBERBANK_INN = "7707083893"
PERSON_INN = "500100732259"  # check digits computed with stdnum
ZERO_INN = "0274062111"  # a 10-digit INN starting with 0, check digit computed with stdnum


# --- INN ---


@settings(max_examples=2000)
@given(st.text(alphabet="0123456789", min_size=9, max_size=13), st.integers(0, 9))
def test_inn_check_digits_agree_with_stdnum(digits, fix):
    # Most random strings are given right check digits (for 12 digits: both, or the first only), so that
    # valid numbers and each check digit are exercised, not only failures.
    if len(digits) == 10 and fix < 5:
        digits = digits[:9] + stdnum_inn.calc_company_check_digit(digits)
    elif len(digits) == 12 and fix < 6:
        checks = stdnum_inn.calc_personal_check_digits(digits)
        digits = digits[:10] + (checks if fix < 3 else checks[0] + digits[11])
    assert inn_check_digits_ok(digits) == stdnum_inn.is_valid(digits)


@pytest.mark.parametrize("raw", [
    "7707083893",
    " 7707083893 ",
    "7707083893.0",  # Excel float
    "7707083893,00",
    "'7707083893",  # Excel text apostrophe
    "ИНН 7707083893",
    "77 07\u00a0083893",
    "7.707083893E+09",  # exponent form that kept every digit
])
def test_inn_valid_organisation_in_messy_writing(raw):
    assert check_inn(raw) == TaxId(raw, SBERBANK_INN, True, "organisation", None)


def test_inn_valid_person():
    assert check_inn(PERSON_INN) == TaxId(PERSON_INN, PERSON_INN, True, "person", None)


def test_inn_check_digits_wrong_keeps_digits():
    result = check_inn("7707083894")
    assert (result.value, result.valid, result.kind, result.note) == (
        "7707083894", False, "organisation", "check digits do not match")
    assert check_inn("500100732258").note == "check digits do not match"


@pytest.mark.parametrize("raw, digits", [(ZERO_INN[1:], ZERO_INN), ("12345678943", "012345678943")])
def test_inn_lost_leading_zero_is_restored(raw, digits):
    assert stdnum_inn.is_valid(digits)
    result = check_inn(raw)
    assert (result.value, result.valid, result.note) == (digits, True, "leading zero restored")


def test_inn_short_value_that_zero_does_not_fix_is_wrong_length():
    result = check_inn("123456789")
    assert (result.value, result.valid, result.kind) == ("123456789", False, None)
    assert result.note == "wrong length: 9 digits"


@pytest.mark.parametrize("raw, value, note", [
    ("77070838", "77070838", "wrong length: 8 digits"),
    ("7.70708E+11", None, "digits lost in Excel exponent form"),
    ("нет", None, "no digits"),
    ("0000000000", "0000000000", "placeholder"),
])
def test_inn_invalid(raw, value, note):
    result = check_inn(raw)
    assert (result.value, result.valid, result.note) == (value, False, note)


def test_inn_with_kpp_in_the_same_cell_takes_the_first_number():
    result = check_inn("ИНН 7707083893 КПП 773601001")
    assert (result.value, result.valid, result.note) == (SBERBANK_INN, True, "other numbers in the cell ignored")


@pytest.mark.parametrize("raw", [None, "", "   "])
def test_blank_identifiers_are_none(raw):
    assert check_inn(raw) is None
    assert check_kpp(raw) is None
    assert check_ogrn(raw) is None


# --- KPP ---


def test_kpp_valid_and_with_letters():
    assert check_kpp("773601001") == TaxId("773601001", "773601001", True, None, None)
    assert check_kpp("7736ab001").value == "7736AB001"
    assert check_kpp("773601001.0").valid


def test_kpp_lost_leading_zero_is_restored():
    assert check_kpp("27401001") == TaxId("27401001", "027401001", True, None, "leading zero restored")


@pytest.mark.parametrize("raw, note", [
    ("7736010", "wrong length: 7 characters"),
    ("77AB01001", "wrong format"),
    ("000000000", "placeholder"),
])
def test_kpp_invalid(raw, note):
    result = check_kpp(raw)
    assert (result.valid, result.note) == (False, note)


# --- INN and KPP in one cell ---


@pytest.mark.parametrize(("cell", "inn", "kpp"), [
    ("ИНН 7707083893 КПП 773601001", SBERBANK_INN, "773601001"),
    ("ИНН: 7707083893, КПП: 773601001", SBERBANK_INN, "773601001"),
    ("ИНН/КПП 7707083893/773601001", SBERBANK_INN, "773601001"),
    ("КПП 773601001 ИНН 7707083893", SBERBANK_INN, "773601001"),
    ("inn 7707083893 Kpp 773601001", SBERBANK_INN, "773601001"),
    ("иНн7707083893кПп773601001", SBERBANK_INN, "773601001"),
    ("ИНН: 7707083893", SBERBANK_INN, ""),
    ("ИНН № 7707083893", SBERBANK_INN, ""),
    ("ИНН/КПП " + PERSON_INN, PERSON_INN, ""),
    ("КПП 7707083893", SBERBANK_INN, ""),
    ("ИНН 7707083893 КПП 7736ab001", SBERBANK_INN, "7736ab001"),
    ("ОГРН 1027700132195 ИНН 7707083893", SBERBANK_INN, ""),  # an OGRN beside them is neither
    ("ИНН 7707083893, ОГРН 1027700132195, КПП 773601001", SBERBANK_INN, "773601001"),
    ("7707083893 1027700132195", SBERBANK_INN, ""),
])
def test_labels_in_an_inn_kpp_cell_name_the_numbers(cell, inn, kpp):
    assert split_inn_kpp(cell) == (inn, kpp)


@pytest.mark.parametrize(("cell", "inn", "kpp"), [
    ("7707083893/773601001", SBERBANK_INN, "773601001"),
    ("7707083893 / 773601001", SBERBANK_INN, "773601001"),
    ("7707083893;773601001", SBERBANK_INN, "773601001"),
    ("7707083893", SBERBANK_INN, ""),
    ("7707083893.0", "7707083893.0", ""),  # Excel's float, cleaned by check_inn
    ("773601001/7707083893", SBERBANK_INN, "773601001"),
    ("7707083893/7729141771", SBERBANK_INN, ""),  # two INNs: the second is no KPP
    ("нет", "нет", ""),  # kept, for check_inn to tell that it has no digits
    ("", "", ""),
])
def test_unlabelled_inn_kpp_cell_is_the_inn_then_the_kpp(cell, inn, kpp):
    assert split_inn_kpp(cell) == (inn, kpp)


# --- OGRN ---


def test_ogrn_organisation():
    assert check_ogrn("1027700132195") == TaxId("1027700132195", "1027700132195", True, "organisation", None)


def test_ogrnip_sole_trader():
    assert check_ogrn("385768585948949") == TaxId("385768585948949", "385768585948949", True, "sole_trader", None)


def test_ogrnip_whose_remainder_is_ten_or_more():
    # 30450000000001 % 13 == 10: the check digit is the remainder's last digit, 0 (python-stdnum 2.2 rejects it).
    assert check_ogrn("304500000000010").valid
    assert not check_ogrn("304500000000011").valid


@pytest.mark.parametrize("raw, note", [
    ("1027700132196", "check digit does not match"),
    ("2027700132195", "first digit 2: not a registration number"),
    ("10277001321", "wrong length: 11 digits"),
])
def test_ogrn_invalid(raw, note):
    result = check_ogrn(raw)
    assert (result.valid, result.note) == (False, note)


# --- company names ---


@pytest.mark.parametrize("name", [
    "ООО «Ромашка»",
    'Общество с ограниченной ответственностью "РОМАШКА"',
    'OOO "Ромашка"',  # Latin O's
    "Ромашка, ООО",
    "Ромашка ООО",
    "общество С ОГРАНИЧЕННОЙ ответственностью Ромашка",
    '000 "Ромашка"',  # zeros for О's
    "OОО „Ромашка“",  # one Latin O among Cyrillic ones
])
def test_one_company_written_many_ways_has_one_key(name):
    company = parse_company_name(name)
    assert (company.legal_form, company.key, company.person) == ("ООО", "ромашка", False)


@pytest.mark.parametrize("name, parts", [
    ("ИП Тихонов Леонид Васильевич", ("ИП", "Тихонов Леонид Васильевич", "")),
    ("Тихонов Леонид Васильевич, ИП", ("", "Тихонов Леонид Васильевич,", "ИП")),
    ("Индивидуальный предприниматель Тихонов Л.В.", ("Индивидуальный предприниматель", "Тихонов Л.В.", "")),
    ("ИП Глава КФХ Иванов Иван Иванович", ("ИП Глава КФХ", "Иванов Иван Иванович", "")),
    ("ИП - Тихонов Леонид", ("ИП -", "Тихонов Леонид", "")),
    ("Тихонов Леонид Васильевич", ("", "Тихонов Леонид Васильевич", "")),
    ("ИП", ("ИП", "", "")),
])
def test_a_name_as_written_is_cut_around_its_legal_form(name, parts):
    assert split_legal_form(name) == parts


def test_latin_lookalike_inside_a_cyrillic_word_is_mapped():
    assert parse_company_name('"Pомашка"').key == "ромашка"  # Latin P
    assert parse_company_name("ООО «Ромaшкa»").key == "ромашка"  # Latin a


# How a Cyrillic capital is written with a Latin look-alike or a digit.
_LOOKALIKE_OF = {"А": "A", "В": "B", "Е": "E", "З": "3", "К": "K", "М": "M", "Н": "H", "О": "O0", "Р": "P", "С": "C",
                 "Т": "T", "У": "Y", "Х": "X"}
# Every short legal form the code knows that can be written in look-alikes: ООО, ЗАО, АНО, НКО, ТСН, МКУ...
_LOOKALIKE_FORMS = sorted(form for form, spellings in LEGAL_FORMS.items()
                          if form.lower() in spellings and set(form) <= set(_LOOKALIKE_OF))


def test_every_form_written_in_lookalikes_is_more_than_the_two_reported():
    assert {"ООО", "АО", "ЗАО", "ОАО", "АНО", "НКО", "ТСН", "МКУ"} <= set(_LOOKALIKE_FORMS)


@given(st.sampled_from(_LOOKALIKE_FORMS).flatmap(lambda form: st.tuples(
           st.just(form), st.tuples(*(st.sampled_from(c + _LOOKALIKE_OF[c]) for c in form)).map("".join))),
       st.text(alphabet="абвгдежзийклмнопрстуфхцчшщыэюяАБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЭЮЯ", min_size=6, max_size=12),
       st.sampled_from(["{form} «{name}»", '{form} "{name}"', "{form} {name}", "{name}, {form}", "{name} ({form})"]))
def test_a_legal_form_written_in_latin_lookalikes_or_with_3_for_ze_is_the_form(form_and_written, name, layout):
    form, written = form_and_written
    if not any(c.isalpha() for c in written):
        return  # `000` is ООО only before the name: after it, it may be a number
    assert parse_company_name(layout.format(form=written, name=name)) == CompanyName(
        layout.format(form=written, name=name), form, name.lower().replace("ё", "е"), False)


@pytest.mark.parametrize("name, form, key", [
    ("3AO «Восход»", "ЗАО", "восход"),  # digit 3 and Latin A, O
    ("AHO «Рассвет»", "АНО", "рассвет"),  # Latin A, H, O
    ("Рассвет, AHO", "АНО", "рассвет"),
    ("3АО Восход", "ЗАО", "восход"),  # digit 3 and Cyrillic А, О
    ("AHO Trading", None, "aho trading"),  # a Latin name: its first word is a word of it
    ('ООО "AHO"', "ООО", "aho"),  # the name itself
    ("Кафе Too", None, "кафе too"),  # not in capitals: an English word
    ("Ромашка 000", None, "ромашка 000"),  # digits alone after the name may be a number
])
def test_latin_lookalike_legal_forms_only_at_the_ends_of_a_cyrillic_name(name, form, key):
    company = parse_company_name(name)
    assert (company.legal_form, company.key) == (form, key)


def test_a_lookalike_legal_form_is_cut_off_a_name_as_written():
    assert split_legal_form("3AO «Восход»") == ("3AO", "«Восход»", "")
    assert split_legal_form("Рассвет, AHO") == ("", "Рассвет,", "AHO")
    assert split_legal_form("AHO Trading") == ("", "AHO Trading", "")


def test_latin_name_stays_latin():
    assert parse_company_name("Romashka Co., Ltd.") == CompanyName("Romashka Co., Ltd.", "Ltd", "romashka", False)
    assert parse_company_name('ООО "EXPO"').key == "expo"


def test_display_keeps_the_name_as_written():
    company = parse_company_name("  ПАО   «Сбербанк»\u00a0")
    assert company == CompanyName("ПАО «Сбербанк»", "ПАО", "сбербанк", False)


@pytest.mark.parametrize("name, form", [
    ("Публичное акционерное общество «Ромашка»", "ПАО"),
    ("ЗАКРЫТОЕ АКЦИОНЕРНОЕ ОБЩЕСТВО Ромашка", "ЗАО"),
    ("Открытое акционерное общество Ромашка", "ОАО"),
    ("Акционерное общество Ромашка", "АО"),
    ("ZAO Ромашка", "ЗАО"),
    ("Государственное унитарное предприятие Ромашка", "ГУП"),
    ("Муниципальное унитарное предприятие Ромашка", "МУП"),
    ("Федеральное государственное унитарное предприятие Ромашка", "ФГУП"),
    ("Автономная некоммерческая организация Ромашка", "АНО"),
    ("Ромашка (ПАО)", "ПАО"),
    ("Ромашка LLC", "LLC"),
])
def test_legal_forms_long_short_and_latin(name, form):
    company = parse_company_name(name)
    assert (company.legal_form, company.key) == (form, "ромашка")


def test_yo_folds_and_inner_quotes_go():
    assert parse_company_name("ЗАО «Торговый дом «Перекрёсток»»").key == "торговый дом перекресток"


def test_form_like_words_elsewhere_are_kept():
    assert parse_company_name("Мир ПК") == CompanyName("Мир ПК", None, "мир пк", False)
    assert parse_company_name("AG Group").key == "ag group"


@pytest.mark.parametrize("name, form", [
    ("ИП Иванов Иван Иванович", "ИП"),
    ("Индивидуальный предприниматель Иванов Иван Иванович", "ИП"),
    ("Иванов Иван Иванович ИП", "ИП"),
    ("ИП глава КФХ Иванов Иван Иванович", "КФХ"),
    ("Иванов Иван Иванович", None),
    ("ИВАНОВА МАРИЯ ИЛЬИНИЧНА", None),
])
def test_people_and_sole_traders(name, form):
    company = parse_company_name(name)
    assert (company.legal_form, company.person) == (form, True)
    assert company.key in ("иванов иван иванович", "иванова мария ильинична")


@pytest.mark.parametrize("name", ["Иванов И.И.", "И. И. Иванов", "Мамедов Рашид Ахмед оглы"])
def test_other_ways_of_writing_a_person(name):
    assert parse_company_name(name).person


@pytest.mark.parametrize("name", ['ООО "Иванов Иван Иванович"', "Строительная компания Север", "Ромашка"])
def test_organisations_are_not_people(name):
    assert not parse_company_name(name).person


def test_name_that_is_only_a_legal_form_has_an_empty_key():
    assert parse_company_name("ООО") == CompanyName("ООО", "ООО", "", False)


@pytest.mark.parametrize("name", [None, "", " \t\u00a0"])
def test_blank_name_is_none(name):
    assert parse_company_name(name) is None


# --- emails ---


def test_company_email_is_normalised():
    assert check_emails("Ivan.Petrov@Romashka.RU") == [
        Email("Ivan.Petrov@Romashka.RU", "ivan.petrov@romashka.ru", True, "romashka.ru", False, None)]


@pytest.mark.parametrize("address", ["ivan@mail.ru", "ivan@yandex.ru", "ivan@ya.ru", "ivan@gmail.com", "ivan@bk.ru"])
def test_free_mail_is_flagged(address):
    (email,) = check_emails(address)
    assert email.valid and email.free_mail


@pytest.mark.parametrize("cell", ["ivan@@mail.ru", "ivan@mail", "ivan.mail.ru"])
def test_invalid_syntax(cell):
    (email,) = check_emails(cell)
    assert (email.raw, email.valid, email.domain, email.free_mail) == (cell, False, None, False)
    assert email.note


def test_cell_with_two_emails():
    emails = check_emails("ivan@mail.ru; sales@romashka.ru")
    assert [(e.value, e.free_mail) for e in emails] == [("ivan@mail.ru", True), ("sales@romashka.ru", False)]


@pytest.mark.parametrize("cell", [
    "mailto:sales@romashka.ru",
    "<sales@romashka.ru>",
    "sales@romashka.ru.",
    "Отдел продаж <sales@romashka.ru>",
])
def test_email_wrappers_are_cleaned(cell):
    assert [e.value for e in check_emails(cell)] == ["sales@romashka.ru"]


def test_cells_without_text_give_no_emails():
    assert check_emails(None) == []
    assert check_emails(" - ") == []


# --- nothing crashes ---

_FUZZ = settings(max_examples=300, deadline=None)
_DIGITISH = st.text(alphabet="0123456789 .,E+-'ИНН/AB", max_size=20)


@_FUZZ
@given(st.text() | _DIGITISH)
def test_identifiers_never_crash(text):
    for check in (check_inn, check_kpp, check_ogrn):
        result = check(text)
        assert result is None or (result.valid is False or result.value is not None)


@_FUZZ
@given(
    inn=st.sampled_from([SBERBANK_INN, PERSON_INN, ZERO_INN]),
    kpp=st.from_regex(r"[0-9]{9}", fullmatch=True),
    inn_label=st.sampled_from(["ИНН", "инн", "INN", "Inn"]),
    kpp_label=st.sampled_from(["КПП", "кпп", "KPP", "kpp"]),
    gap=st.sampled_from([" ", ": ", ":", "", " № "]),
    between=st.sampled_from([" ", ", ", "; ", " / ", "\u00a0"]),
    kpp_first=st.booleans(),
)
def test_labelled_inn_and_kpp_are_found_in_any_order(inn, kpp, inn_label, kpp_label, gap, between, kpp_first):
    parts = [inn_label + gap + inn, kpp_label + gap + kpp]
    cell = between.join(reversed(parts) if kpp_first else parts)
    assert split_inn_kpp(cell) == (inn, kpp)


@_FUZZ
@given(st.text() | _DIGITISH | st.text(alphabet="0123456789 /:ИНКПinkp", max_size=40))
def test_an_inn_kpp_cell_never_crashes_and_never_gives_an_inn_as_kpp(text):
    inn, kpp = split_inn_kpp(text)
    assert not (kpp.isascii() and kpp.isdigit() and len(kpp) in (10, 12))


@_FUZZ
@given(st.text())
def test_names_never_crash(text):
    company = parse_company_name(text)
    if company is not None:
        assert company.display == company.display.strip()
        assert company.key == company.key.strip() and "  " not in company.key


@_FUZZ
@given(st.text() | st.emails())
def test_emails_never_crash(text):
    for email in check_emails(text):
        assert not email.valid or email.domain


@_FUZZ
@given(st.integers(10**7, 10**9 - 1))
def test_any_org_inn_survives_excel(body):
    digits = f"{body:09d}" + stdnum_inn.calc_company_check_digit(f"{body:09d}")
    assert check_inn(digits + ".0") == TaxId(digits + ".0", digits, True, "organisation", None)
    if digits[0] == "0":
        assert check_inn(digits[1:]) == TaxId(digits[1:], digits, True, "organisation", "leading zero restored")
