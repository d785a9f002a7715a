"""Ingest: map a dump's columns to fields and turn each row into a normalised record."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from json.encoder import encode_basestring as _json_string
from operator import itemgetter

from rapidfuzz import process
from rapidfuzz.distance import OSA

from clientbase.companies import (
    Email,
    check_emails,
    check_inn,
    check_kpp,
    check_ogrn,
    parse_company_name,
    split_inn_kpp,
)
from clientbase.errors import UserError
from clientbase.models import RecordRow
from clientbase.phones import Phone, PhoneNormaliser, is_known_city
from clientbase.values import FUTURE_DATE, is_no_date, parse_birthday, parse_date, parse_money

# Fields that collect every matching column (a row often has `Телефон` and `Моб.`).
MULTI_FIELDS = ("phone", "email")

_OURS = r".*\b(телефон|тел|моб|мобильный|сотовый|phone|tel|mobile|e ?mail|почта|mail) (менеджера|ответственного)$"
# Checked in order against the folded header; the first match wins.
# Whose number an INN, KPP or OGRN column names, before it (1C's `Контрагент.ИНН`) or after it (`ИНН клиента`): the
# client's. A numbered column (`ИНН 2`) is the client's too.
_WHOSE = r"контрагент|контрагента|клиент|клиента|организация|организации|компания|компании|покупатель|покупателя" \
         r"|client|customer|company|counterparty"
_OF_CLIENT = rf"(?:(?:{_WHOSE}) )?(?:{{}})(?: (?:{_WHOSE}|\d+))?"
HEADER_PATTERNS: tuple[tuple[str, str], ...] = (
    ("inn_kpp", r"инн ?кпп|inn ?kpp"),
    ("inn", _OF_CLIENT.format(r"инн|inn|tax id|taxpayer id|tin")),
    ("kpp", _OF_CLIENT.format(r"кпп|kpp")),
    ("ogrn", _OF_CLIENT.format(r"огрн|огрнип|ogrn|ogrnip")),
    ("birthday", r"дата рождения|день рождения|д р|birthday|date of birth|dob"),
    ("contact", r"контактное лицо|контакт|контакты лицо|фио|лпр|contact|contact person|contact name|person"),
    ("position", r"должность|position|job title|title"),
    ("assigned_on", r"дата (назначения|закрепления|передачи|привязки)|assigned|assigned on|assignment date"),
    ("last_purchase", r"дата последней (покупки|отгрузки|продажи|оплаты|сделки|реализации)|последняя (покупка|отгрузка|продажа)"
                      r"|last (purchase|order|sale|shipment)( date)?"),
    ("last_contact", r"дата последнего (контакта|звонка)|последний (контакт|звонок)|last (contact|call)( date)?"),
    ("last_result", r"дата последнего результата|дата результата|last result( date)?"),
    # Our manager's own phone or mail (`Телефон менеджера`) is no key of the client: it would join all their
    # clients as a hub. The client's people keep theirs: `Телефон менеджера по закупкам`, `… ответственного лица`.
    ("phone", rf"(?!{_OURS})(основной |рабочий |мобильный |сотовый |контактный |доп |дополнительный )?"
              r"(телефон|телефоны|тел|моб|мобильный|сотовый|phone|phones|tel|telephone|mobile|cell)( .*)?"),
    ("email", rf"(?!{_OURS})(e ?mail|email|эл ?почта|электронная почта|почта|mail|e mail)( .*)?"),
    ("website", r"(сайт|website|web|url|www)( .*)?"),
    ("city", r"(город|населенный пункт|city|town)( .*)?"),
    ("address", r"((юридический|фактический|юр|факт|почтовый) )?(адрес|address)( .*)?"),
    # Our person's role: a role after a word naming the sale or the CRM record (`Sales manager`, `Account Owner`,
    # `Основной менеджер`), or the first word. A client's own staff (`Категорийный менеджер`) is no owner.
    # Not the manager's phone or mail, nor the client's buyer (`Менеджер по закупкам`): no owner named there.
    ("owner", r"(?!.*\b(phone|телефон|тел|mail|email|почта|закуп\w*)\b)((sales|account|key account|client|customer|company|contact|lead|deal|opportunity|organi[sz]ation"
              r"|record|responsible|assigned|personal) (manager|owner|rep|representative)|salesperson|sales person"
              r"|(основной|ответственный|персональный|личный|закрепленный|клиентский|аккаунт) менеджер"
              r"|ответственный|менеджер|owner|manager|responsible)( .*)?"),
    ("channel", r"(канал|channel)( .*)?"),
    ("profit", r"(прибыль|маржа|маржинальный доход|валовая прибыль|profit|margin|gross profit)( .*)?"),
    ("revenue", r"(выручка|сумма продаж|оборот|продажи|revenue|sales|turnover)( .*)?"),
    ("potential", r"(потенциал|potential)( .*)?"),
    ("status", r"(статус|состояние|status|state)( .*)?"),
    ("comment", r"(комментарий|комментарии|примечание|примечания|описание|comment|comments|notes?)( .*)?"),
    ("name", r"(наименование|полное наименование|краткое наименование|контрагент|компания|организация|клиент|название"
             r"|юрлицо|юр лицо|name|company|company name|client|customer|organi[sz]ation|account)( .*)?"),
)
FIELDS = tuple(dict.fromkeys(name for name, _ in HEADER_PATTERNS if name != "inn_kpp"))
_COMPILED = tuple((name, re.compile(rf"^(?:{pattern})$")) for name, pattern in HEADER_PATTERNS)
# Without the `( .*)?` tail that lets `Телефон мобильный` name a field: a sub-header is a field's name as a
# whole, as a value such as `Компания Вектор` or `Город Москва` would pass with it (see continues_header).
_WHOLE = tuple((name, re.compile(rf"^(?:{pattern.removesuffix('( .*)?')})$")) for name, pattern in HEADER_PATTERNS)
_FOLD = re.compile(r"[^0-9a-zа-я]+")
_LETTER_DIGIT = re.compile(r"(?<=[a-zа-я])(?=\d)")
# The words of six letters or more the patterns name fields with: a typo in a longer word is told apart
# from another word, where one in `Город` or `ИНН` could be anything.
_HEADER_WORDS = frozenset(word for _, pattern in HEADER_PATTERNS
                          for word in re.findall(r"(?<![\\\[\w])[a-zа-я]{6,}(?![\w\[\\])", pattern))
# `г. Подольск`, `город Подольск`, and FIAS's and DaData's `г Подольск` (the г a word of its own).
_CITY_IN_ADDRESS = re.compile(r"(?:^|[\s,])(?:г\.|г(?=\s)|город|гор\.)\s*([А-ЯЁA-Z][А-ЯЁа-яёA-Za-z\- ]+?)\s*(?:,|$|;)")
_CITY_BEFORE_PREFIX = re.compile(r"^\s*([А-ЯЁ][А-ЯЁа-яё\- ]*?)\s+(?:г|гор|город)\.?\s*$")
_CITY_PREFIX = re.compile(r"^(?:г\.|г |город |гор\.)\s*", re.IGNORECASE)
_CLOSED = re.compile(r"закрыт|ликвидир|банкрот|не работает|прекратил|closed|liquidat|out of business", re.IGNORECASE)
NO_IDENTITY = "no name, phone, INN or email"
# The fields that can identify a company: a table without a column for one of them gives no record.
IDENTITY_FIELDS = ("name", "phone", "inn", "email")


class MappingError(UserError):
    """A --map that cannot be applied; the message is one line."""


def fold_header(header: str) -> str:
    """A header as its words, a number written on to one apart (`Телефон1` is `телефон 1`)."""
    return _LETTER_DIGIT.sub(" ", _FOLD.sub(" ", header.casefold().replace("ё", "е"))).strip()


@dataclass(frozen=True)
class ColumnMap:
    """Which column index feeds which field; unmapped columns stay only in the raw record."""

    single: dict[str, int]
    multi: dict[str, tuple[int, ...]]
    inn_kpp: int | None = None
    unmapped: tuple[str, ...] = ()
    typos: tuple[tuple[str, str], ...] = ()  # (header, field) read through a typo in the header

    @property
    def identifies(self) -> bool:
        """Whether any column feeds a field that identifies a company."""
        return self.inn_kpp is not None or any(name in self.single or name in self.multi for name in IDENTITY_FIELDS)

    def describe(self, header: tuple[str, ...]) -> dict[str, str]:
        out = {header[i]: name for name, i in self.single.items()}
        for name, columns in self.multi.items():
            out.update({header[i]: name for i in columns})
        if self.inn_kpp is not None:
            out[header[self.inn_kpp]] = "inn+kpp"
        return out


def parse_overrides(pairs: Iterable[str]) -> dict[str, str]:
    """`--map "Header=field"` options; an empty field (`Header=`) ignores the column."""
    overrides: dict[str, str] = {}
    for pair in pairs:
        header, sep, name = pair.partition("=")
        name = name.strip()
        if not sep or not header.strip():
            raise MappingError(f'--map "{pair}": expected "Header=field"')
        if name and name not in FIELDS:
            raise MappingError(f'--map "{pair}": unknown field {name!r}; fields are: {", ".join(FIELDS)}')
        overrides[fold_header(header)] = name
    return overrides


def map_columns(header: tuple[str, ...], overrides: dict[str, str]) -> ColumnMap:
    """Each column's field by its header, then a header one typo away from a field the others left free."""
    single: dict[str, int] = {}
    multi: dict[str, list[int]] = {name: [] for name in MULTI_FIELDS}
    inn_kpp = None
    left: list[int] = []
    typos: list[tuple[str, str]] = []

    def take(index: int, name: str | None) -> bool:
        nonlocal inn_kpp
        if name == "inn_kpp" and inn_kpp is None:
            inn_kpp = index
        elif name in multi:
            multi[name].append(index)
        elif name and name not in single:
            single[name] = index
        else:
            return False
        return True

    for index, title in enumerate(header):
        if not take(index, header_field(title, overrides)):
            left.append(index)
    unmapped = []
    for index in left:
        title = header[index]
        name = None if fold_header(title) in overrides else typo_field(title)
        if name and take(index, name):
            typos.append((title, name))
        else:
            unmapped.append(title)
    return ColumnMap(single, {k: tuple(v) for k, v in multi.items() if v}, inn_kpp, tuple(unmapped), tuple(typos))


