"""Phone numbers from messy cells: split, repair, complete local numbers, then validate, type and place them.

Pure: no I/O. Validation, types and regions come from phonenumbers; this module adds what a dump needs on top
(several numbers and extensions in one cell, Excel damage, Russian local numbers without their area code).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType

from clientbase import geocodes

PHONE_TYPES = ("mobile", "fixed", "toll_free", "voip", "other", "unknown")
PHONE_STATUSES = ("ok", "incomplete", "invalid")


@dataclass(frozen=True, slots=True)
class Phone:
    raw: str  # the whole cell as written: a cell with two numbers gives two Phones with the same raw
    e164: str | None  # '+74951234567'; None when the cell gives no usable number
    extension: str | None  # '118' from 'доб. 118'
    type: str  # one of PHONE_TYPES
    region: str | None  # fixed lines only: city or region in Russian
    country: str | None  # ISO code of the number's country: 'RU', 'BY', ...
    status: str  # one of PHONE_STATUSES
    reason: str | None  # why it is not plainly ok, or what was repaired


# City -> its area codes. phonenumbers' geocoder knows only regions, at 3-4 digit prefixes (7345 is
# 'Тюменская обл.', 7495 'Московская обл.'), so it cannot say which code is a city's. Only certain codes are
# listed: a city missing here leaves a bare local number incomplete, it is never guessed.
CITY_AREA_CODES: dict[str, tuple[str, ...]] = {
    "Москва": ("495", "499"),
    "Санкт-Петербург": ("812",),
    "Новосибирск": ("383",),
    "Екатеринбург": ("343",),
    "Нижний Новгород": ("831",),
    "Казань": ("843",),
    "Челябинск": ("351",),
    "Самара": ("846",),
    "Ростов-на-Дону": ("863",),
    "Уфа": ("347",),
    "Красноярск": ("391",),
    "Пермь": ("342",),
    "Воронеж": ("473",),
    "Краснодар": ("861",),
    "Владивосток": ("423",),
    "Сочи": ("862",),
    "Омск": ("3812",),
    "Волгоград": ("8442",),
    "Саратов": ("8452",),
    "Тюмень": ("3452",),
    "Тольятти": ("8482",),
    "Ижевск": ("3412",),
    "Барнаул": ("3852",),
    "Ульяновск": ("8422",),
    "Иркутск": ("3952",),
    "Хабаровск": ("4212",),
    "Ярославль": ("4852",),
    "Махачкала": ("8722",),
    "Томск": ("3822",),
    "Оренбург": ("3532",),
    "Кемерово": ("3842",),
    "Новокузнецк": ("3843",),
    "Рязань": ("4912",),
    "Астрахань": ("8512",),
    "Набережные Челны": ("8552",),
    "Пенза": ("8412",),
    "Киров": ("8332",),
    "Липецк": ("4742",),
    "Чебоксары": ("8352",),
    "Калининград": ("4012",),
    "Тула": ("4872",),
    "Курск": ("4712",),
    "Севастополь": ("8692",),
    "Симферополь": ("3652",),
    "Ставрополь": ("8652",),
    "Улан-Удэ": ("3012",),
    "Тверь": ("4822",),
    "Магнитогорск": ("3519",),
    "Иваново": ("4932",),
    "Брянск": ("4832",),
    "Белгород": ("4722",),
    "Сургут": ("3462",),
    "Владимир": ("4922",),
    "Чита": ("3022",),
    "Архангельск": ("8182",),
    "Нижний Тагил": ("3435",),
    "Калуга": ("4842",),
    "Смоленск": ("4812",),
    "Волжский": ("8443",),
    "Якутск": ("4112",),
    "Саранск": ("8342",),
    "Череповец": ("8202",),
    "Курган": ("3522",),
    "Вологда": ("8172",),
    "Орёл": ("4862",),
    "Владикавказ": ("8672",),
    "Грозный": ("8712",),
    "Мурманск": ("8152",),
    "Тамбов": ("4752",),
    "Петрозаводск": ("8142",),
    "Стерлитамак": ("3473",),
    "Нижневартовск": ("3466",),
    "Кострома": ("4942",),
    "Новороссийск": ("8617",),
    "Йошкар-Ола": ("8362",),
    "Таганрог": ("8634",),
    "Комсомольск-на-Амуре": ("4217",),
    "Сыктывкар": ("8212",),
    "Нальчик": ("8662",),
    "Шахты": ("8636",),
    "Дзержинск": ("8313",),
    "Орск": ("3537",),
    "Братск": ("3953",),
    "Благовещенск": ("4162",),
    "Энгельс": ("8453",),
    "Ангарск": ("3955",),
    "Великий Новгород": ("8162",),
    "Старый Оскол": ("4725",),
    "Псков": ("8112",),
    "Южно-Сахалинск": ("4242",),
    "Бийск": ("3854",),
    "Прокопьевск": ("3846",),
    "Абакан": ("3902",),
    "Норильск": ("3919",),
    "Петропавловск-Камчатский": ("4152",),
    "Майкоп": ("8772",),
    "Магадан": ("4132",),
    "Черкесск": ("8782",),
    "Назрань": ("8732",),
    "Ханты-Мансийск": ("3467",),
    "Новый Уренгой": ("3494",),
    "Тобольск": ("3456",),
    "Рыбинск": ("4855",),
    "Северодвинск": ("8184",),
    "Сызрань": ("8464",),
    "Альметьевск": ("8553",),
    "Нижнекамск": ("8555",),
    "Березники": ("3424",),
    "Пятигорск": ("8793",),
    "Ухта": ("8216",),
    "Элиста": ("84722",),
    "Кызыл": ("39422",),
    "Горно-Алтайск": ("38822",),
    "Биробиджан": ("42622",),
    "Анадырь": ("42722",),
    "Салехард": ("34922",),
    "Нарьян-Мар": ("81853",),
}

# Other spellings of the cities above; case, ё/е, hyphens, dots and a 'г.' prefix or suffix are folded anyway.
CITY_ALIASES: dict[str, str] = {
    "мск": "Москва",
    "moscow": "Москва",
    "moskva": "Москва",
    "спб": "Санкт-Петербург",
    "питер": "Санкт-Петербург",
    "с петербург": "Санкт-Петербург",
    "санкт петербург": "Санкт-Петербург",
    "saint petersburg": "Санкт-Петербург",
    "st petersburg": "Санкт-Петербург",
    "sankt peterburg": "Санкт-Петербург",
    "екб": "Екатеринбург",
    "yekaterinburg": "Екатеринбург",
    "ekaterinburg": "Екатеринбург",
    "нн": "Нижний Новгород",
    "н новгород": "Нижний Новгород",
    "nizhny novgorod": "Нижний Новгород",
    "novosibirsk": "Новосибирск",
    "kazan": "Казань",
    "челны": "Набережные Челны",
    "петропавловск камчатский": "Петропавловск-Камчатский",
    "tyumen": "Тюмень",
    "krasnodar": "Краснодар",
    "ufa": "Уфа",
    "chelyabinsk": "Челябинск",
    "voronezh": "Воронеж",
    "samara": "Самара",
    "rostov on don": "Ростов-на-Дону",
    "omsk": "Омск",
    "ulan ude": "Улан-Удэ",
    "perm": "Пермь",
}

# The Russian geocoder text is a region and in places wrong (7495 'Московская обл.', 7496 'г. Москва');
# these 3-digit codes each serve one city or oblast, so they are named directly.
_ZONE_NAMES = {
    "495": "Москва", "499": "Москва", "812": "Санкт-Петербург",
    "496": "Московская обл.", "498": "Московская обл.",
}

_TYPES = {
    PhoneNumberType.MOBILE: "mobile",
    PhoneNumberType.FIXED_LINE: "fixed",
    PhoneNumberType.TOLL_FREE: "toll_free",
    PhoneNumberType.VOIP: "voip",
    PhoneNumberType.PREMIUM_RATE: "other",
    PhoneNumberType.SHARED_COST: "other",
    PhoneNumberType.PERSONAL_NUMBER: "other",
    PhoneNumberType.PAGER: "other",
    PhoneNumberType.UAN: "other",
    PhoneNumberType.VOICEMAIL: "other",
}

_CACHE_SIZE = 65_536
_MIN_DIGITS = 5  # shorter digit groups are floors, offices or stray endings, not numbers
_MAX_DIGITS = 15  # E.164 maximum
_RU_NATIONAL = 10

# Odd spaces and dashes from Word and Excel become plain ones; line breaks stay: they separate numbers.
_FOLD = str.maketrans({
    "\u00a0": " ", "\u2007": " ", "\u2009": " ", "\u202f": " ", "\u200b": "", "\t": " ", "\r": "\n",
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-", "\u2212": "-",
    "\uff08": "(", "\uff09": ")", "\uff0b": "+",
})
_HAS_DIGIT = re.compile(r"[0-9]")
_EXCEL_FLOAT = re.compile(r"(?<=[0-9]{10})\.0+(?![0-9])")  # 79161234567.0: a number stored as a float
_EXCEL_SCIENTIFIC = re.compile(r"\+?([0-9])(?:[.,]([0-9]+))?[eE]\+?([0-9]{1,2})")
# An extension marker binds the digits after it to the number before it, even across a comma.
_TOKENS = re.compile(
    r"(?<![^\W\d_])(?:доб\w*|вн(?:утр\w*)?|ext\w*|x|#)\s*[.:№]?\s*(?P<ext>[0-9]{1,6})(?![0-9])"
    r"|(?P<run>\+?[ (]*[0-9][0-9() .\-]*)",
    re.IGNORECASE,
)
_NON_DIGITS = re.compile(r"[^0-9]+")
_CHUNK_GAP = re.compile(r"(?<=[0-9)]) +(?=[0-9(])")  # where a space may end one number and start the next
_CITY_END = re.compile(r"[,;(]")  # 'Москва, ул. Тверская' or 'Тюмень (центр)'
_CITY_JUNK = re.compile(r"[\s.\-]+")
_CITY_PREFIX = re.compile(r"^(?:г|гор|город) (?=\w)")
_CITY_SUFFIX = re.compile(r"(?<=\w) (?:г|гор|город)$")


def _lookup_key(city: str) -> str:
    key = _CITY_END.split(city, maxsplit=1)[0].casefold().replace("ё", "е")
    key = _CITY_JUNK.sub(" ", key).strip()
    return _CITY_SUFFIX.sub("", _CITY_PREFIX.sub("", key))


_CITY_INDEX: dict[str, tuple[str, tuple[str, ...]]] = {
    **{_lookup_key(name): (name, codes) for name, codes in CITY_AREA_CODES.items()},
    **{_lookup_key(alias): (name, CITY_AREA_CODES[name]) for alias, name in CITY_ALIASES.items()},
}
# Codes of four and five digits each belong to one town, so they name it better than the geocoder's region.
_CODE_NAMES = {
    **{code: name for name, codes in CITY_AREA_CODES.items() for code in codes if len(code) > 3},
    **_ZONE_NAMES,
}


def known_region(code: str) -> bool:
    """Whether phonenumbers knows the country (RU, BY...): under an unknown one every number without +CC is invalid."""
    return code.upper() in phonenumbers.SUPPORTED_REGIONS


@lru_cache(maxsize=1 << 12)  # a million clients name a few thousand cities
def area_codes_for_city(city: str | None) -> tuple[str, ...]:
    """The area codes of a Russian city: 'Тюмень' -> ('3452',), 'г. Москва' -> ('495', '499'); () if unknown,
    or if a region written after it is not the city's own: `Киров (Калужская обл.)` is a town of Kaluga's."""
    found = _CITY_INDEX.get(_lookup_key(city)) if city else None
    if not found:
        return ()
    parts = _CITY_END.split(city, maxsplit=1)
    written = _region_stems(parts[1]) if len(parts) > 1 else set()
    if written and (own := _own_region_stems(found[0])) and not written & own:
        return ()
    return found[1]


# Words that make a part of a city's text a region's name (`Калужская обл.`, `Республика Татарстан`). Not
# `АО` nor `округ`: Moscow's okrugs (`Москва, Юго-Западный АО`) are parts of the city.
_REGION_WORDS = frozenset("обл область области край края респ республика республики".split())
_TEXT_PART = re.compile(r"[,;()]")
_RUSSIAN_WORD = re.compile(r"[а-яё]+(?:-[а-яё]+)*")  # `карачаево-черкесская` is one
_STEM = 4  # letters that tell regions apart in any case: `калужская`, `калужской` -> `калу`; `омская`, `омской`
# A region's other names, by stem: `Республика Тыва` is also written `Тува`.
_SAME_REGION = {"тыва": ("тува",), "саха": ("якут",), "чече": ("чечн",)}


def _region_stems(text: str) -> set[str]:
    """The stems of the region `text` names (`Калужская обл.` -> {'калу'}): the two words on either side of a
    region word in one part of it, as the geocoder writes `Республика Северная Осетия - Алания` and people
    `Северная Осетия - Алания Респ.`; `Кировский район Калужской области` names Kaluga's region, not Kirov's.
    Empty when it names none."""
    stems = set()
    for part in _TEXT_PART.split(text.casefold().replace("ё", "е")):
        words = _RUSSIAN_WORD.findall(part)
        for k, word in enumerate(words):
            if word in _REGION_WORDS:
                stems.update(other[:_STEM] for other in words[max(0, k - 2):k + 3]
                             if other not in _REGION_WORDS and len(other) > 2)
    return stems


@lru_cache(maxsize=None)
def _own_region_stems(city: str) -> frozenset[str]:
    """The stems of the regions the geocoder gives a listed city's area codes, and their other names; empty
    when it names no region, only a city or an okrug (`г. Санкт-Петербург`): then any region written goes."""
    stems = {stem for code in CITY_AREA_CODES[city] for stem in _region_stems(
        geocodes.description(phonenumbers.parse("+7" + code.ljust(_RU_NATIONAL, "0"))))}
    return frozenset(stems.union(*(_SAME_REGION.get(stem, ()) for stem in stems)))


def is_known_city(text: str) -> bool:
    """Whether the text is one of the cities listed here, however written: `Москва`, `СПб`, `г. Казань`."""
    return _lookup_key(text) in _CITY_INDEX


def _city_name(city: str) -> str:
    found = _CITY_INDEX.get(_lookup_key(city))
    return found[0] if found else city.strip()


@lru_cache(maxsize=None)  # a million records name a few thousand cities; a run reads each once
def city_key(city: str | None) -> str | None:
    """What cities are compared by, in clustering and in a client's records: `Москва г`, `Moscow` and `г. Москва`
    are one city, as the phones read them; another place is its text, case, ё and spaces aside."""
    return " ".join((listed_city(city) or city).casefold().replace("ё", "е").split()) if city else None


def listed_city(text: str) -> str | None:
    """The usual name of the city listed here that the whole text names, however written (`СПб`, `Moscow`,
    `Москва г`, `Ростов на Дону`); None when it names another place or more (`Киров (Калужская обл.)` is a
    town of Kaluga's, not Kirov; `Самара; Тольятти` is two)."""
    if _CITY_END.search(text):
        return None
    found = _CITY_INDEX.get(_lookup_key(text))
    return found[0] if found else None


def _is_straight_run(digits: str) -> bool:
    return digits in "01234567890" or digits in "09876543210"


def _is_placeholder(national: str) -> bool:
    """A whole number typed to fill a mandatory field: one digit throughout, a straight run such as 1234567890,
    or a subscriber part of zeros. A repeated subscriber part alone is no sign: 777-77-77 and 555-55-55 are
    real numbers, sought after in Russia."""
    return len(set(national)) == 1 or _is_straight_run(national) or national.endswith("0000000")


@dataclass(slots=True)
class _Candidate:
    digits: str
    plus: bool
    run: str  # as written, to split it again when it holds several numbers
    extension: str | None


class PhoneNormaliser:
    """Turns phone cells into Phones; one instance per ingest, results cached per (cell, city)."""

    def __init__(self, default_region: str = "RU", default_area_code: str | None = None) -> None:
        self.default_region = default_region.upper()
        self.default_area_code = _NON_DIGITS.sub("", default_area_code or "") or None
        self._cached = lru_cache(maxsize=_CACHE_SIZE)(self._parse)

    def __getstate__(self) -> tuple[str, str | None]:
        # Sent to worker processes: the settings travel, each process keeps its own cache.
        return self.default_region, self.default_area_code

    def __setstate__(self, state: tuple[str, str | None]) -> None:
        self.__init__(*state)

    def parse_cell(self, cell: str | None, city: str | None = None) -> list[Phone]:
        """Every number in the cell; [] when it holds no digit at all. Unusable numbers come back invalid or
        incomplete with a reason, never dropped."""
        if not cell:
            return []
        return list(self._cached(cell, city or None))

    def _parse(self, cell: str, city: str | None) -> tuple[Phone, ...]:
        text = cell.translate(_FOLD).strip().lstrip("'’`").strip()
        if not _HAS_DIGIT.search(text):
            return ()
        if m := _EXCEL_SCIENTIFIC.fullmatch(text):
            return (self._from_scientific(cell, m, city),)
        text = _EXCEL_FLOAT.sub("", text)

        candidates: list[_Candidate] = []
        orphan_extension = None
        for m in _TOKENS.finditer(text):
            if m["ext"]:
                if candidates and candidates[-1].extension is None:
                    candidates[-1].extension = m["ext"]
                else:
                    orphan_extension = orphan_extension or m["ext"]
            elif len(digits := _NON_DIGITS.sub("", run := m["run"].rstrip(" (.-"))) >= _MIN_DIGITS:
                # 'доб. 118 8-495-...': an extension written first goes with the number after it.
                candidates.append(_Candidate(digits, run.startswith("+"), run, orphan_extension))
                orphan_extension = None

        phones = [phone for candidate in candidates for phone in self._phones(cell, candidate, city)]
        if phones:
            return tuple(phones)
        reason = "only an extension, no number" if orphan_extension else "too short"
        return (_unusable(cell, "invalid", reason, orphan_extension),)

    def _phones(self, cell: str, candidate: _Candidate, city: str | None) -> list[Phone]:
        """One number, or several when spaces alone separate them ('741-22-19 8-905-111-20-30')."""
        phones = [self._judge(cell, candidate.digits, candidate.plus, city)]
        if phones[0].status != "ok" and len(candidate.digits) > 11:
            phones = self._split(cell, _CHUNK_GAP.split(candidate.run), city) or phones
        if candidate.extension:
            # The extension was written after the last number.
            phones[-1] = replace(phones[-1], extension=candidate.extension)
        return phones

    def _split(self, cell: str, chunks: list[str], city: str | None) -> list[Phone]:
        """Greedy, longest first: each piece must be a valid number, or a local number written as one chunk;
        short stray groups ('2' of '2 этаж', '(118)') are skipped and noted."""
        pieces: list[Phone] = []
        stray: list[str] = []
        start = 0
        while start < len(chunks):
            for end in range(len(chunks), start, -1):
                digits = _NON_DIGITS.sub("", "".join(chunks[start:end]))
                if not _MIN_DIGITS <= len(digits) <= _MAX_DIGITS:
                    continue
                phone = self._judge(cell, digits, chunks[start].startswith("+"), city)
                if phone.status == "ok" or (end - start == 1 and len(digits) <= 7):
                    pieces.append(phone)
                    start = end
                    break
            else:
                digits = _NON_DIGITS.sub("", chunks[start])
                if len(digits) >= _MIN_DIGITS:
                    return []
                stray.append(digits)
                start += 1
        if stray and pieces:
            note = "stray digits ignored: " + " ".join(d for d in stray if d)
            pieces = [_noted(phone, note) for phone in pieces]
        return pieces if len(pieces) > 1 or stray else []

    def _from_scientific(self, cell: str, m: re.Match, city: str | None) -> Phone:
        """Excel shows long numbers as 7.91612E+10 and keeps only those digits: accept it only when none were lost."""
        written, exponent = m[1] + (m[2] or ""), int(m[3])
        if written[exponent + 1:].strip("0"):
            return _unusable(cell, "invalid", "not a phone number: a fraction")
        if len(written) < exponent + 1:
            return _unusable(cell, "invalid", "Excel scientific notation lost digits")
        phone = self._judge(cell, written[:exponent + 1], False, city)
        return _noted(phone, "read from Excel scientific notation") if phone.status == "ok" else phone

    def _judge(self, cell: str, digits: str, plus: bool, city: str | None) -> Phone:
        if len(digits) > _MAX_DIGITS:
            return _unusable(cell, "invalid", "too long")
        if self.default_region != "RU":
            return self._judge_generic(cell, digits, plus)
        if plus:
            if not digits.startswith("7"):
                phone = self._international(cell, digits)
                if phone.status == "ok" or not (len(digits) == 11 and digits.startswith("8")):
                    return phone
                return self._russian(cell, digits[1:], "'+8' read as trunk prefix 8")
            national = digits[1:]
            if len(national) == 11 and national.startswith("8"):
                return self._russian(cell, national[1:], "trunk prefix 8 after +7 dropped")
            return self._russian(cell, national)
        if len(digits) == 11 and digits[0] in "78":
            return self._russian(cell, digits[1:])
        if len(digits) == _RU_NATIONAL:
            phone = self._russian(cell, digits)
            if phone.status == "invalid" and digits.startswith("8"):
                # '8-916-123-45-6': a trunk prefix and nine digits, not a national number.
                return replace(phone, reason="too short")
            return phone
        if len(digits) <= 7:
            return self._local(cell, digits, city)
        if len(digits) > 11 and digits.startswith("810"):
            # 810 is the Russian international prefix: 8-10-375-...
            return self._international(cell, digits[3:])
        if len(digits) >= 11:
            phone = self._international(cell, digits)
            if phone.status != "ok":
                return _unusable(cell, "invalid", "too long")
            return _noted(phone, "read as international: no '+'")
        return _unusable(cell, "invalid", "too short")

    def _russian(self, cell: str, national: str, note: str | None = None) -> Phone:
        if len(national) != _RU_NATIONAL:
            return _unusable(cell, "invalid", "too short" if len(national) < _RU_NATIONAL else "too long")
        if _is_placeholder(national):
            return _unusable(cell, "invalid", "placeholder")
        kind, region, country = _russian_range(national[:5])
        if kind is None:
            return _unusable(cell, "invalid", _join("not in the numbering plan", note))
        return Phone(cell, "+7" + national, None, kind, region, country, "ok", note)

    def _local(self, cell: str, digits: str, city: str | None) -> Phone:
        """A number written without its area code: complete it only when the city leaves no choice."""
        # Before any area code: a straight run such as 1234567 (DOMAIN's own example) or all one digit was typed
        # to fill a field: no local number to complete. With its area code written, 777-77-77 is a real number.
        if _is_placeholder(digits):
            return _unusable(cell, "invalid", "placeholder")
        code_length = _RU_NATIONAL - len(digits)
        codes = area_codes_for_city(city)
        fitting = [code for code in codes if len(code) == code_length]
        default = self.default_area_code
        if len(fitting) == 1:
            return self._russian(cell, fitting[0] + digits,
                                 f"area code {fitting[0]} added from city {_city_name(city)}")
        if default and len(default) == code_length and (not city or default in fitting):
            return self._russian(cell, default + digits, f"area code {default} added (default area code)")
        if not city:
            reason = "no area code and no city"
        elif not codes:
            reason = f"no area code: area code of {city.strip()} unknown"
        elif fitting:
            reason = f"no area code: {_city_name(city)} has several ({', '.join(fitting)})"
        else:
            reason = (f"no area code: a {len(digits)}-digit local number does not fit "
                      f"{_city_name(city)} ({', '.join(codes)})")
        return _unusable(cell, "incomplete", reason)

    def _international(self, cell: str, digits: str) -> Phone:
        try:
            number = phonenumbers.parse("+" + digits)
        except NumberParseException:
            return _unusable(cell, "invalid", "unknown country code")
        national = str(number.national_number)
        if _is_placeholder(national):
            return _unusable(cell, "invalid", "placeholder")
        return _described(cell, number, phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))

    def _judge_generic(self, cell: str, digits: str, plus: bool) -> Phone:
        """Outside Russia phonenumbers alone reads the number; local numbers are not completed."""
        if plus:
            return self._international(cell, digits)
        try:
            number = phonenumbers.parse(digits, self.default_region)
        except NumberParseException:
            return _unusable(cell, "invalid", "not a phone number")
        if _is_placeholder(str(number.national_number)):
            return _unusable(cell, "invalid", "placeholder")
        phone = _described(cell, number, phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
        if phone.status == "invalid" and len(digits) <= 7:
            return _unusable(cell, "incomplete", "no area code")
        return phone


def _described(cell: str, number: phonenumbers.PhoneNumber, e164: str, note: str | None = None) -> Phone:
    """Type, country and place of a complete number, or invalid when it is not in the numbering plan."""
    number_type = phonenumbers.number_type(number)  # UNKNOWN exactly when the number is not valid
    if number_type == PhoneNumberType.UNKNOWN:
        return _unusable(cell, "invalid", _join("not in the numbering plan", note))
    country = phonenumbers.region_code_for_number(number)
    national = str(number.national_number)
    if number_type == PhoneNumberType.FIXED_LINE_OR_MOBILE:
        # Russian mobiles are the 9xx range; elsewhere (e.g. North America) the plan does not say.
        kind = ("mobile" if national.startswith("9") else "fixed") if country == "RU" else "unknown"
    else:
        kind = _TYPES[number_type]
    region = None
    if kind in ("fixed", "unknown"):
        region = _region_name(national) if country == "RU" else None
        region = region or _area_description(number) or None
    return Phone(cell, e164, None, kind, region, country, "ok", note)


@lru_cache(maxsize=50_000)
def _russian_range(prefix: str) -> tuple[str | None, str | None, str | None]:
    """Type, region and country (+7 is Russia and Kazakhstan) of numbers starting with these five national
    digits; type None when the range is not in the plan.

    In the +7 plan, validity, type and region are fixed by the first five digits (checked over 150,000
    numbers), so one phonenumbers lookup per range serves every number in it.
    """
    number = phonenumbers.PhoneNumber(country_code=7, national_number=int(prefix + "00000"))
    described = _described("", number, "")
    return (described.type, described.region, described.country) if described.status == "ok" else (None,) * 3


def _area_description(number: phonenumbers.PhoneNumber) -> str:
    """The geocoder's text for a valid number, in Russian. Its data for every country takes 0.8 s to load: only a
    foreign number's pays for it."""
    if number.country_code == 7:
        return geocodes.description(number)
    from phonenumbers import geocoder

    return geocoder.description_for_valid_number(number, "ru")


def _region_name(national: str) -> str | None:
    for length in (5, 4, 3):
        if name := _CODE_NAMES.get(national[:length]):
            return name
    return None


def _unusable(cell: str, status: str, reason: str, extension: str | None = None) -> Phone:
    return Phone(cell, None, extension, "unknown", None, None, status, reason)


def _noted(phone: Phone, note: str) -> Phone:
    return replace(phone, reason=_join(phone.reason, note))


def _join(*notes: str | None) -> str | None:
    return "; ".join(n for n in notes if n) or None
