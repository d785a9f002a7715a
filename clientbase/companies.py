"""Who a client is: INN, KPP and OGRN with their check digits, company names and emails.

Pure functions, called once per cell on millions of rows: the tables and regexes are built once, at import.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from operator import mul

from email_validator import EmailNotValidError, validate_email
from stdnum.ru import ogrn as stdnum_ogrn


@dataclass(frozen=True, slots=True)
class TaxId:
    """An INN, KPP or OGRN as checked.

    `value` holds the canonical digits when valid (after any repair), the cleaned digits when not, and None when
    the cell had no usable digits. `kind` follows the length even when the check digits fail.
    """

    raw: str
    value: str | None
    valid: bool
    kind: str | None
    note: str | None


@dataclass(frozen=True, slots=True)
class CompanyName:
    """A client's name: `display` as written, `key` folded for matching, `person` for people and sole traders.

    `key` is empty when the name is nothing but a legal form (`ООО`): such a key must not be matched on.
    """

    display: str
    legal_form: str | None
    key: str
    person: bool


@dataclass(frozen=True, slots=True)
class Email:
    """One address from a cell; `value` is lower-cased when valid, the cleaned text when not."""

    raw: str
    value: str | None
    valid: bool
    domain: str | None
    free_mail: bool
    note: str | None


# --- INN, KPP, OGRN -------------------------------------------------------------------------------------------

# Excel writes numbers as `7707083893.0`, or `7.70708E+11` once they are wider than its column.
_EXCEL_FRACTION = re.compile(r"[.,]0+$")
_EXPONENT = re.compile(r"^([0-9])[.,]([0-9]+)E\+?([0-9]{1,2})$")
# Spaces and dashes between digits are grouping (`77 07 083893`); other text separates numbers (`ИНН/КПП`).
_DIGIT_GAP = re.compile(r"(?<=[0-9])[\s\-‐‑–—]+(?=[0-9])")
_DIGITS = re.compile(r"[0-9]+")
_KPP_CHUNK = re.compile(r"[0-9A-Z]*[0-9][0-9A-Z]*")
_KPP = re.compile(r"[0-9]{4}[0-9A-Z]{2}[0-9]{3}")
_LEADING_ZERO = "leading zero restored"
_INN_KINDS = {10: "organisation", 12: "person"}
_OGRN_KINDS = {13: "organisation", 15: "sole_trader"}
# 13 digits starting 2, 6-9 and 15 starting 4 are registry record numbers (ГРН), not registration numbers.
_OGRN_FIRST_DIGITS = {13: "15", 15: "3"}


def _join(*notes: str | None) -> str | None:
    return "; ".join(n for n in notes if n) or None


def _cleaned(raw: str, chunk: re.Pattern[str]) -> tuple[str | None, str | None]:
    """The identifier written in a cell (the first one when there are several) and a note on what was odd."""
    text = raw.strip().lstrip("'’`").upper()
    if m := _EXPONENT.match(text):
        fraction, exponent = m[2], int(m[3])
        if len(fraction) < exponent or fraction[exponent:].strip("0"):
            # Expanding `7.70708E+11` would invent the zeros at the end.
            return None, "digits lost in Excel exponent form"
        return m[1] + fraction[:exponent], None
    found = chunk.findall(_DIGIT_GAP.sub("", _EXCEL_FRACTION.sub("", text)))
    if not found:
        return None, "no digits"
    return found[0], ("other numbers in the cell ignored" if len(found) > 1 else None)


_INN_WEIGHTS = {10: ((2, 4, 10, 3, 5, 9, 4, 6, 8),), 12: ((7, 2, 4, 10, 3, 5, 9, 4, 6, 8), (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8))}


def is_valid_inn(text: str | None) -> bool:
    """Whether a stored INN, digits as written, is a valid one: its check digits match and it is not all zeros."""
    return bool(text) and text.isascii() and text.isdigit() and bool(text.strip("0")) and inn_check_digits_ok(text)


def inn_check_digits_ok(digits: str) -> bool:
    """python-stdnum's INN check (one check digit of 10, two of 12) without its cleaning of the input, which
    costs more than the check: `digits` are ASCII digits already. Each check digit is the weighted sum of
    the digits before it, mod 11, mod 10."""
    weights = _INN_WEIGHTS.get(len(digits))
    if weights is None:
        return False
    values = [ord(c) - 48 for c in digits]
    return all(sum(map(mul, w, values)) % 11 % 10 == values[len(w)] for w in weights)


def check_inn(raw: str | None) -> TaxId | None:
    """An INN: 10 digits for an organisation, 12 for a person; None for an empty cell.

    A 9- or 11-digit value that Excel stripped of its leading zero is repaired when the zero makes it valid.
    """
    if raw is None or not raw.strip():
        return None
    digits, note = _cleaned(raw, _DIGITS)
    if digits is None:
        return TaxId(raw, None, False, None, note)
    if len(digits) in (9, 11) and digits[0] != "0" and inn_check_digits_ok("0" + digits):
        digits, note = "0" + digits, _join(note, _LEADING_ZERO)
    kind = _INN_KINDS.get(len(digits))
    if kind is None:
        return TaxId(raw, digits, False, None, _join(note, f"wrong length: {len(digits)} digits"))
    if not digits.strip("0"):
        # All zeros passes the check digits, but it is the usual "no INN" filler.
        return TaxId(raw, digits, False, kind, _join(note, "placeholder"))
    if not inn_check_digits_ok(digits):
        return TaxId(raw, digits, False, kind, _join(note, "check digits do not match"))
    return TaxId(raw, digits, True, kind, note)


_TAX_LABELS = {"инн": "inn", "inn": "inn", "кпп": "kpp", "kpp": "kpp", "огрн": "ogrn", "ogrn": "ogrn"}
# Labels are cut off what is glued to them (`ИНН7715000805`); the rest is split at the separators.
_TAX_LABEL = re.compile("|".join(_TAX_LABELS), re.IGNORECASE)
_INN_KPP_TOKEN = re.compile(r"[^/\\|,;:\s]+")
_INN_LENGTH = re.compile(r"[0-9]{10}|[0-9]{12}")
_OGRN_LENGTH = re.compile(r"[0-9]{13}|[0-9]{15}")


def split_inn_kpp(cell: str) -> tuple[str, str]:
    """The INN and the KPP written in one `ИНН/КПП` cell, as text for check_inn and check_kpp.

    Labels, in any order and case, name the numbers after them (`КПП 771501001 ИНН 7715000805`,
    `ИНН/КПП 7715000805/771501001`); numbers without a label are the INN, then the KPP. A KPP has 9
    characters: a 10- or 12-digit number is an INN wherever it stands, never the KPP.
    """
    pending: list[str] = []  # labels read, waiting for their numbers
    labelled: dict[str, str] = {}
    unlabelled: list[str] = []
    for token in _INN_KPP_TOKEN.findall(_TAX_LABEL.sub(r" \g<0> ", cell)):
        if label := _TAX_LABELS.get(token.lower()):
            pending.append(label)
        elif _DIGITS.search(token):  # words such as `№` or `нет` are no number
            if pending:
                labelled.setdefault(pending.pop(0), token)
            elif not _OGRN_LENGTH.fullmatch(token):  # an OGRN written beside them is neither
                unlabelled.append(token)
    if not labelled and not unlabelled:
        return cell.strip(), ""  # check_inn tells that the cell had no digits
    inn = labelled.get("inn") or (unlabelled.pop(0) if unlabelled else "")
    kpp = labelled.get("kpp") or (unlabelled.pop(0) if unlabelled else "")
    if _INN_LENGTH.fullmatch(kpp):
        if not inn or _KPP.fullmatch(inn.upper()):  # written KPP first without labels: `771501001/7715000805`
            inn, kpp = kpp, inn
        else:
            kpp = ""
    return inn, kpp


def check_kpp(raw: str | None) -> TaxId | None:
    """A KPP: 4 digits of the tax office, 2 digits or Latin capitals for the reason, 3 digits; None for an empty cell.

    An 8-digit KPP that lost its leading zero in Excel is repaired.
    """
    if raw is None or not raw.strip():
        return None
    value, note = _cleaned(raw, _KPP_CHUNK)
    if value is None:
        return TaxId(raw, None, False, None, note)
    if len(value) == 8 and value.isdigit():
        value, note = "0" + value, _join(note, _LEADING_ZERO)
    if len(value) != 9:
        return TaxId(raw, value, False, None, _join(note, f"wrong length: {len(value)} characters"))
    if not _KPP.fullmatch(value):
        return TaxId(raw, value, False, None, _join(note, "wrong format"))
    if not value.strip("0"):
        return TaxId(raw, value, False, None, _join(note, "placeholder"))
    return TaxId(raw, value, True, None, note)


def _ogrnip_check_digit_ok(digits: str) -> bool:
    # The check digit is the last digit of the remainder mod 13. python-stdnum (2.2) compares the whole remainder,
    # so it rejects every valid OGRNIP whose remainder is 10, 11 or 12 (about a quarter of them).
    return int(digits[:-1]) % 13 % 10 == int(digits[-1])


def check_ogrn(raw: str | None) -> TaxId | None:
    """An OGRN (13 digits, organisation) or OGRNIP (15 digits, sole trader); None for an empty cell."""
    if raw is None or not raw.strip():
        return None
    digits, note = _cleaned(raw, _DIGITS)
    if digits is None:
        return TaxId(raw, None, False, None, note)
    kind = _OGRN_KINDS.get(len(digits))
    if kind is None:
        return TaxId(raw, digits, False, None, _join(note, f"wrong length: {len(digits)} digits"))
    if digits[0] not in _OGRN_FIRST_DIGITS[len(digits)]:
        return TaxId(raw, digits, False, kind, _join(note, f"first digit {digits[0]}: not a registration number"))
    if not (stdnum_ogrn.is_valid(digits) or (kind == "sole_trader" and _ogrnip_check_digit_ok(digits))):
        return TaxId(raw, digits, False, kind, _join(note, "check digit does not match"))
    return TaxId(raw, digits, True, kind, note)


# --- company names ---------------------------------------------------------------------------------------------

# Canonical form -> how it is written once folded (lower case, ё as е, punctuation as spaces), at either end.
# Latin transliterations (`ooo`, `zao`) count in a Latin name too; look-alikes elsewhere: _read_lookalike_forms.
_LEGAL_FORMS: dict[str, tuple[str, ...]] = {
    "ООО": ("ооо", "ooo", "общество с ограниченной ответственностью"),
    "ОДО": ("одо", "общество с дополнительной ответственностью"),
    "АО": ("ао", "ao", "акционерное общество"),
    "ЗАО": ("зао", "zao", "закрытое акционерное общество"),
    "ОАО": ("оао", "oao", "открытое акционерное общество"),
    "ПАО": ("пао", "pao", "публичное акционерное общество"),
    "НАО": ("нао", "непубличное акционерное общество"),
    "ИП": ("ип", "индивидуальный предприниматель"),
    "КФХ": (
        "кфх", "глава кфх", "ип глава кфх", "крестьянское фермерское хозяйство",
        "глава крестьянского фермерского хозяйства", "ип глава крестьянского фермерского хозяйства",
    ),
    "ГУП": ("гуп", "государственное унитарное предприятие"),
    "МУП": ("муп", "муниципальное унитарное предприятие"),
    "ФГУП": ("фгуп", "федеральное государственное унитарное предприятие"),
    "ЧУП": ("чуп", "частное унитарное предприятие"),
    "ГБУ": ("гбу", "государственное бюджетное учреждение"),
    "МБУ": ("мбу", "муниципальное бюджетное учреждение"),
    "ФГБУ": ("фгбу", "федеральное государственное бюджетное учреждение"),
    "ГАУ": ("гау", "государственное автономное учреждение"),
    "МАУ": ("мау", "муниципальное автономное учреждение"),
    "ГКУ": ("гку", "государственное казенное учреждение"),
    "МКУ": ("мку", "муниципальное казенное учреждение"),
    "ФКУ": ("фку", "федеральное казенное учреждение"),
    "ГБОУ": ("гбоу",), "МБОУ": ("мбоу",), "МАОУ": ("маоу",), "МКОУ": ("мкоу",), "ФГБОУ": ("фгбоу",),
    "ФГАОУ": ("фгаоу",), "ГБПОУ": ("гбпоу",), "МБДОУ": ("мбдоу",), "МАДОУ": ("мадоу",), "ГБУЗ": ("гбуз",),
    "ГАУЗ": ("гауз",), "ФГБНУ": ("фгбну",),
    "АНО": ("ано", "автономная некоммерческая организация"),
    "НКО": ("нко", "некоммерческая организация"),
    "НП": ("нп", "некоммерческое партнерство"),
    "ТОО": ("тоо", "товарищество с ограниченной ответственностью"),
    "ПК": ("производственный кооператив",),
    "СПК": ("спк", "сельскохозяйственный производственный кооператив"),
    "ТСЖ": ("тсж", "товарищество собственников жилья"),
    "ТСН": ("тсн", "товарищество собственников недвижимости"),
    "СНТ": ("снт", "садоводческое некоммерческое товарищество"),
    "ЖСК": ("жск", "жилищно строительный кооператив"),
}
# Foreign forms stand at the end (`Romashka Co., Ltd.`); at the start they are a word of the name (`AG Group`).
_SUFFIX_ONLY_FORMS: dict[str, tuple[str, ...]] = {
    "LLC": ("llc", "limited liability company"),
    "Ltd": ("ltd", "co ltd", "limited", "company limited"),
    "Inc": ("inc", "incorporated"),
    "Corp": ("corp", "corporation"),
    "GmbH": ("gmbh",),
    "AG": ("ag",),
    "JSC": ("jsc",),
    "PJSC": ("pjsc",),
    "CJSC": ("cjsc",),
    "OJSC": ("ojsc",),
    "LLP": ("llp",),
    "PLC": ("plc",),
}
# Read as a legal form only at the start: at the end they are likely part of the name (`Мир ПК`).
_PREFIX_ONLY_FORMS: dict[str, tuple[str, ...]] = {"ООО": ("000",), "ПК": ("пк",)}
_PERSON_FORMS = frozenset({"ИП", "КФХ"})


_Spellings = tuple[tuple[tuple[str, ...], str], ...]  # (words, canonical form), longest first


def _by_edge_word(last: bool, *tables: dict[str, tuple[str, ...]]) -> dict[str, _Spellings]:
    """Written forms indexed by the word they start (or end) with, so most names cost one dict lookup."""
    index: dict[str, list[tuple[tuple[str, ...], str]]] = {}
    for table in tables:
        for form, spellings in table.items():
            for spelling in spellings:
                words = tuple(spelling.split())
                index.setdefault(words[-1] if last else words[0], []).append((words, form))
    return {word: tuple(sorted(found, key=lambda f: -len(f[0]))) for word, found in index.items()}


_PREFIXES = _by_edge_word(False, _LEGAL_FORMS, _PREFIX_ONLY_FORMS)
_SUFFIXES = _by_edge_word(True, _LEGAL_FORMS, _SUFFIX_ONLY_FORMS)

# Latin letters that look like Cyrillic ones; only words mixing both scripts are mapped, so `EXPO` stays Latin.
_LOOKALIKES = str.maketrans("ABCEHKMOPTXYaceopxy", "АВСЕНКМОРТХУасеорху")
# A legal form in capitals may be written with them throughout, and with 3 for З and 0 for О: `3AO`, `AHO`.
_FORM_LOOKALIKES = _LOOKALIKES | str.maketrans("30", "ЗО")
_FORM_LOOKALIKE = re.compile(r"[ABCEHKMOPTXY30]")
_CYRILLIC = re.compile(r"[А-яЁё]")
_FIRST_WORD = re.compile(r"[\W_]*([^\W_]+)")
_LAST_WORD = re.compile(r".*(?<![^\W_])([^\W_]+)", re.DOTALL)  # greedy: found from the end, no search
_MIXED_PAIR = re.compile(r"[A-Za-z][А-яЁё]|[А-яЁё][A-Za-z]")
_MIXED_WORD = re.compile(r"[^\W\d_]*(?:[A-Za-z][А-яЁё]|[А-яЁё][A-Za-z])[^\W\d_]*")
_NOT_WORD = re.compile(r"[\W_]+")
_CYRILLIC_WORD = re.compile(r"[а-я]+")
_PATRONYMIC = re.compile(r"(?:вич|вна|ична|ьич|мич|лукич|никитич)$")
_TURKIC_PATRONYMIC = frozenset({"оглы", "кызы", "улы"})


def _legal_form_bounds(words: list[str]) -> tuple[str | None, int, int]:
    """The legal forms at both ends (`ООО «Ромашка»`, `Ромашка, ООО`), the first one found being the client's,
    and where the name between them starts and ends."""
    found: str | None = None
    start, end = 0, len(words)
    for index, last in ((_PREFIXES, False), (_SUFFIXES, True)):
        stripped = True
        while start < end and stripped:
            stripped = False
            for spelling, form in index.get(words[end - 1] if last else words[start], ()):
                size = len(spelling)
                if size <= end - start and tuple(words[end - size:end] if last else words[start:start + size]) == spelling:
                    if last:
                        end -= size
                    else:
                        start += size
                    found = found or form
                    stripped = True
                    break
    return found, start, end


def _one_word_forms(index: dict[str, _Spellings]) -> frozenset[str]:
    """The Cyrillic legal forms of one word in `index`: those a word of look-alikes may spell."""
    return frozenset(words[0] for found in index.values() for words, _ in found
                     if len(words) == 1 and _CYRILLIC_WORD.fullmatch(words[0]))


_FIRST_FORMS, _LAST_FORMS = _one_word_forms(_PREFIXES), _one_word_forms(_SUFFIXES)


def _read_lookalike_forms(text: str) -> str:
    """`text` with a legal form written in Latin look-alikes at either end read in Cyrillic (`3AO «Восход»`,
    `Рассвет, AHO`), when the name it leaves is Cyrillic: `AHO Trading` and `ООО "AHO"` are names."""
    if not (_FORM_LOOKALIKE.search(text) and _CYRILLIC.search(text)):
        return text
    read = text
    for edge, forms in ((_FIRST_WORD, _FIRST_FORMS), (_LAST_WORD, _LAST_FORMS)):
        if (m := edge.match(read)) and m[1].isupper():
            reading = m[1].translate(_FORM_LOOKALIKES)
            if reading != m[1] and reading.casefold() in forms:
                read = read[:m.start(1)] + reading + read[m.end(1):]
    if read == text:
        return text
    words = _folded_words(read)
    _, start, end = _legal_form_bounds(words)
    return read if any(_CYRILLIC_WORD.search(w) for w in words[start:end]) else text


def _looks_like_person(words: list[str]) -> bool:
    """`иванов иван иванович`, `мамедов рашид ахмед оглы`, `иванов и и`, `и и иванов`."""
    if not 3 <= len(words) <= 4 or not all(_CYRILLIC_WORD.fullmatch(w) for w in words):
        return False
    if _PATRONYMIC.search(words[-1]) or (len(words) == 4 and words[-1] in _TURKIC_PATRONYMIC):
        return True
    lengths = [len(w) for w in words]
    return (lengths[-2:] == [1, 1] and min(lengths[:-2]) > 1) or (lengths[:2] == [1, 1] and min(lengths[2:]) > 1)


def _folded_words(text: str) -> list[str]:
    """The words of a name as matching reads them: Latin look-alikes in Cyrillic words mapped, case and ё
    folded, punctuation dropped."""
    text = unicodedata.normalize("NFC", text)  # a decomposed `й` must fold like a composed one
    if _MIXED_PAIR.search(text):
        text = _MIXED_WORD.sub(lambda m: m[0].translate(_LOOKALIKES), text)
    return _NOT_WORD.sub(" ", text.casefold().replace("ё", "е")).split()


def parse_company_name(name: str | None) -> CompanyName | None:
    """A client's name with its legal form recognised and a key for matching; None for a blank cell."""
    if name is None:
        return None
    display = " ".join(name.split())
    if not display:
        return None
    words = _folded_words(_read_lookalike_forms(display))
    form, start, end = _legal_form_bounds(words)
    if form:  # most names have none: no copy
        words = words[start:end]
    person = form in _PERSON_FORMS or (form is None and _looks_like_person(words))
    return CompanyName(display, form, " ".join(words), person)