def typo_field(title: str) -> str | None:
    """The field a header names once one of its words loses a typo: a letter missing or two letters swapped,
    in a word of six letters or more (`Телфон`, `Наименоваие`, `Ответсвенный`, `Comapny`). None when no reading
    names a field, when readings name two, or when one names none: `Телефон менеджеа` may be our manager's
    own phone, which is no field. A letter wrong or extra is not read past, as it makes other words
    (`Кампания`, a campaign, is not `Компания`; `Контракт` is not `Контакт`), nor is another ending
    (`Контакты`, `Компани`)."""
    words = fold_header(title).split()
    fields = set()
    for position, word in enumerate(words):
        if len(word) < 6 or word in _HEADER_WORDS:
            continue
        for known, _, _ in process.extract(word, _HEADER_WORDS, scorer=OSA.distance, score_cutoff=1, limit=None):
            if known.startswith(word) or word.startswith(known) or not _slip(word, known):
                continue
            fields.add(header_field(" ".join([*words[:position], known, *words[position + 1:]]), {}))
    return fields.pop() if len(fields) == 1 else None


def _slip(typed: str, word: str) -> bool:
    """Whether `typed` is `word` with one letter left out or two neighbours swapped: the slips of a typing hand."""
    if len(typed) == len(word) - 1:
        return True  # one edit apart and one letter shorter: a letter left out
    if len(typed) != len(word):
        return False
    differ = [i for i, (a, b) in enumerate(zip(typed, word)) if a != b]
    return len(differ) == 2 and differ[1] == differ[0] + 1 and typed[differ[0]] == word[differ[1]]


