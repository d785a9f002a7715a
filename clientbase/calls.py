"""Call outcomes from dialer logs, and what they say about a number's health."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from operator import attrgetter

from clientbase.ingest import raw_json, raw_keys
from clientbase.phones import PhoneNormaliser
from clientbase.values import FUTURE_DATE, parse_moment, parse_money

OUTCOMES = ("answered", "no_answer", "busy", "unavailable", "not_registered", "wrong_party", "voicemail")

# Phrases found anywhere in the folded cell (`Абонент не зарегистрирован в сети`, `Number does not exist.`); at
# one place the first that fits wins, so a phrase must come before any shorter one it starts with.
# `Disconnected` alone may be a call cut off as well as a number out of service: it is read as neither.
_WORDS: tuple[tuple[str, str], ...] = (
    ("not_registered", r"не зарегистрирован\w*(?: в сети)?|номер не существует|несуществующий номер|не существует"
                       r"|номер не обслуживается|не обслуживается|not registered|does not exist|doesn t exist"
                       r"|number not in service|not in service|number disconnected|disconnected number"
                       r"|number (?:\w+ ){0,4}(?:has been|is) disconnected"),
    ("wrong_party", r"не тот абонент|неверный номер|неправильный номер|ошибочный номер|ошиблись номером"
                    r"|другой абонент|чужой номер|не та организация|wrong number|wrong party|wrong person"),
    # Asterisk's FAILED (the call could not be placed), CONGESTION (no line or circuit free on the way) and
    # CHANUNAVAIL never reached the callee: like a phone switched off, they say nothing of the number.
    ("unavailable", r"(?:абонент )?не ?доступен|вне зоны(?: действия сети)?|выключен|unavailable|not available"
                    r"|out of reach|switched off|failed|congestion|chanunavail"),
    ("voicemail", r"автоответчик|голосовая почта|voicemail|voice mail|answering machine"),
    ("no_answer", r"нет ответа|(?:абонент )?не отвечает|(?:абонент )?не ответил\w*|без ответа|недозвон|не дозвонил\w*"
                  r"|не удалось дозвониться|вызов не принят|звонок не принят"
                  r"|(?:не берет|не снимает) трубку|трубку не (?:берет|снимает)|no answer|noanswer|not answered"
                  r"|no reply"),
    # A call the callee turned down (сброс) is heard as busy, and is as unknown: it counts like busy.
    ("busy", r"занято|(?:абонент )?занят|линия занята|busy|сброс\w*|сброшен\w*|(?:абонент )?сбросил\w*|отклонен\w*"
             r"|rejected|declined"),
    ("answered", r"отвечен|ответил\w*|разговор|дозвон|соединен\w*|успешн\w*|answered|connected|talk\w*|success\w*"),
    # A negation that no phrase above holds (`Разговор не состоялся`, `Номер не определен`) may turn any word
    # around: such a cell means nothing known.
    ("negated", r"не|нет|not|no|never"),
)
_PHRASES = re.compile(r"\b(?:" + "|".join(f"(?P<{outcome}>{pattern})" for outcome, pattern in _WORDS) + r")\b")
_FOLD = re.compile(r"[^0-9a-zа-я]+")


@lru_cache(maxsize=4096)
def read_outcome(text: str) -> tuple[str | None, str | None]:
    """The outcome a dialer's words mean, in Russian or English, and None; or None and why the cell is not
    read: no known phrase in it, or phrases of two outcomes (`Разговор, не тот абонент`)."""
    folded = _FOLD.sub(" ", text.casefold().replace("ё", "е"))
    found = {m.lastgroup for m in _PHRASES.finditer(folded)}
    if not found or "negated" in found:
        return None, f"unknown outcome {text!r}"
    if len(found) > 1:
        return None, f"ambiguous outcome {text!r}: {' or '.join(sorted(found))}"
    return found.pop(), None


@dataclass(frozen=True, slots=True)
class Call:
    at: str  # ISO, to the precision the log wrote it: `2026-03-01 10:15:00`, `2026-03-01 10:15`, `2026-03-01`
    outcome: str


@dataclass(frozen=True, slots=True)
class Health:
    status: str  # ok | dead | mismatch
    reason: str | None
    decided_on: str | None  # ISO date of the call that decided it
    last_answered: str | None


_at = attrgetter("at")


def judge_calls(calls: Sequence[Call], streak: int, min_days: int) -> Health:
    """Replay a number's calls in time order: the latest decisive event wins.

    An answer makes the number ok and ends any streak; `not_registered` is dead at once and
    `wrong_party` a mismatch at once; `streak` no-answer/busy attempts in a row spanning at least
    `min_days` make it dead, and each such streak after it does again (a re-check of a dead number decides
    on its day). `unavailable` and voicemail prove nothing either way.

    Dialers export overlapping windows and repeat rows, so one real call may come in several rows: rows
    at the same moment, equal to the precision both were written in (`10:15` is `10:15:00` and `10:15:40`;
    `10:15:00` and `10:15:40` are two calls), are one call. Of such rows no-answer and busy are one attempt,
    and an answer outweighs whatever else they say: counted twice, or against its answer, one call could
    kill a live number.
    """
    status, reason, decided = "ok", None, None
    last_answered = answered_at = attempt = None
    run: list[str] = []
    # In ISO order a coarser stamp comes just before the finer ones it may be: `10:15`, `10:15:00`, `10:15:40`.
    for call in sorted(calls, key=_at):
        at, day = call.at, call.at[:10]
        if call.outcome == "answered":
            status, reason, decided, last_answered = "ok", None, day, day
            answered_at, attempt, run = at, None, []
        elif answered_at is not None and at.startswith(answered_at):
            continue
        elif call.outcome == "not_registered":
            status, reason, decided = "dead", "not registered in the network", day
            run = []
        elif call.outcome == "wrong_party":
            status, reason, decided = "mismatch", "someone else answers", day
            run = []
        elif call.outcome in ("no_answer", "busy"):
            if attempt is not None and at.startswith(attempt):
                attempt = at  # the same attempt, its moment now known as finely as written
                if run:
                    run[-1] = at
            else:
                attempt = at
                run.append(at)
            if len(run) >= streak:
                span = (datetime.fromisoformat(run[-1]) - datetime.fromisoformat(run[0])).days
                if span >= min_days:
                    status, decided = "dead", day
                    reason = f"{len(run)} attempts without an answer over {span} days"
                    run = []  # one more unanswered call is not another streak
    return Health(status, reason, decided, last_answered)


# Dialer and telephony export headers, checked in order against the folded header.
CALL_HEADERS: tuple[tuple[str, str], ...] = (
    ("duration", r"(длительность|продолжительность|время разговора|секунд|duration|talk time|billsec|seconds)( .*)?"),
    ("outcome", r"(результат|статус|исход|итог|результат звонка|статус звонка|result|status|outcome|disposition|call result)( .*)?"),
    ("manager", r"(?!.*\b(телефон|номер|phone|number|ext|extension|id|email|mail)\b)((sales|account) )?(оператор|менеджер|сотрудник|ответственный|агент|agent|operator|manager|user|employee)( .*)?"),
    ("time", r"(время|time|время звонка|call time)"),
    ("at", r"(дата и время|дата время|дата звонка|дата|начало|начало звонка|date|datetime|date time|start|start time"
           r"|call date|started at|timestamp|calldate)( .*)?"),  # calldate, dst: an Asterisk or FreePBX CDR
    # The operator's own line (`Номер оператора`, `Agent phone`) is not the number called.
    ("phone", r"(?!.*\b(оператор\w*|менеджер\w*|сотрудник\w*|агент\w*|agent|operator|manager|employee|user)\b)"
              r"(телефон|номер|номер телефона|номер абонента|кому|вызываемый номер|абонент|phone|number|phone number"
              r"|callee|called number|destination|to|dst)( .*)?"),
)
_CALL_COMPILED = tuple((name, re.compile(rf"^(?:{pattern})$")) for name, pattern in CALL_HEADERS)


def map_call_columns(header: Sequence[str]) -> dict[str, int]:
    """Column index of each call field; the first matching column wins."""
    found: dict[str, int] = {}
    for index, title in enumerate(header):
        folded = _FOLD.sub(" ", title.casefold().replace("ё", "е")).strip()
        name = next((n for n, rx in _CALL_COMPILED if folded and rx.match(folded)), None)
        if name and name not in found:
            found[name] = index
    return found


_CLOCK = re.compile(r"^(?:(\d+):)?(\d{1,2}):(\d{2})$")


def parse_duration(text: str) -> int | None:
    """Seconds from `618`, `10:18` or `00:10:18`."""
    if m := _CLOCK.match(text.strip()):
        return int(m[1] or 0) * 3600 + int(m[2]) * 60 + int(m[3])
    seconds = parse_money(text)
    return int(seconds) if seconds is not None and seconds >= 0 else None


@dataclass(slots=True)
class CallRow:
    row: int
    ref: str
    raw: str
    status: str = "ok"
    reason: str | None = None
    phone_raw: str | None = None
    e164: str | None = None
    at: str | None = None
    outcome: str | None = None
    outcome_raw: str | None = None
    manager: str | None = None
    duration: int | None = None


_REQUIRED_CALL_FIELDS = ("phone", "outcome", "at")
_IN_WORDS = {"phone": "phone", "outcome": "outcome", "at": "date and time"}


def missing_call_columns(columns: dict[str, int]) -> str:
    """The columns a call log needs that `columns` (see map_call_columns) lack, in the user's words; "" for none.
    A lone time column holds the moment."""
    return " or ".join(_IN_WORDS[f] for f in _REQUIRED_CALL_FIELDS
                       if f not in columns and not (f == "at" and "time" in columns))


@dataclass
class CallBuilder:
    """Turns the cells of one dialer log's rows into calls."""

    source: str
    header: tuple[str, ...]
    columns: dict[str, int]
    phones: PhoneNormaliser
    latest: str  # the last ISO day a call may have been made on: a later one is a typo (2062 for 2026)

    def __post_init__(self) -> None:
        self.keys = raw_keys(self.header)
        # A lone `Время`/`Time` column holds the date and the time: read it as the moment, once.
        if "at" not in self.columns and "time" in self.columns:
            self.columns = {("at" if name == "time" else name): index for name, index in self.columns.items()}

    def build(self, number: int, cells: tuple[str, ...], rejected: str | None) -> CallRow:
        call = CallRow(row=number, ref=f"{self.source}:{number}", raw=raw_json(self.keys, cells))
        if rejected:
            call.status, call.reason = "rejected", rejected
            return call
        width, columns = len(cells), self.columns

        def cell(name: str) -> str:
            index = columns.get(name)
            return cells[index] if index is not None and index < width else ""

        call.phone_raw = cell("phone") or None
        call.outcome_raw = cell("outcome") or None
        call.manager = cell("manager") or None
        time = _time_of(cell("time"))
        stamp = " ".join(part for part in (_day_of(cell("at")) if time else cell("at"), time) if part)
        call.at = _moment(stamp)
        call.duration = _duration(cell("duration"))
        call.outcome, unread_outcome = read_outcome(call.outcome_raw) if call.outcome_raw else (None, "no outcome")
        found = self.phones.parse_cell(call.phone_raw) if call.phone_raw else []
        call.e164 = next((p.e164 for p in found if p.e164), None)
        if not call.phone_raw:
            call.reason = "no phone"
        elif call.e164 is None:
            call.reason = "not a usable phone"
        elif len({p.e164 for p in found}) > 1:  # an unusable one too: which was called is anyone's guess
            call.reason = "two numbers in one cell"
        elif call.outcome is None:
            call.reason = unread_outcome
        elif call.at is None:
            call.reason = "no date" if not stamp else "unreadable date"
        elif call.at[:10] > self.latest:
            call.reason = FUTURE_DATE
        if call.reason:
            call.status = "rejected"
        return call