def split_legal_form(name: str) -> tuple[str, str, str]:
    """A client's name as written cut around its legal forms: (before, the name, after), so that
    `ИП Тихонов Леонид Васильевич` gives ('ИП', 'Тихонов Леонид Васильевич', '')."""
    written = name.split()
    folded = [_folded_words(word) for word in _read_lookalike_forms(name).split()]  # one list per written word
    spans, read = [], 0  # the folded words each written word holds: [from, to)
    for words in folded:
        spans.append((read, read + len(words)))
        read += len(words)
    _, start, end = _legal_form_bounds([w for words in folded for w in words])
    first = sum(1 for _, to in spans if to <= start)
    last = max(first, sum(1 for since, _ in spans if since < end))
    return " ".join(written[:first]), " ".join(written[first:last]), " ".join(written[last:])


# --- emails ----------------------------------------------------------------------------------------------------

# Personal mailboxes: they say nothing about which company a contact works for.
FREE_MAIL_DOMAINS = frozenset({
    "mail.ru", "bk.ru", "inbox.ru", "list.ru", "internet.ru", "mail.ua",
    "yandex.ru", "ya.ru", "yandex.com", "yandex.by", "yandex.kz", "yandex.ua", "narod.ru",
    "rambler.ru", "ro.ru", "lenta.ru", "autorambler.ru", "myrambler.ru", "rambler.ua",
    "gmail.com", "googlemail.com",
    "outlook.com", "hotmail.com", "live.com", "live.ru", "msn.com",
    "icloud.com", "me.com", "mac.com",
    "yahoo.com", "ymail.com", "aol.com",
    "proton.me", "protonmail.com", "pm.me", "tutanota.com", "gmx.com", "gmx.net", "gmx.de", "mail.com", "zoho.com",
    "qip.ru", "pochta.ru", "nm.ru", "e1.ru", "ngs.ru", "hotbox.ru", "km.ru",
    "ukr.net", "i.ua", "meta.ua", "bigmir.net", "tut.by", "mail.kz", "inbox.lv",
})
_EMAIL_SEPARATORS = re.compile(r"[;,\s]+")
_MAILTO = re.compile(r"^mailto:", re.IGNORECASE)
_TRIM = "<>()[]\"'«».:"