def header_field(title: str, overrides: dict[str, str], whole: bool = False) -> str | None:
    """The field a header names, by `--map` first; None for a header that names none or is ignored.
    `whole`: only a field's name as it is, without words after it (`Телефон`, not `Телефон мобильный`)."""
    folded = fold_header(title)
    if folded in overrides:
        return overrides[folded] or None
    return next((name for name, rx in (_WHOLE if whole else _COMPILED) if folded and rx.match(folded)), None)


def continues_header(header: tuple[str, ...], row: tuple[str, ...], overrides: dict[str, str]) -> bool:
    """Whether `row`, right under `header`, is the lower row of a two-row header: `Телефон`, `E-mail` under a
    `Контакты` cell merged over both, which reads as `Контакты` and a blank cell.

    The row must fill a blank of the header, and each of its cells sit under a group (a blank header cell,
    or a group title that names no field itself, followed by a blank one) and be a field's name as a whole
    (so never a phone, INN or email). Strict, as a data row taken for sub-headers would be lost unseen: a
    cell under `Наименование` or a value such as `Компания Вектор` keeps its row a record, and a sub-header
    that names no field (until `--map` names it) leaves its row a rejected record, in sight."""
    filled = [(index, cell) for index, cell in enumerate(row) if cell]

    def blank_above(index: int) -> bool:
        return index >= len(header) or not header[index]

    def under_group(index: int) -> bool:  # a merged cell is followed by blanks within the header
        return blank_above(index) or (index + 1 < len(header) and not header[index + 1]
                                      and header_field(header[index], overrides) is None)

    return (any(blank_above(index) for index, _ in filled)
            and all(under_group(index) and header_field(cell, overrides, whole=True) for index, cell in filled))