# A dialer writes the same minutes and durations over and over: each text is parsed once.
_moment = lru_cache(maxsize=1 << 16)(parse_moment)


# The midnight Excel, 1C and pandas write after a date, with its zone if any: `2026-11-05 00:00:00+05:00`,
# `05.11.2026 0:00:00`.
_MIDNIGHT = re.compile(r"[ T]0?0:00(?::00(?:[.,]0+)?)?(?:\s*(?:Z|UTC|GMT|[+-]\d\d(?::?\d\d)?))?$", re.IGNORECASE)


_DAY_FRACTION = re.compile(r"^0?[.,]\d+$|^0$")  # a time of day as Excel keeps it: 0.4270833 is 10:15


@lru_cache(maxsize=1 << 12)
def _day_of(text: str) -> str:
    """A date cell beside a time column, without a midnight written after the date: the time column's time is
    the call's, on the day written. A date as ISO text (an Excel serial too); a cell that is none as it is."""
    day = _MIDNIGHT.sub("", text.strip())
    return parse_moment(day) or day


@lru_cache(maxsize=1 << 12)
def _time_of(text: str) -> str:
    """A time cell beside a date column: Excel's fraction of a day as HH:MM:SS, any other cell as it is."""
    if not _DAY_FRACTION.match(text.strip()):
        return text
    seconds = min(round(float(text.strip().replace(",", ".")) * 86400), 86399)  # not past the day's last second
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


@lru_cache(maxsize=1 << 12)
def _duration(text: str) -> int | None:
    return parse_duration(text)