def check_emails(cell: str | None) -> list[Email]:
    """The addresses in a cell (split on `;`, `,` and spaces), syntax-checked; [] for a cell with no text.

    Words without `@` next to an address (`Иван <ivan@romashka.ru>`) are dropped; a cell without any `@` is one
    invalid address, so that nothing disappears silently.
    """
    if cell is None or not any(c.isalnum() for c in cell):
        return []
    parts = [p for p in _EMAIL_SEPARATORS.split(cell) if p]
    return [_check_email(p) for p in ([p for p in parts if "@" in p] or [cell.strip()])]


# Plain ASCII addresses, the great majority: valid by construction, no need for email-validator's ~25 µs.
_PLAIN_EMAIL = re.compile(r"^[a-z0-9_%+-]+(?:\.[a-z0-9_%+-]+)*@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,24}$")


def _check_email(raw: str) -> Email:
    text = _MAILTO.sub("", raw.strip(_TRIM)).strip(_TRIM)
    lowered = text.lower()
    if len(lowered) <= 254 and _PLAIN_EMAIL.match(lowered) and len(lowered.partition("@")[0]) <= 64:
        domain = lowered.partition("@")[2]
        return Email(raw, lowered, True, domain, domain in FREE_MAIL_DOMAINS, None)
    try:
        checked = validate_email(text, check_deliverability=False)
    except EmailNotValidError as error:
        return Email(raw, text or None, False, None, False, str(error))
    domain = checked.domain.lower()
    return Email(raw, checked.normalized.lower(), True, domain, domain in FREE_MAIL_DOMAINS, None)