def city_of(city_cell: str, address: str) -> str | None:
    """The city as written, without the `г.` prefix; taken from the address when there is no city column."""
    if city_cell:
        return _city_cell(city_cell)
    if address and (m := _CITY_IN_ADDRESS.search(address)):
        return m[1].strip()
    for part in address.split(",") if address else ():
        if m := _CITY_BEFORE_PREFIX.match(part):  # FIAS order, as 1C writes it: `614036, Пермь г, Железнодорожная ул`
            return m[1]
        if is_known_city(part):  # Moscow and Petersburg are written without `г.`: `125009, Москва, ул. Тверская, 1`
            return _city_cell(part.strip())
    return None


@lru_cache(maxsize=1 << 12)
def channel_name(text: str) -> str | None:
    """A sales channel, its case evened out so that `розница` and `РОЗНИЦА` rank with `Розница`."""
    text = " ".join(text.split())
    if text and (text.islower() or text.isupper()):
        text = text[0].upper() + text[1:].lower()
    return text or None


@lru_cache(maxsize=1 << 16)
def _iso(text: str) -> str | None:
    # Few distinct dates recur over millions of rows: each is parsed once.
    day = parse_date(text)
    return day.isoformat() if day else None


_birthday = lru_cache(maxsize=1 << 16)(parse_birthday)


@lru_cache(maxsize=1 << 12)
def _city_cell(text: str) -> str | None:
    return _CITY_PREFIX.sub("", text).strip() or None


def raw_keys(header: tuple[str, ...]) -> tuple[str, ...]:
    """Unique names for the raw record's keys: a header keeps its own where it first appears, a blank one
    gets its position, and a repeat a number that no other header has ("Телефон", "Телефон", "Телефон (2)")."""
    taken = set(filter(None, header))
    placed: set[str] = set()
    keys = []
    for index, title in enumerate(header):
        if title and title not in placed:
            placed.add(title)
            keys.append(title)
        else:
            keys.append(_unused(title or f"column {index + 1}", taken))
    return tuple(keys)


def _unused(name: str, taken: set[str]) -> str:
    """`name`, or `name (2)`, `name (3)`... whichever is not taken yet; taken from now on."""
    key, number = name, 1
    while key in taken:
        number += 1
        key = f"{name} ({number})"
    taken.add(key)
    return key


def raw_json(keys: tuple[str, ...], cells: tuple[str, ...]) -> str:
    """The row as read, kept forever: every non-empty cell under its header, extra cells by position.

    The text `json.dumps(..., ensure_ascii=False)` gives for the row as a dict, which the rows read before
    were stored as, in 60% of its time: each table's keys are encoded once, and no dict is built."""
    if len(cells) > len(keys):
        taken = set(keys)
        keys = keys + tuple(_unused(f"column {index + 1}", taken) for index in range(len(keys), len(cells)))
    return "{" + ", ".join([key + _json_string(value) for key, value in zip(_json_keys(keys), cells) if value]) + "}"


@lru_cache(maxsize=64)
def _json_keys(keys: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(_json_string(key) + ": " for key in keys)


@lru_cache(maxsize=200_000)
def _company(name: str):
    return parse_company_name(name)


# The single-valued fields a record reads from its row, in the order RecordBuilder unpacks them.
_CELL_FIELDS = (
    "name", "inn", "kpp", "ogrn", "city", "address", "contact", "position", "birthday", "owner", "assigned_on",
    "channel", "profit", "revenue", "potential", "last_purchase", "last_contact", "last_result", "status", "comment",
)


@dataclass
class RecordBuilder:
    """Turns the cells of one table's rows into normalised records.

    Runs once per row on millions of rows, so the column lookups are worked out once here: each row is
    padded to cover every mapped column plus one blank cell, which stands for the fields not mapped."""

    source: str
    header: tuple[str, ...]
    columns: ColumnMap
    phones: PhoneNormaliser
    latest: str  # the last ISO day a date of the past (a purchase, a contact) may fall on: later is a typo
    raw_keys: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        self.raw_keys = raw_keys(self.header)
        mapped = [*self.columns.single.values(), *(i for c in self.columns.multi.values() for i in c)]
        if self.columns.inn_kpp is not None:
            mapped.append(self.columns.inn_kpp)
        self._width = max(mapped, default=-1) + 1
        self._padding = ("",) * (self._width + 1)
        self._cells = itemgetter(*(self.columns.single.get(name, -1) for name in _CELL_FIELDS))
        self._phone_columns = self.columns.multi.get("phone", ())
        self._email_columns = self.columns.multi.get("email", ())

    def build(self, number: int, cells: tuple[str, ...], rejected: str | None) -> tuple[RecordRow, list[Phone], list[Email]]:
        ref, raw = f"{self.source}:{number}", raw_json(self.raw_keys, cells)
        if rejected:
            return RecordRow(number, ref, raw, "rejected", rejected), [], []
        # Padded so that every mapped column exists and index -1 is a blank cell.
        cells = cells + self._padding[min(len(cells), self._width):]
        (name, inn_text, kpp_text, ogrn_text, city, address, contact, position, birthday, owner, assigned_on,
         channel, profit, revenue, potential, last_purchase, last_contact, last_result, status, comment) = self._cells(cells)
        if self.columns.inn_kpp is not None:
            inn_in_cell, kpp_in_cell = split_inn_kpp(cells[self.columns.inn_kpp])
            inn_text = inn_text or inn_in_cell
            kpp_text = kpp_text or kpp_in_cell

        company = _company(name) if name else None
        inn = check_inn(inn_text)
        kpp = check_kpp(kpp_text)
        ogrn = check_ogrn(ogrn_text)
        city = city_of(city, address)
        phones = [p for i in self._phone_columns if cells[i] for p in self.phones.parse_cell(cells[i], city)]
        emails = [e for i in self._email_columns if cells[i] for e in check_emails(cells[i])]
        identified = (
            company
            or (inn is not None and inn.valid)
            or any(p.e164 for p in phones)
            or any(e.valid for e in emails)
        )
        unread: list[str] = []

        def read(parse, text: str, field: str, *, date_field: bool = False):
            value = parse(text) if text else None
            # Kept raw, and told: a figure or date silently gone misleads. 1C's empty date is no news.
            if value is None and text.strip() and not (date_field and is_no_date(text)):
                unread.append(f"{field} {text.strip()!r}")
            return value

        def past(text: str, field: str) -> str | None:
            """A date that has happened: one after `latest` (2062 for 2026) would rest the client, or keep it
            with its owner, for decades."""
            day = read(_iso, text, field, date_field=True)
            if day is not None and day > self.latest:
                unread.append(f"{field} {text.strip()!r} ({FUTURE_DATE})")
                return None
            return day

        return RecordRow(
            number, ref, raw,
            status="ok" if identified else "rejected",
            reason=None if identified else NO_IDENTITY,
            name=company.display if company else None,
            name_key=company.key if company else None,
            legal_form=company.legal_form if company else None,
            person=company.person if company else False,
            inn=inn.value if inn else None,
            inn_valid=inn.valid if inn else False,
            inn_note=inn.note if inn else None,
            kpp=kpp.value if kpp else None,
            ogrn=ogrn.value if ogrn else None,
            city=city,
            address=address or None,
            contact=contact or None,
            position=position or None,
            birthday=read(_birthday, birthday, "birthday", date_field=True),
            owner=owner or None,
            assigned_on=past(assigned_on, "assigned_on"),
            channel=channel_name(channel),
            profit=read(parse_money, profit, "profit"),
            revenue=read(parse_money, revenue, "revenue"),
            potential=read(parse_money, potential, "potential"),
            last_purchase=past(last_purchase, "last_purchase"),
            last_contact=past(last_contact, "last_contact"),
            last_result=past(last_result, "last_result"),
            closed=bool(status and _CLOSED.search(status)),
            comment=comment or None,
            unread=", ".join(unread) or None,
        ), phones, emails
