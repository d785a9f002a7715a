#!/usr/bin/env python3
"""Seeded generator of realistic, messy client-base dumps with a known truth.

    python sample_data/generate.py --out DIR [--clients N] [--seed 42] [--calls-per-phone X]

Writes, into DIR (names fixed):

* ``crm_export.xlsx`` (sheets ``Клиенты`` and ``Архив``) for small sets, ``crm_export.csv``
  (UTF-8 with BOM, ``,``) for large ones (``--crm-format`` / ``--xlsx`` override);
* ``1c_export.csv`` (cp1251, ``;``, CRLF, money ``1 234 567,89``, a trailing ``Итого`` row);
* ``purchased_base.csv`` (UTF-8, ``,``; a bought list, mostly companies not in the CRM);
* ``dialer_log.csv`` (UTF-8, ``;``; call outcomes over the 60 days before the as-of date);
* ``truth.csv`` (``source,row,entity_id`` for every data row of the three client files; the
  entity id is empty for rows that belong to no company: junk rows and the ``Итого`` row).

``--clients N`` is the number of real-world companies in the generated world. About 62 % of
them are in the CRM, the rest only in 1C and/or the purchased list; with duplicates, branches
and junk the three client files hold about 1.3 x N rows, and the dialer log about
``calls-per-phone`` x (number of phones written into those files) rows.

Everything is derived from ``random.Random`` streams seeded from ``--seed`` and from fixed word
lists in this file (no Faker, no ``hash()``, no transcendental floats), so a seed gives the same
bytes on every machine and Python >= 3.11. Rows are written as they are made (duplicates wait in a
small heap to be written further down the file); only the truth entity ids (an int array) and the
dialer calls (one packed int per call, to sort them by time) are held until the end.

The defaults (150 companies, seed 42) make the set committed in sample_data/; regenerate it with
``python sample_data/generate.py --out sample_data`` (tests/test_sample_data.py checks it is current).

Importable: ``generate(out, clients, seed) -> dict`` with the counts, paths and mess statistics.
"""
from __future__ import annotations

import argparse
import csv
import heapq
import json
import math
import os
import random
import sys
import time
from array import array
from bisect import bisect
from datetime import date, datetime, timedelta
from operator import mul
from pathlib import Path

AS_OF = date(2026, 11, 20)
SAMPLE_SEED = 42          # the committed sample set: generate(sample_data/, SAMPLE_CLIENTS, SAMPLE_SEED)
SAMPLE_CLIENTS = 150
DEFAULT_CALLS_PER_PHONE = 1.0
XLSX_MAX_CLIENTS = 20_000  # above this the CRM dump is written as CSV unless --xlsx

CRM_XLSX = "crm_export.xlsx"
CRM_CSV = "crm_export.csv"
ONEC_CSV = "1c_export.csv"
PURCHASED_CSV = "purchased_base.csv"
DIALER_CSV = "dialer_log.csv"
TRUTH_CSV = "truth.csv"
SHEET_MAIN = "Клиенты"
SHEET_ARCHIVE = "Архив"

CRM_HEADER = ["Компания", "ИНН", "КПП", "Город", "Телефоны", "Email", "Контактное лицо", "Должность",
              "Дата рождения", "Ответственный", "Дата назначения", "Канал", "Прибыль", "Потенциал",
              "Дата последней покупки", "Дата последнего контакта", "Комментарий"]
ONEC_HEADER = ["Контрагент", "ИНН", "КПП", "Телефон", "Адрес", "Менеджер", "Сумма продаж",
               "Дата последней отгрузки"]
PURCHASED_HEADER = ["Company", "INN", "City", "Phone", "Email", "Website"]
DIALER_HEADER = ["Телефон", "Дата и время", "Результат", "Оператор", "Длительность"]

# Membership flags of an entity.
IN_CRM, IN_1C, IN_PURCHASED = 1, 2, 4

# Role bits of an entity (decided up front so that small sets still show every case).
R_CRM_DUP = 1            # a second CRM row with another spelling
R_CRM_DUP_CONFLICT = 2   # ... held by another manager
R_BRANCH = 4             # a branch row: same INN, another KPP
R_ARCHIVE = 8            # its only CRM row is on the "Архив" sheet
R_ARCHIVE_DUP = 16       # an old row on "Архив" besides the current one
R_1C_CONFLICT = 32       # 1C names another manager than the CRM
R_1C_DUP = 64            # the counterparty exists twice in 1C
R_PURCHASED_DUP = 128    # twice in the purchased list
R_HUB = 256              # sits in a business centre whose reception phone it lists
R_SAME_NAME = 512        # has the same name as another company in another city (other INN)
R_LOSS = 1024            # a loss-making client (negative profit: class E)

# --------------------------------------------------------------------------------------------
# Reference tables
# --------------------------------------------------------------------------------------------


class City:
    __slots__ = ("idx", "name", "weight", "codes", "offices", "postal", "region", "mobile",
                 "variants", "latin", "tag", "regnum")

    def __init__(self, name, weight, codes, offices, postal, region, mobile, variants, latin, tag, regnum):
        self.name, self.weight, self.codes, self.offices = name, weight, codes, offices
        self.postal, self.region, self.mobile, self.variants = postal, region, mobile, variants
        self.latin, self.tag, self.regnum = latin, tag, regnum
        self.idx = 0


def _offices(*spans):
    out = []
    for span in spans:
        if isinstance(span, tuple):
            out.extend(f"{x:04d}" for x in range(span[0], span[1] + 1))
        else:
            out.append(f"{span:04d}")
    return tuple(out)


# Area codes are the real ones; 4-digit codes (Тюмень 3452, Омск 3812, Улан-Удэ 3012) have 6-digit
# local numbers. Tax-office codes (the first 4 digits of INN and KPP) are real codes of the region:
# regions 02 (Уфа) and 03 (Улан-Удэ) give INNs with a leading zero that Excel loses.
CITIES = [
    City("Москва", 24, ("495", "499"), _offices((7701, 7736), 7743, 7746, 7751), ("1",), "",
         ("903", "905", "909", "915", "916", "917", "925", "926", "977", "985", "999"),
         ("г. Москва", "г.Москва", "москва", "МОСКВА", "Москва г"), "Moscow", "msk", "77"),
    City("Санкт-Петербург", 11, ("812",), _offices((7801, 7842)), ("19",), "",
         ("901", "904", "911", "921", "931", "951", "952", "981"),
         ("СПб", "С.-Петербург", "Санкт Петербург", "г. Санкт-Петербург", "Спб"), "Saint Petersburg", "spb", "78"),
    City("Новосибирск", 5, ("383",), _offices((5401, 5406), 5410), ("630",), "Новосибирская обл",
         ("913", "923", "953", "960", "961", "983"),
         ("г. Новосибирск", "новосибирск", "НОВОСИБИРСК"), "Novosibirsk", "nsk", "54"),
    City("Екатеринбург", 6, ("343",), _offices((6658, 6662), (6670, 6672), 6678, 6679, 6685, 6686), ("620",),
         "Свердловская обл", ("902", "908", "912", "922", "932", "950", "982", "992"),
         ("г. Екатеринбург", "Екатеринбург г", "ЕКАТЕРИНБУРГ"), "Yekaterinburg", "ekb", "66"),
    City("Казань", 5, ("843",), _offices((1655, 1660)), ("420",), "Респ Татарстан",
         ("917", "927", "937", "953", "960", "965", "987"),
         ("г. Казань", "казань", "КАЗАНЬ"), "Kazan", "kzn", "16"),
    City("Нижний Новгород", 4, ("831",), _offices((5256, 5263)), ("603",), "Нижегородская обл",
         ("910", "920", "950", "951", "952", "987", "999"),
         ("Н. Новгород", "Нижний новгород", "г. Нижний Новгород"), "Nizhny Novgorod", "nn", "52"),
    City("Самара", 4, ("846",), _offices((6311, 6319)), ("443",), "Самарская обл",
         ("902", "908", "917", "927", "937", "960", "967", "987"),
         ("г. Самара", "самара", "САМАРА"), "Samara", "smr", "63"),
    City("Тюмень", 8, ("3452",), _offices((7202, 7204)), ("625",), "Тюменская обл",
         ("904", "912", "919", "922", "932", "961", "963", "982"),
         ("г. Тюмень", "тюмень", "ТЮМЕНЬ", "Тюмень г"), "Tyumen", "tmn", "72"),
    City("Краснодар", 6, ("861",), _offices((2308, 2312)), ("350",), "Краснодарский край",
         ("918", "928", "938", "961", "962", "964", "988", "989"),
         ("г. Краснодар", "краснодар", "КРАСНОДАР"), "Krasnodar", "krd", "23"),
    City("Воронеж", 4, ("473",), _offices((3661, 3666)), ("394",), "Воронежская обл",
         ("903", "905", "909", "919", "920", "950", "951", "952"),
         ("г. Воронеж", "воронеж", "ВОРОНЕЖ"), "Voronezh", "vrn", "36"),
    City("Уфа", 5, ("347",), _offices((272, 278)), ("450",), "Респ Башкортостан",
         ("917", "927", "937", "960", "961", "963", "987"),
         ("г. Уфа", "уфа", "УФА"), "Ufa", "ufa", "02"),
    City("Ростов-на-Дону", 4, ("863",), _offices((6161, 6168)), ("344",), "Ростовская обл",
         ("903", "904", "918", "928", "938", "951", "961", "988", "989"),
         ("Ростов", "Ростов на Дону", "г. Ростов-на-Дону"), "Rostov-on-Don", "rnd", "61"),
    City("Челябинск", 4, ("351",), _offices((7447, 7453)), ("454",), "Челябинская обл",
         ("904", "908", "912", "922", "951", "952", "968", "982"),
         ("г. Челябинск", "челябинск", "ЧЕЛЯБИНСК"), "Chelyabinsk", "chel", "74"),
    City("Пермь", 3, ("342",), _offices((5902, 5908)), ("614",), "Пермский край",
         ("902", "912", "919", "922", "952", "958", "982"),
         ("г. Пермь", "пермь", "ПЕРМЬ"), "Perm", "perm", "59"),
    City("Омск", 3, ("3812",), _offices((5501, 5507)), ("644",), "Омская обл",
         ("904", "913", "923", "950", "951", "960", "962", "983"),
         ("г. Омск", "омск", "ОМСК"), "Omsk", "omsk", "55"),
    City("Улан-Удэ", 3, ("3012",), _offices(323, 326, 327), ("670",), "Респ Бурятия",
         ("902", "914", "924", "950", "951", "964", "983", "999"),
         ("г. Улан-Удэ", "Улан-удэ", "УЛАН-УДЭ"), "Ulan-Ude", "uu", "03"),
]
for _i, _c in enumerate(CITIES):
    _c.idx = _i
MOSCOW = 0

# Legal forms: (short, weight, long form, Latin look-alike).
FORMS = [
    ("ООО", 660, "Общество с ограниченной ответственностью", "OOO"),
    ("ИП", 140, "Индивидуальный предприниматель", "ИП"),
    ("АО", 70, "Акционерное общество", "AO"),
    ("ЗАО", 30, "Закрытое акционерное общество", "3AO"),
    ("ОАО", 20, "Открытое акционерное общество", "OAO"),
    ("ПАО", 15, "Публичное акционерное общество", "ПAO"),
    ("МУП", 15, "Муниципальное унитарное предприятие", "MУП"),
    ("ГУП", 10, "Государственное унитарное предприятие", "ГУП"),
    ("АНО", 10, "Автономная некоммерческая организация", "AHO"),
]
F_OOO, F_IP = 0, 1

PREFIXES = ("Строй", "Техно", "Агро", "Мед", "Торг", "Инвест", "Сиб", "Урал", "Волга", "Нефте", "Промо",
            "Электро", "Авто", "Мега", "Евро", "Альфа", "Вега", "Эко", "Био", "Гидро", "Энерго", "Тепло",
            "Метал", "Хим", "Фарм", "Лес", "Кабель", "Пласт", "Полимер", "Спец", "Проф", "Мастер",
            "Комфорт", "Дом", "Сан", "Кров", "Фасад", "Стекло", "Бетон", "Транс", "Логи", "Инфо",
            "Телеком", "Нева", "Дон", "Кама", "Север", "Юг", "Балт", "Прим", "Вент", "Термо", "Гео",
            "Аква", "Стиль", "Декор", "Интер", "Оптим", "Вектор")
SUFFIXES = ("Сервис", "Маркет", "Трейд", "Снаб", "Комплект", "Холдинг", "Групп", "Лайн", "Пром",
            "Ресурс", "Систем", "Торг", "Альянс", "Мир", "Центр", "Проект", "Монтаж", "Стандарт",
            "Логистик", "Инвест", "Строй", "Техника", "Опт", "Снабжение", "Поставка", "Деталь", "Склад",
            "Импорт", "Партнер", "Капитал", "Тех", "Профи", "Эксперт", "Комплекс", "Сфера", "Дизайн",
            "Маш", "Электрик", "Инжиниринг", "Энерго", "Агро", "Мед", "Фуд", "Тара", "Вент")
MIDS = ("Тех", "Пром", "Строй", "Энерго", "Авто", "Агро", "Снаб", "Торг", "Мет", "Хим", "Эко", "Гео",
        "Транс", "Электро", "Нефть", "Газ", "Мед", "Лес", "Сан", "Спец", "Инж", "Тепло", "Вод", "Пласт")
STANDALONE = ("Ромашка", "Вектор", "Горизонт", "Меридиан", "Рассвет", "Атлант", "Гермес", "Феникс",
              "Квант", "Орион", "Альтаир", "Сириус", "Пегас", "Титан", "Кристалл", "Радуга", "Березка",
              "Ладога", "Байкал", "Алтай", "Ангара", "Енисей", "Волна", "Парус", "Маяк", "Компас",
              "Полюс", "Зенит", "Спутник", "Факел", "Искра", "Импульс", "Прогресс", "Успех", "Триумф",
              "Фортуна", "Гарант", "Оптима", "Максимум", "Премьер", "Лидер", "Эталон", "Статус",
              "Престиж", "Формат", "Контур", "Профиль", "Модуль", "Актив", "Союз", "Династия",
              "Традиция", "Исток", "Родник", "Сезон", "Весна", "Снежинка", "Тайга", "Кедр", "Дубрава",
              "Колос", "Нива", "Урожай", "Хлебороб", "Мельник", "Гурман", "Аромат", "Чайка", "Ласточка",
              "Сокол", "Беркут", "Барс", "Рысь", "Мустанг", "Ирбис", "Аргон", "Кварц", "Гранит",
              "Малахит", "Янтарь", "Рубин", "Изумруд", "Сапфир", "Топаз", "Агат", "Бриз", "Муссон",
              "Пассат", "Норд", "Азимут", "Вертикаль", "Арсенал", "Бастион", "Цитадель", "Олимп",
              "Эверест", "Эльбрус", "Казбек", "Стрела", "Вираж", "Старт", "Финиш", "Магистраль",
              "Перспектива", "Гармония", "Визит", "Велес", "Ярило", "Светоч", "Огонек", "Уголек")


def _similar(a: str, b: str) -> bool:
    return a.lower()[:3] == b.lower()[:3]


# Company base names: tier 1 "Prefix+Suffix" and standalone words, then tier 2 "Prefix+Mid+Suffix".
# Pairs that read badly ("ПрофПрофи") are left out, so each index is a distinct name.
TIER1 = tuple(p + x for p in PREFIXES for x in SUFFIXES if not _similar(p, x)) + STANDALONE
TIER2 = tuple(p + m + x for p in PREFIXES for m in MIDS for x in SUFFIXES
              if not (_similar(p, m) or _similar(m, x) or _similar(p, x)))

KIND_WORDS = ("Торговый дом ", "ТД ", "ПКФ ", "НПО ", "ТК ", "ГК ", "СК ", "ПСК ")
DECORS = (" Плюс", "-М", "-2000", " Про", "-Центр", "+", " 24", "-Урал", " Групп", "-Сибирь")

SURNAMES = ("Иванов", "Смирнов", "Кузнецов", "Попов", "Васильев", "Петров", "Соколов", "Михайлов",
            "Новиков", "Фёдоров", "Морозов", "Волков", "Алексеев", "Лебедев", "Семёнов", "Егоров",
            "Павлов", "Козлов", "Степанов", "Николаев", "Орлов", "Андреев", "Макаров", "Никитин",
            "Захаров", "Зайцев", "Соловьёв", "Борисов", "Яковлев", "Григорьев", "Романов", "Воробьёв",
            "Сергеев", "Кузьмин", "Фролов", "Александров", "Дмитриев", "Королёв", "Гусев", "Киселёв",
            "Ильин", "Максимов", "Поляков", "Сорокин", "Виноградов", "Ковалёв", "Белов", "Медведев",
            "Антонов", "Тарасов", "Жуков", "Баранов", "Филиппов", "Комаров", "Давыдов", "Беляев",
            "Герасимов", "Богданов", "Осипов", "Сидоров", "Матвеев", "Титов", "Марков", "Миронов",
            "Крылов", "Куликов", "Карпов", "Власов", "Мельников", "Денисов", "Гаврилов", "Тихонов",
            "Казаков", "Афанасьев", "Данилов", "Савельев", "Тимофеев", "Фомин", "Чернов", "Абрамов",
            "Мартынов", "Ефимов", "Федотов", "Щербаков", "Назаров", "Калинин", "Исаев", "Быков",
            "Маслов", "Родионов", "Коновалов", "Лазарев", "Воронин", "Климов", "Филатов", "Голубев",
            "Кудрявцев", "Прохоров", "Наумов", "Потапов", "Журавлёв", "Овчинников", "Трофимов",
            "Леонов", "Соболев", "Ермаков", "Колесников", "Гончаров", "Емельянов", "Никифоров",
            "Грачёв", "Котов", "Гришин", "Ефремов", "Архипов", "Громов", "Кириллов", "Малышев",
            "Панов", "Моисеев", "Румянцев", "Акимов", "Кондратьев", "Бирюков", "Горбунов", "Анисимов",
            "Тихомиров", "Галкин", "Лукьянов", "Михеев", "Скворцов", "Юдин", "Белоусов", "Нестеров",
            "Симонов", "Харитонов", "Князев", "Цветков", "Левин", "Воронцов", "Лаптев", "Шубин",
            "Высоцкий", "Соколовский", "Шевченко", "Бондаренко", "Кравченко", "Ковальчук", "Гарипов",
            "Хабибуллин", "Сафин", "Галиев", "Шарипов", "Цыбиков", "Будаев")
MALE = (("Александр", "Александрович", "Александровна"), ("Алексей", "Алексеевич", "Алексеевна"),
        ("Андрей", "Андреевич", "Андреевна"), ("Антон", "Антонович", "Антоновна"),
        ("Артём", "Артёмович", "Артёмовна"), ("Борис", "Борисович", "Борисовна"),
        ("Вадим", "Вадимович", "Вадимовна"), ("Валерий", "Валерьевич", "Валерьевна"),
        ("Василий", "Васильевич", "Васильевна"), ("Виктор", "Викторович", "Викторовна"),
        ("Владимир", "Владимирович", "Владимировна"), ("Владислав", "Владиславович", "Владиславовна"),
        ("Вячеслав", "Вячеславович", "Вячеславовна"), ("Геннадий", "Геннадьевич", "Геннадьевна"),
        ("Георгий", "Георгиевич", "Георгиевна"), ("Дмитрий", "Дмитриевич", "Дмитриевна"),
        ("Евгений", "Евгеньевич", "Евгеньевна"), ("Егор", "Егорович", "Егоровна"),
        ("Иван", "Иванович", "Ивановна"), ("Игорь", "Игоревич", "Игоревна"),
        ("Илья", "Ильич", "Ильинична"), ("Кирилл", "Кириллович", "Кирилловна"),
        ("Константин", "Константинович", "Константиновна"), ("Леонид", "Леонидович", "Леонидовна"),
        ("Максим", "Максимович", "Максимовна"), ("Михаил", "Михайлович", "Михайловна"),
        ("Никита", "Никитич", "Никитична"), ("Николай", "Николаевич", "Николаевна"),
        ("Олег", "Олегович", "Олеговна"), ("Павел", "Павлович", "Павловна"),
        ("Пётр", "Петрович", "Петровна"), ("Роман", "Романович", "Романовна"),
        ("Руслан", "Русланович", "Руслановна"), ("Сергей", "Сергеевич", "Сергеевна"),
        ("Станислав", "Станиславович", "Станиславовна"), ("Степан", "Степанович", "Степановна"),
        ("Тимур", "Тимурович", "Тимуровна"), ("Юрий", "Юрьевич", "Юрьевна"),
        ("Ярослав", "Ярославович", "Ярославовна"), ("Фёдор", "Фёдорович", "Фёдоровна"),
        ("Григорий", "Григорьевич", "Григорьевна"), ("Анатолий", "Анатольевич", "Анатольевна"),
        ("Ринат", "Ринатович", "Ринатовна"), ("Рустам", "Рустамович", "Рустамовна"))
FEMALE = ("Анна", "Мария", "Елена", "Ольга", "Наталья", "Ирина", "Татьяна", "Светлана", "Екатерина",
          "Юлия", "Анастасия", "Марина", "Евгения", "Дарья", "Ксения", "Алина", "Виктория", "Людмила",
          "Галина", "Надежда", "Валентина", "Оксана", "Кристина", "Полина", "Вера", "Любовь", "Яна",
          "Алёна", "Алла", "Лариса", "Инна", "Жанна", "Софья", "Маргарита", "Елизавета", "Диана",
          "Регина", "Эльвира", "Гульнара", "Айгуль", "Лилия", "Нина")

MANAGERS = ("Алексеева Марина", "Белов Дмитрий", "Воронцова Ольга", "Гусев Андрей", "Давыдова Екатерина",
            "Ершов Максим", "Жукова Анна", "Зайцев Игорь", "Ильина Татьяна", "Козлов Сергей",
            "Лебедева Юлия", "Морозов Павел", "Никитина Светлана", "Орлов Евгений", "Петрова Наталья")
MANAGER_WEIGHTS = (14, 9, 8, 8, 7, 7, 7, 6, 6, 6, 5, 5, 5, 4, 3)   # some managers hoard
FORMER_MANAGERS = ("Сидоров Виктор", "Тихонова Ирина")
ROBOT = "Автообзвон"

CHANNELS = ("Розница", "Сети", "Интернет-магазины", "Дилеры", "Конечные потребители", "Тендеры")
CHANNEL_WEIGHTS = (30, 10, 15, 15, 20, 10)
POSITIONS = ("Генеральный директор", "Директор", "Коммерческий директор", "Менеджер по закупкам",
             "Закупщик", "Главный бухгалтер", "Бухгалтер", "Снабженец", "Руководитель отдела снабжения",
             "Владелец", "Администратор", "Заместитель директора", "Главный инженер",
             "Категорийный менеджер", "Офис-менеджер")
COMMENTS = ("Перезвонить после 15:00", "ЛПР в отпуске до конца месяца", "Работают с конкурентом, цены выше на 5%",
            "Просили КП на почту", "Отказ: дорого", "Сменился директор", "Запросили образцы",
            "Тендер в марте", "Не звонить до нового года", "Оплата с отсрочкой 30 дней",
            "Интересует опт от 100 тыс.", "Секретарь не соединяет", "Работают через дилера",
            "Сезонные закупки весной", "Ждут бюджет на 2027", "Покупают у «Петровича»",
            "Конкурент: ТД «Стройресурс»", "Нужна доставка до склада", "Отказ: нет потребности",
            "Обещали вернуться в январе", "Бухгалтерия: сверка за квартал", "ЛПР — собственник",
            "Закупка через головной офис в Москве", "Компания закрыта", "Дубль?")
COMMENT_CLOSED = "Компания закрыта"
ARCHIVE_COMMENTS = ("Архив", "Не работаем с 2023", "Ушли к конкурентам", "Старая карточка",
                    "Перенесено из старой CRM", "Нет ответа, архив")
STREETS = ("ул. Ленина", "ул. Мира", "ул. Советская", "ул. Гагарина", "ул. Кирова", "ул. Пушкина",
           "ул. Октябрьская", "ул. Садовая", "ул. Заводская", "ул. Промышленная", "ул. Строителей",
           "ул. Комсомольская", "пр-т Победы", "ул. Карла Маркса", "ул. Первомайская", "ул. Энергетиков",
           "ул. Железнодорожная", "ул. Чкалова", "ул. Фрунзе", "ул. Свердлова", "ул. Калинина",
           "ул. Луначарского", "ул. Горького", "ул. Молодёжная", "ул. Центральная", "наб. Набережная",
           "ул. Некрасова", "ул. Чехова", "ул. Индустриальная", "ш. Объездное", "пер. Почтовый",
           "б-р Строителей", "ул. Тверская", "ул. Республики", "ул. Мельникайте", "ул. Широтная",
           "ул. Профсоюзная", "Варшавское ш.", "ул. Красная", "пр-т Космонавтов")
FREE_MAIL = ("mail.ru", "yandex.ru", "gmail.com", "bk.ru", "list.ru", "inbox.ru", "rambler.ru", "ya.ru")
FREE_MAIL_WEIGHTS = (35, 30, 12, 6, 6, 4, 4, 3)
COMPANY_LOCALS = ("info", "sales", "office", "zakaz", "zakupki", "mail", "buh", "director", "opt", "snab")
TLDS = ("ru", "ru", "ru", "ru", "com", "su", "net")

PLACEHOLDERS = ("+7 000 000-00-00", "8 (000) 000-00-00", "1234567", "0", "-", "нет", "+7 (111) 111-11-11",
                "8 (999) 999-99-99", "00000000000")
EXTENSIONS = (" доб. {n}", " доб.{n}", " (доб. {n})", " вн. {n}", " ext. {n}", ", доб {n}")
LABEL_PREFIXES = ("касса ", "бухгалтерия: ", "факс ", "моб. ", "приёмная ", "отдел закупок ")
LABEL_SUFFIXES = (" (касса)", " касса", " (факс)", " секретарь", " — склад", " бух.")

# Kinds of mess every set shows: once a third of the companies are made, a kind not seen yet is
# forced at its next chance (small sets would otherwise miss the rarer ones).
MUST_SHOW = ("name_latin", "name_long", "name_typo", "name_form_last", "name_upper", "name_lower", "name_curly",
             "name_city", "name_spaces", "phone_float", "phone_sci", "phone_nbsp", "phone_endash", "phone_apos",
             "phone_dd", "phone_noparen", "phone_short", "phone_p7nosp", "phone_local_6digit", "phone_placeholder",
             "phone_numeric_cell", "phone_person_name", "phone_extension", "phone_label", "inn_invalid",
             "kpp_lost_zero", "city_latin", "channel_variant", "birthday_no_year", "email_invalid")
FORCEABLE_NAME_STYLES = ("latin", "long", "typo", "form_last", "upper", "lower", "curly", "city", "spaces")
FORCEABLE_PHONE_STYLES = ("float", "sci", "nbsp", "endash", "apos", "dd", "noparen", "short", "p7nosp")

# Dialer outcomes.
O_ANSWERED, O_TALK, O_NO_ANSWER, O_BUSY, O_NOT_REG, O_NO_NUMBER, O_UNAVAILABLE, O_WRONG, O_BAD_NUMBER, \
    O_MACHINE = range(10)
OUTCOMES = ("Отвечен", "Разговор", "Нет ответа", "Занято", "Не зарегистрирован в сети",
            "Номер не существует", "Абонент недоступен", "Не тот абонент", "Неверный номер", "Автоответчик")

TRANSLIT = {"а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh", "з": "z",
            "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r",
            "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh",
            "щ": "sch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu", "я": "ya", " ": "-", "-": "-"}

INN_W10 = (2, 4, 10, 3, 5, 9, 4, 6, 8)
INN_W11 = (7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
INN_W12 = (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)


def inn10(body: str) -> str:
    """9 digits -> a valid 10-digit organisation INN."""
    return body + str(sum(map(mul, INN_W10, map(int, body))) % 11 % 10)


def inn12(body: str) -> str:
    """10 digits -> a valid 12-digit sole-trader INN."""
    body += str(sum(map(mul, INN_W11, map(int, body))) % 11 % 10)
    return body + str(sum(map(mul, INN_W12, map(int, body))) % 11 % 10)


def inn_ok(inn: str) -> bool:
    if len(inn) == 10:
        return inn10(inn[:9]) == inn
    if len(inn) == 12:
        return inn12(inn[:10]) == inn
    return False


_TRANSLIT_CACHE: dict[str, str] = {}


def translit(text: str) -> str:
    out = _TRANSLIT_CACHE.get(text)
    if out is None:
        out = "".join(TRANSLIT.get(ch, ch if ch.isascii() and ch.isalnum() else "") for ch in text.lower())
        out = out.strip("-")
        if len(_TRANSLIT_CACHE) < 200_000:
            _TRANSLIT_CACHE[text] = out
    return out


def female(surname: str) -> str:
    if surname.endswith(("ов", "ев", "ёв", "ин", "ын")):
        return surname + "а"
    if surname.endswith("ий"):
        return surname[:-2] + "ая"
    return surname


# --------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------


class Perm:
    """A bijection of range(m) (affine: a*x+b mod m), so counters give unique, scattered values."""

    __slots__ = ("m", "a", "b")

    def __init__(self, m: int, rng: random.Random):
        self.m = m
        while True:
            a = rng.randrange(m // 3 + 1, m)
            if math.gcd(a, m) == 1:
                break
        self.a, self.b = a, rng.randrange(m)

    def __call__(self, x: int) -> int:
        return (self.a * x + self.b) % self.m


class Weighted:
    """Fast weighted choice with a shared rng."""

    __slots__ = ("items", "cum", "total")

    def __init__(self, pairs):
        self.items, self.cum, total = [], [], 0
        for item, weight in pairs:
            total += weight
            self.items.append(item)
            self.cum.append(total)
        self.total = total

    def pick(self, rnd) -> object:
        return self.items[bisect(self.cum, rnd() * self.total)]


def money(kop: int, nbsp: bool = False) -> str:
    """Kopecks -> '1 234 567,89' (1C style)."""
    sign = "-" if kop < 0 else ""
    rub, k = divmod(abs(kop), 100)
    groups = f"{rub:,}".replace(",", "\u00a0" if nbsp else " ")
    return f"{sign}{groups},{k:02d}"


def hms(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class Phone:
    __slots__ = ("digits", "ndc", "sub", "kind", "fate", "used")

    def __init__(self, ndc: str, sub: str, kind: str, fate: str):
        self.ndc, self.sub, self.kind, self.fate = ndc, sub, kind, fate
        self.digits = "7" + ndc + sub
        self.used = False


class Entity:
    __slots__ = ("eid", "city", "form", "kind_word", "base", "decor", "camel", "person", "inn", "kpp",
                 "office", "phones", "main", "mobile", "second", "stale", "hub", "branch", "contact",
                 "position", "birthday", "owner", "assigned", "channel", "profit", "potential",
                 "revenue", "last_purchase", "last_contact", "comment", "domain", "emails", "free_email",
                 "street", "house", "room", "branch_city", "branch_kpp", "roles", "flags", "closed")


class Out:
    """One output table: a CSV file or an xlsx sheet, with its truth column and delayed rows."""

    def __init__(self, source: str, write):
        self.source = source
        self.write_row = write
        self.truth = array("l")
        self.heap: list = []
        self.seq = 0

    def emit(self, row, eid: int) -> None:
        self.write_row(row)
        self.truth.append(eid)

    def later(self, row, eid: int, at: int) -> None:
        self.seq += 1
        heapq.heappush(self.heap, (at, self.seq, row, eid))

    def release(self, upto: int) -> None:
        heap = self.heap
        while heap and heap[0][0] <= upto:
            _, _, row, eid = heapq.heappop(heap)
            self.emit(row, eid)


# --------------------------------------------------------------------------------------------
# The generator
# --------------------------------------------------------------------------------------------


class Generator:
    def __init__(self, clients: int, seed: int, calls_per_phone: float, as_of: date):
        if clients < 1:
            raise ValueError("clients must be >= 1")
        if calls_per_phone < 0:
            raise ValueError("calls-per-phone must be >= 0")
        self.n = clients
        self.seed = seed
        self.as_of = as_of
        self.calls_per_phone = calls_per_phone
        self.rng = random.Random(f"clientbase-sample/{seed}/rows")
        self.crng = random.Random(f"clientbase-sample/{seed}/calls")
        setup = random.Random(f"clientbase-sample/{seed}/setup")
        # randrange(n) is slow; int(random() * n) is as deterministic and 8x faster.
        rnd, crnd = self.rng.random, self.crng.random
        self.rr = lambda n: int(rnd() * n)
        self.crr = lambda n: int(crnd() * n)
        self.stats: dict[str, int] = {}
        self.force: set[str] = set()      # MUST_SHOW kinds still missing once forcing starts

        # Pre-formatted dates, by days before as_of.
        span = 66 * 366
        days = [as_of - timedelta(days=k) for k in range(span)]
        self.d_obj = days
        self.d_ru = [d.strftime("%d.%m.%Y") for d in days]
        self.d_iso = [d.isoformat() for d in days]
        self.d_serial = [(d - date(1899, 12, 30)).days for d in days]
        self.workdays = [k for k in range(1, 61) if days[k].weekday() < 5]

        # Counters and bijections keeping phones, INNs and names unique.
        nc = len(CITIES)
        self.fixed_count = [0] * nc
        self.fixed_perm = [Perm(8_000_000 if len(c.codes[0]) == 3 else 500_000, setup) for c in CITIES]
        self.mobile_count = 0
        self.mobile_perm = Perm(10_000_000, setup)
        self.tollfree_count = 0
        self.tollfree_perm = Perm(8_000_000, setup)
        self.inn_count: dict[str, int] = {}
        self.inn_perm = {o: Perm(100_000, setup) for c in CITIES for o in c.offices}
        self.inn12_perm = {o: Perm(1_000_000, setup) for c in CITIES for o in c.offices}
        self.name_count = [0] * nc
        self.tier1, self.tier2 = len(TIER1), len(TIER2)
        self.name_perm1 = [Perm(self.tier1, setup) for _ in CITIES]
        self.name_perm2 = [Perm(self.tier2, setup) for _ in CITIES]
        self.person_space = len(SURNAMES) * (len(MALE) + len(FEMALE)) * len(MALE)
        self.person_count = [0] * nc
        self.person_perm = [Perm(self.person_space, setup) for _ in CITIES]
        self.mail_count = 0
        self.mail_perm = Perm(1_000_000, setup)

        self.city_pick = Weighted((c.idx, c.weight) for c in CITIES)
        self.form_pick = Weighted((i, f[1]) for i, f in enumerate(FORMS))
        self.manager_pick = Weighted(zip(range(len(MANAGERS)), MANAGER_WEIGHTS))
        self.channel_pick = Weighted(zip(CHANNELS, CHANNEL_WEIGHTS))
        self.freemail_pick = Weighted(zip(FREE_MAIL, FREE_MAIL_WEIGHTS))

        self._plan(setup)
        self.calls: list[int] = []     # one packed int per call, see _emit_calls()
        self.undialed: list[tuple[Phone, int]] = []
        self._scenario_pick = {fate: Weighted(v) for fate, v in self.SCENARIOS.items()}
        self.same_name_of: dict[int, tuple] = {}
        self.hub_phones: dict[int, Phone] = {}
        self.onec_total = 0

    # ---- the world ---------------------------------------------------------------------------

    def _plan(self, rng: random.Random) -> None:
        """Decide which file each company is in, its city and legal form, and the special cases."""
        n = self.n
        rnd = rng.random
        flags = bytearray(n)
        city = bytearray(n)
        form = bytearray(n)
        cpick, fpick = self.city_pick.pick, self.form_pick.pick
        for e in range(n):
            r = rnd()
            if r < 0.62:
                f = IN_CRM
                if rnd() < 0.28:
                    f |= IN_1C
                if rnd() < 0.05:
                    f |= IN_PURCHASED
            else:
                r2 = rnd()
                f = IN_PURCHASED if r2 < 0.78 else IN_1C if r2 < 0.93 else IN_1C | IN_PURCHASED
            flags[e] = f
            city[e] = cpick(rnd)
            form[e] = fpick(rnd)
        if n >= 3 and not any(f & IN_CRM for f in flags):
            flags[0] = IN_CRM
        # At least two companies in all three files, however small the set.
        both = [e for e in range(n) if flags[e] & IN_CRM and flags[e] & IN_1C]
        triple = sum(1 for e in both if flags[e] & IN_PURCHASED)
        lacking = [e for e in both if not flags[e] & IN_PURCHASED]
        for e in rng.sample(lacking, min(len(lacking), max(0, 2 - triple))):
            flags[e] |= IN_PURCHASED
        roles = array("H", bytes(2 * n))

        def choose(eligible, rate, minimum, bit):
            k = min(len(eligible), max(minimum, round(rate * len(eligible))))
            chosen = sorted(rng.sample(eligible, k))
            for e in chosen:
                roles[e] |= bit
            return chosen

        small = n < 5000
        crm = [e for e in range(n) if flags[e] & IN_CRM]
        # Same-name pairs: two CRM companies in different cities, same name, different INN.
        crm_legal = [e for e in crm if form[e] != F_IP]
        pairs = min(len(crm_legal) // 2, max(2, round(0.004 * len(crm_legal))))
        self.pair_b: dict[int, int] = {}      # second of a same-name pair -> first
        if pairs:
            picked = sorted(rng.sample(crm_legal, 2 * pairs))
            for a, b in zip(picked[0::2], picked[1::2]):
                form[a] = form[b] = F_OOO
                choices = [i for i in range(len(CITIES)) if i != city[a]]
                city[b] = choices[rng.randrange(len(choices))]
                roles[a] |= R_SAME_NAME
                roles[b] |= R_SAME_NAME
                self.pair_b[b] = a
        self.pair_a = set(self.pair_b.values())

        choose(crm, 0.03, 2, R_LOSS)
        dups = choose(crm, 0.05, 4, R_CRM_DUP)
        choose(dups, 0.35, 2, R_CRM_DUP_CONFLICT)
        choose([e for e in crm_legal if not roles[e] & R_SAME_NAME], 0.03, 3, R_BRANCH)
        plain = [e for e in crm if not roles[e] & (R_CRM_DUP | R_BRANCH | R_SAME_NAME)]
        archive = choose(plain, 0.10, 6, R_ARCHIVE)
        archive_set = set(archive)
        choose([e for e in plain if e not in archive_set], 0.03, 2, R_ARCHIVE_DUP)
        both = [e for e in crm if flags[e] & IN_1C and not roles[e] & R_ARCHIVE]
        choose(both, 0.15, 3, R_1C_CONFLICT)
        choose([e for e in range(n) if flags[e] & IN_1C], 0.02, 2, R_1C_DUP)
        choose([e for e in range(n) if flags[e] & IN_PURCHASED], 0.01, 1, R_PURCHASED_DUP)

        # Business-centre hubs: 2.5 % of CRM companies sit in one; a hub has 3-8 unrelated tenants.
        self.hub_of: dict[int, int] = {}
        hub_id = 0
        by_city: dict[int, list] = {}
        for e in crm:
            if not roles[e] & (R_SAME_NAME | R_ARCHIVE):
                by_city.setdefault(city[e], []).append(e)
        biggest = max(by_city, key=lambda c: len(by_city[c])) if by_city else None
        for c in sorted(by_city):
            members = by_city[c]
            k = round(0.025 * len(members))
            if small and c == biggest:
                k = max(k, 4)
            if k < 3:
                continue
            chosen = sorted(rng.sample(members, min(k, len(members))))
            rng.shuffle(chosen)
            i = 0
            while i < len(chosen):
                size = rng.randint(3, 8)
                group = chosen[i:i + size]
                if len(group) < 3 and i:
                    hub_id -= 1     # too few left for a hub of their own: join the previous one
                for e in group:
                    self.hub_of[e] = hub_id
                    roles[e] |= R_HUB
                hub_id += 1
                i += size

        # Rows that must exist even in a tiny set: junk rows and one unbalanced quote in 1C.
        def positions(rate, minimum):
            k = min(n, max(minimum, round(rate * n)))
            return set(rng.sample(range(n), k))

        self.junk_crm = positions(0.004, 2)
        self.junk_1c = positions(0.0015, 1)
        self.junk_purchased = positions(0.0015, 1)
        onec = [e for e in range(n) if flags[e] & IN_1C and not roles[e] & R_1C_DUP]
        self.unbalanced = set(rng.sample(onec, min(len(onec), max(1, round(0.001 * len(onec))))))

        self.flags, self.city, self.form, self.roles = flags, city, form, roles
        st = self.stats
        st["entities"] = n
        st["entities_in_crm"] = len(crm)
        st["entities_in_1c"] = sum(1 for f in flags if f & IN_1C)
        st["entities_in_purchased"] = sum(1 for f in flags if f & IN_PURCHASED)
        st["entities_crm_and_1c"] = sum(1 for f in flags if f & IN_CRM and f & IN_1C)
        st["entities_crm_and_purchased"] = sum(1 for f in flags if f & IN_CRM and f & IN_PURCHASED)
        st["same_name_pairs"] = len(self.pair_b)
        st["hub_members"] = len(self.hub_of)
        st["hubs"] = len(set(self.hub_of.values()))

    def _count(self, key: str, k: int = 1) -> None:
        self.stats[key] = self.stats.get(key, 0) + k

    def _forced(self, key: str) -> bool:
        """True (once) if this kind of mess must be shown now."""
        if key in self.force:
            self.force.discard(key)
            return True
        return False

    # ---- allocation of unique values ----------------------------------------------------------

    def fixed(self, c: City, fate: str) -> Phone:
        i = c.idx
        x = self.fixed_perm[i](self.fixed_count[i] % self.fixed_perm[i].m)
        self.fixed_count[i] += 1
        if len(c.codes[0]) == 3:
            ndc = c.codes[0] if len(c.codes) == 1 or self.rng.random() < 0.7 else c.codes[1]
            return Phone(ndc, str(2_000_000 + x), "fixed", fate)
        return Phone(c.codes[0], str(200_000 + x), "fixed", fate)

    def mobile(self, c: City, fate: str) -> Phone:
        x = self.mobile_perm(self.mobile_count % 10_000_000)
        self.mobile_count += 1
        codes = c.mobile
        return Phone(codes[self.rr(len(codes))], f"{x:07d}", "mobile", fate)

    def tollfree(self) -> Phone:
        x = self.tollfree_perm(self.tollfree_count % 8_000_000)
        self.tollfree_count += 1
        return Phone("800", str(2_000_000 + x), "tollfree", "alive")

    def new_inn(self, c: City, ip: bool) -> tuple[str, str]:
        office = c.offices[self.rr(len(c.offices))]
        key = office + ("ip" if ip else "")
        k = self.inn_count.get(key, 0)
        self.inn_count[key] = k + 1
        if ip:
            return inn12(office + f"{self.inn12_perm[office](k % 1_000_000):06d}"), office
        return inn10(office + f"{self.inn_perm[office](k % 100_000):05d}"), office

    def new_base(self, c: City) -> tuple[str, bool]:
        """A company name unique within the city (while the name space lasts)."""
        i = c.idx
        k = self.name_count[i]
        self.name_count[i] += 1
        t1, t2 = self.tier1, self.tier2
        suffix = ""
        if k >= t1 + t2:
            suffix = f"-{k // (t1 + t2) + 1}"
            k %= t1 + t2
        if k < t1:
            x = self.name_perm1[i](k)
            return TIER1[x] + suffix, x < t1 - len(STANDALONE)
        return TIER2[self.name_perm2[i](k - t1)] + suffix, True

    def new_person(self, c: City | None) -> tuple[str, str, str, bool]:
        """(surname, first name, patronymic, is_female); unique per city when c is given."""
        if c is None:
            x = self.rr(self.person_space)
        else:
            i = c.idx
            x = self.person_perm[i](self.person_count[i] % self.person_space)
            self.person_count[i] += 1
        nm = len(MALE)
        surname = SURNAMES[x % len(SURNAMES)]
        x //= len(SURNAMES)
        first = x % (nm + len(FEMALE))
        father = MALE[x // (nm + len(FEMALE))]
        if first < nm:
            return surname, MALE[first][0], father[1], False
        return female(surname), FEMALE[first - nm], father[2], True

    # ---- one company ---------------------------------------------------------------------------

    def entity(self, eid: int) -> Entity:
        rng = self.rng
        rnd = rng.random
        e = Entity()
        e.eid = eid
        e.flags = self.flags[eid]
        e.roles = self.roles[eid]
        c = CITIES[self.city[eid]]
        e.city = c
        e.form = self.form[eid]
        ip = e.form == F_IP
        e.kind_word = e.decor = ""
        e.person = None
        e.camel = False
        if ip:
            e.person = self.new_person(c)
            e.base = " ".join(e.person[:3])
        elif eid in self.pair_b:
            e.kind_word, e.base, e.decor, e.camel = self.same_name_of[self.pair_b[eid]]
        else:
            e.base, compound = self.new_base(c)
            e.camel = compound and rnd() < 0.5
            if not e.camel and compound:
                e.base = e.base[0] + e.base[1:].lower()
            r = rnd()
            if r < 0.08:
                e.kind_word = KIND_WORDS[self.rr(len(KIND_WORDS))]
            elif r < 0.18:
                e.decor = DECORS[self.rr(len(DECORS))]
        if eid in self.pair_a:
            self.same_name_of[eid] = (e.kind_word, e.base, e.decor, e.camel)

        e.inn, e.office = self.new_inn(c, ip)
        e.kpp = "" if ip else e.office + "01001"
        e.closed = False

        # Phones.
        fate = self._fate
        e.main = e.mobile = e.second = e.stale = e.hub = e.branch = None
        r = rnd()
        if ip:
            e.main = self.mobile(c, fate("mobile")) if r < 0.7 else self.fixed(c, fate("fixed"))
        elif r < 0.85:
            e.main = self.fixed(c, fate("fixed"))
        elif r < 0.97:
            e.main = self.mobile(c, fate("mobile"))
        else:
            e.main = self.tollfree()
        if e.main.kind != "mobile" and rnd() < 0.45:
            e.mobile = self.mobile(c, fate("mobile"))
        if rnd() < 0.15:
            e.second = self.fixed(c, fate("fixed"))
        if e.flags & IN_PURCHASED and rnd() < 0.3:
            e.stale = self.fixed(c, fate("stale")) if rnd() < 0.6 else self.mobile(c, fate("stale"))
        if e.roles & R_HUB:
            h = self.hub_of[eid]
            if h not in self.hub_phones:
                self.hub_phones[h] = self.fixed(c, "alive")
            e.hub = self.hub_phones[h]
        e.branch_city = e.branch_kpp = None
        if e.roles & R_BRANCH:
            bc = CITIES[self.city_pick.pick(rnd)] if rnd() < 0.7 else c
            e.branch_city = bc
            office = bc.offices[self.rr(len(bc.offices))]
            e.branch_kpp = office + ("43" if rnd() < 0.6 else "02") + f"{1 + self.rr(9):03d}"
            e.branch = self.fixed(bc, fate("fixed"))
        e.phones = [p for p in (e.main, e.mobile, e.second, e.hub) if p is not None]

        # Contact, owner, commerce.
        e.contact = e.person if ip and rnd() < 0.8 else self.new_person(None)
        e.position = "Владелец" if ip and e.contact is e.person else POSITIONS[self.rr(len(POSITIONS))]
        e.birthday = 22 * 365 + self.rr(65 * 365 - 22 * 365) if rnd() < 0.7 else None
        e.owner = self.manager_pick.pick(rnd) if rnd() < 0.88 else -1
        e.assigned = 1 + self.rr(399)
        e.channel = self.channel_pick.pick(rnd)
        # Segment: active (bought within 180 days), lost (before) or potential (never).
        r = rnd()
        buyer = e.flags & IN_1C or e.roles & R_LOSS
        if e.roles & R_ARCHIVE:
            e.last_purchase = 300 + self.rr(1200) if r < 0.5 else None
        elif r < (0.60 if buyer else 0.40):
            e.last_purchase = self.rr(180)
        elif r < (0.92 if buyer else 0.65) or e.roles & R_LOSS:
            e.last_purchase = 180 + self.rr(720)
        else:
            e.last_purchase = None
        if e.last_purchase is None:
            e.profit = None if rnd() < 0.8 else 0
            e.revenue = 0
        else:
            e.profit = -(5_000_00 + self.rr(79_500_000)) if e.roles & R_LOSS else self._amount()
            e.revenue = abs(e.profit) * (4 + self.rr(9)) + self.rr(100)
        e.potential = None if rnd() < 0.15 else self._amount() * (1 + self.rr(4))
        if e.roles & R_ARCHIVE:
            e.last_contact = 200 + self.rr(1000) if rnd() < 0.6 else None
        else:
            e.last_contact = self.rr(120) if rnd() < 0.7 else None

        # Email and address.
        free = ip or rnd() < 0.3
        e.domain = None if ip else self._domain(e)
        e.free_email = self._free_email(e) if free or rnd() < 0.2 else None
        e.emails = []
        if e.domain:
            local = COMPANY_LOCALS[self.rr(len(COMPANY_LOCALS))]
            e.emails.append(f"{local}@{e.domain}")
        if e.free_email:
            e.emails.append(e.free_email)
        e.street = STREETS[self.rr(len(STREETS))]
        e.house = 1 + self.rr(180)
        e.room = 1 + self.rr(650) if rnd() < 0.4 else None
        e.comment = COMMENTS[self.rr(len(COMMENTS))] if rnd() < 0.35 else ""
        if e.comment == COMMENT_CLOSED:
            e.closed = True
        return e

    def _fate(self, kind: str) -> str:
        r = self.rng.random()
        if kind == "fixed":
            return "alive" if r < 0.88 else "dead" if r < 0.96 else "reissued"
        if kind == "mobile":
            return "alive" if r < 0.80 else "dead" if r < 0.88 else "reissued"
        return "alive" if r < 0.10 else "dead" if r < 0.65 else "reissued"      # stale

    def _amount(self) -> int:
        """A Pareto-like amount in kopecks (profit per year)."""
        r = self.rng.random()
        if r < 0.40:
            lo, hi = 10_000, 60_000
        elif r < 0.70:
            lo, hi = 60_000, 250_000
        elif r < 0.88:
            lo, hi = 250_000, 1_000_000
        elif r < 0.97:
            lo, hi = 1_000_000, 5_000_000
        else:
            lo, hi = 5_000_000, 30_000_000
        return lo * 100 + self.rr((hi - lo) * 100)

    def _domain(self, e: Entity) -> str:
        # The base name is unique within a city, so a city tag keeps domains unique everywhere.
        root = translit(e.base)
        c = e.city
        if e.eid in self.pair_b:
            return f"{root}-{c.tag}{c.regnum}.ru"     # a pattern no other company gets
        r = self.rng.random()
        tld = TLDS[self.rr(len(TLDS))]
        if c.idx == MOSCOW:
            return f"{root}.{tld}" if r < 0.8 else f"{root}-msk.{tld}"
        return f"{root}-{c.tag}.ru" if r < 0.6 else f"{root}{c.regnum}.ru"

    def _free_email(self, e: Entity) -> str:
        x = self.mail_perm(self.mail_count % 1_000_000)
        self.mail_count += 1
        dom = self.freemail_pick.pick(self.rng.random)
        if e.person is not None or self.rng.random() < 0.5:
            sur, first, _, _ = e.person or self.new_person(None)
            local = f"{translit(first)[0]}.{translit(sur)}{x}" if x & 1 else f"{translit(sur)}.{x}"
        else:
            local = f"{translit(e.base)[:14].strip('-')}{x}"
        return f"{local}@{dom}"

    # ---- rendering: names, INNs, phones, emails -----------------------------------------------

    NAME_STYLES = {
        "crm": (("guillemets", 40), ("dquotes", 14), ("plain", 6), ("long", 6), ("latin", 5),
                ("noform", 5), ("upper", 4), ("lower", 3), ("spaces", 4), ("typo", 5), ("curly", 3),
                ("form_last", 2), ("city", 3)),
        "dup": (("dquotes", 20), ("plain", 14), ("long", 10), ("latin", 10), ("noform", 10),
                ("upper", 8), ("lower", 6), ("spaces", 4), ("typo", 12), ("form_last", 6)),
        "1c": (("form_last", 30), ("dquotes", 25), ("upper", 12), ("long", 12), ("guillemets", 8),
               ("typo", 5), ("latin", 2), ("plain", 6)),
        "purchased": (("dquotes", 33), ("noform", 18), ("plain", 20), ("upper", 10), ("form_last", 5),
                      ("typo", 4), ("latin", 5), ("guillemets", 5)),
    }

    def name(self, e: Entity, ctx: str) -> str:
        rnd = self.rng.random
        style = self._name_pick[ctx].pick(rnd)
        if self.force and ctx == "crm" and e.form != F_IP:
            style = next((st for st in FORCEABLE_NAME_STYLES if self._forced(f"name_{st}")), style)
        self._count(f"name_{style}")
        short, _, long_form, latin = FORMS[e.form]
        if e.form == F_IP:
            return self._ip_name(e, style)
        base = e.kind_word + e.base + e.decor
        if style == "guillemets":
            return f"{short} «{base}»"
        if style == "dquotes":
            return f'{short} "{base}"'
        if style == "plain":
            return f"{short} {base}"
        if style == "long":
            return f'{long_form} "{base.upper()}"' if rnd() < 0.6 else f"{long_form} «{base}»"
        if style == "latin":
            return f'{latin} "{base}"' if latin != short else f'{short} "{base}"'
        if style == "noform":
            return base if rnd() < 0.7 else f"«{base}»"
        if style == "upper":
            return f'{short} "{base.upper()}"'
        if style == "lower":
            return f"{short} «{base}»".lower()
        if style == "spaces":
            return f"  {short}  «{base}» "
        if style == "typo":
            return f"{short} «{e.kind_word}{self._typo(e.base)}{e.decor}»"
        if style == "curly":
            return f"{short} “{base}”" if rnd() < 0.5 else f"{short} „{base}“"
        if style == "form_last":
            return f"{base} {short}" if rnd() < 0.7 else f"{base}, {short}"
        # "city"
        return f"{short} «{base}» ({e.city.name})" if rnd() < 0.6 else f"{short} «{base}» г. {e.city.name}"

    def _ip_name(self, e: Entity, style: str) -> str:
        sur, first, patr, _ = e.person
        initials = f"{first[0]}.{patr[0]}."
        if style in ("long",):
            return f"Индивидуальный предприниматель {sur} {first} {patr}"
        if style in ("form_last",):
            return f"{sur} {first} {patr} ИП"
        if style in ("upper",):
            return f"ИП {sur} {first} {patr}".upper()
        if style in ("typo",):
            return f"ИП {self._typo(sur)} {first} {patr}"
        if style in ("noform", "plain", "lower"):
            return f"ИП {sur} {initials}" if self.rng.random() < 0.5 else f"ИП {sur} {first[0]}. {patr[0]}."
        return f"ИП {sur} {first} {patr}"

    def _typo(self, word: str) -> str:
        """One-letter typo: swap, drop, double or a vowel confusion (never the first letter)."""
        if len(word) < 5:
            return word + word[-1]
        i = 1 + self.rr(len(word) - 2)
        op = self.rr(4)
        if op == 0:
            return word[:i] + word[i + 1] + word[i] + word[i + 2:]
        if op == 1:
            return word[:i] + word[i + 1:]
        if op == 2:
            return word[:i] + word[i] + word[i:]
        swaps = {"о": "а", "а": "о", "е": "и", "и": "е", "я": "е"}
        for j in range(i, len(word)):
            if word[j] in swaps:
                return word[:j] + swaps[word[j]] + word[j + 1:]
        return word[:i] + word[i + 1:]

    def inn_value(self, e: Entity, ctx: str, xlsx: bool):
        """The INN cell as written by a source: str, int (a numeric cell) or None."""
        rng = self.rng
        r = rng.random()
        missing = {"crm": 0.08, "dup": 0.35, "1c": 0.03, "purchased": 0.35, "branch": 0.05}[ctx]
        if r < missing:
            self._count("inn_missing")
            return None
        inn = e.inn
        r = rng.random()
        if r < 0.02 or self._forced("inn_invalid"):
            inn = self._bad_inn(inn)
            self._count("inn_invalid")
            return inn
        if inn[0] == "0" and r < 0.6 and (xlsx or ctx != "1c"):
            # Excel ate the leading zero (1C itself writes INNs as text).
            self._count("inn_lost_zero")
            if xlsx:
                self._count("inn_numeric_cell")
                return int(inn)
            return inn[1:]
        if xlsx and r < 0.17:
            self._count("inn_numeric_cell")
            return int(inn)
        if ctx in ("purchased", "crm") and r < 0.05:
            self._count("inn_float")
            return f"{int(inn)}.0"
        if r < 0.07:
            self._count("inn_spaces")
            return f" {inn} "
        return inn

    def _bad_inn(self, inn: str) -> str:
        n = len(inn) - (1 if len(inn) == 10 else 2)
        while True:
            i = self.rr(n)
            d = str((int(inn[i]) + 1 + self.rr(9)) % 10)
            bad = inn[:i] + d + inn[i + 1:]
            if not inn_ok(bad) and bad[0] != "0":
                return bad

    # Phone formats: (name, weight) per context. The rendered forms are in _fmt_phone.
    PHONE_STYLES = {
        "crm": (("p8", 22), ("p7", 12), ("sp", 7), ("par", 5), ("dash", 8), ("d8", 6), ("d7", 3),
                ("dp7", 3), ("d10", 2), ("local", 6), ("endash", 3), ("nbsp", 3), ("apos", 2), ("dd", 1),
                ("noparen", 1), ("float", 3), ("sci", 1), ("spaces", 4), ("p7nosp", 4), ("short", 1)),
        "1c": (("p7", 30), ("p8", 25), ("par", 10), ("d8", 12), ("dash", 8), ("local", 8), ("spaces", 4),
               ("nbsp", 3)),
        "purchased": (("p7", 35), ("dp7", 15), ("d7", 12), ("sp", 10), ("float", 8), ("sci", 2), ("p8", 12),
                      ("d8", 6)),
    }

    def _fmt_phone(self, p: Phone, style: str) -> str:
        ndc, s = p.ndc, p.sub
        if len(s) == 7:
            g = f"{s[:3]}-{s[3:5]}-{s[5:]}"
            sp = f"{s[:3]} {s[3:5]} {s[5:]}"
        else:
            g = f"{s[:2]}-{s[2:4]}-{s[4:]}"
            sp = f"{s[:2]} {s[2:4]} {s[4:]}"
        if style == "p8":
            return f"8 ({ndc}) {g}"
        if style == "p7":
            return f"+7 ({ndc}) {g}"
        if style == "sp":
            return f"+7 {ndc} {s}"
        if style == "par":
            return f"({ndc}){s}"
        if style == "dash":
            return f"8-{ndc}-{g}"
        if style == "d8":
            return f"8{ndc}{s}"
        if style == "d7":
            return f"7{ndc}{s}"
        if style == "dp7":
            return f"+7{ndc}{s}"
        if style == "d10":
            return f"{ndc}{s}"
        if style == "local":
            return g if p.kind == "fixed" else f"8 ({ndc}) {g}"
        if style == "endash":
            return f"8 ({ndc}) {g.replace('-', '–')}"
        if style == "nbsp":
            return f"+7\u00a0{ndc}\u00a0{sp.replace(' ', chr(0xa0))}"
        if style == "apos":
            return f"'8{ndc}{s}"
        if style == "dd":
            return f"8-{ndc}-{s[:3]}--{s[3:]}"
        if style == "noparen":
            return f"8 {ndc}) {g}"
        if style == "float":
            return f"7{ndc}{s}.0"
        if style == "sci":
            return f"{float('7' + ndc + s):.5E}"
        if style == "spaces":
            return f"8 {ndc} {sp}"
        if style == "p7nosp":
            return f"+7({ndc}){g}"
        # "short": a digit lost while typing
        return f"8 ({ndc}) {s[:2]}-{s[3:5]}-{s[5:]}"

    def phone_text(self, p: Phone, ctx: str, label_ok: bool = True) -> str:
        rng = self.rng
        style = self._phone_pick[ctx].pick(rng.random)
        if ctx == "crm" and len(p.sub) == 6 and p.kind == "fixed" and (
                rng.random() < 0.12 or self._forced("phone_local_6digit")):
            style = "local"      # 6-digit numbers are often written without the 4-digit code
        elif self.force and ctx == "crm":
            style = next((st for st in FORCEABLE_PHONE_STYLES if self._forced(f"phone_{st}")), style)
        if style == "local":
            if p.kind != "fixed":
                style = "p8"
            elif len(p.sub) == 6:
                self._count("phone_local_6digit")
        self._count(f"phone_{style}")
        p.used = p.used or style not in ("sci", "short")
        text = self._fmt_phone(p, style)
        if label_ok and ctx == "crm" and style not in ("float", "sci", "apos"):
            r = rng.random()
            if self.force:
                r = 0.0 if self._forced("phone_extension") else 0.06 if self._forced("phone_label") else r
            if r < 0.05:
                text += EXTENSIONS[self.rr(len(EXTENSIONS))].format(n=2 + self.rr(998))
                self._count("phone_extension")
            elif r < 0.08:
                text = LABEL_PREFIXES[self.rr(len(LABEL_PREFIXES))] + text
                self._count("phone_label")
            elif r < 0.11:
                self._count("phone_label")
                return text + LABEL_SUFFIXES[self.rr(len(LABEL_SUFFIXES))]
        return text

    def phone_cell(self, e: Entity, phones: list, ctx: str, xlsx: bool):
        """A phones cell: '' / one or several numbers with separators, extras and junk."""
        rng = self.rng
        rnd = rng.random
        if not phones:
            return ""
        if ctx == "crm":
            r = rnd()
            if r < 0.012 or self._forced("phone_placeholder"):
                self._count("phone_placeholder")
                return PLACEHOLDERS[self.rr(len(PLACEHOLDERS))]
            if xlsx and len(phones) == 1 and (r < 0.05 or self._forced("phone_numeric_cell")):
                p = phones[0]
                p.used = True
                self._count("phone_numeric_cell")
                return int(p.digits)
        parts = [self.phone_text(p, ctx) for p in phones]
        if ctx == "crm" and e.contact and (rnd() < 0.04 or self._forced("phone_person_name")):
            self._count("phone_person_name")
            parts[-1] += f" {e.contact[1]}"
        if ctx == "crm" and rnd() < 0.006:
            self._count("phone_placeholder")
            parts.append(PLACEHOLDERS[self.rr(3)])
        if len(parts) == 1:
            return parts[0]
        self._count("phone_multi_cell")
        if ctx == "1c":
            return ", ".join(parts)
        seps = ("; ", ", ", " / ", ";", "\n", " ") if xlsx else ("; ", ", ", " / ", ";", " ")
        return seps[self.rr(len(seps))].join(parts)

    def email_cell(self, e: Entity, ctx: str) -> str:
        rng = self.rng
        rnd = rng.random
        if not e.emails or rnd() < (0.2 if ctx == "crm" else 0.45):
            return ""
        emails = e.emails if len(e.emails) == 1 or rnd() < 0.3 else [e.emails[self.rr(len(e.emails))]]
        for em in emails:
            self._count("email_free" if em == e.free_email else "email_company")
        text = "; ".join(emails) if rnd() < 0.7 else ", ".join(emails)
        r = rnd()
        if self.force and self._forced("email_invalid"):
            r = 0.1
        if r < 0.04:
            self._count("email_case")
            return text.upper() if rnd() < 0.3 else text[0].upper() + text[1:]
        if r < 0.07:
            self._count("email_spaces")
            return f" {text} "
        if r < 0.085:
            self._count("email_mailto")
            return "mailto:" + text
        if r < 0.11:
            self._count("email_invalid")
            bad = emails[0]
            k = self.rr(4)
            if k == 0:
                return bad.replace("@", "@@")
            if k == 1:
                return bad.replace(".", ",", 1) if "." in bad.split("@")[1] else bad + ","
            if k == 2:
                return bad.rsplit(".", 1)[0]
            return bad.replace("@", " ")
        return text

    def city_text(self, c: City, ctx: str) -> str:
        r = self.rng.random()
        if ctx == "purchased" and (r < 0.03 or self._forced("city_latin")):
            self._count("city_latin")
            return c.latin
        if r < (0.05 if ctx == "crm" else 0.02):
            self._count("city_missing")
            return ""
        if r < 0.2:
            self._count("city_variant")
            return c.variants[self.rr(len(c.variants))]
        return c.name

    def date_value(self, k: int | None, xlsx: bool):
        """A date k days before as_of, as the CRM writes it: a date cell or text of some kind."""
        if k is None:
            return None
        r = self.rng.random()
        if xlsx and r < 0.7:
            return self.d_obj[k]
        if r < 0.85:
            return self.d_ru[k]
        if r < 0.95:
            self._count("date_iso")
            return self.d_iso[k]
        self._count("date_excel_serial")
        return self.d_serial[k]

    def amount_value(self, kop: int | None, xlsx: bool):
        if kop is None:
            return None
        r = self.rng.random()
        if xlsx and r < 0.85:
            return kop / 100 if kop % 100 else kop // 100
        if r < 0.93:
            return f"{kop / 100:.2f}"
        return money(kop)

    # ---- rows -----------------------------------------------------------------------------------

    def crm_row(self, e: Entity, variant: str, xlsx: bool) -> list:
        rng = self.rng
        rnd = rng.random
        ctx = "dup" if variant == "dup" else "crm"
        name = self.name(e, ctx if variant != "branch" else "crm")
        city = e.city
        kpp = e.kpp
        if variant == "branch":
            city = e.branch_city
            kpp = e.branch_kpp
            r = rnd()
            if r < 0.5:
                name += f" (филиал в г. {city.name})" if city is not e.city else " (филиал)"
            self._count("crm_branch_row")
        inn = self.inn_value(e, "branch" if variant == "branch" else ctx, xlsx)
        if kpp and rnd() < 0.15:
            kpp = ""
        elif kpp and xlsx and kpp[0] == "0" and (rnd() < 0.4 or self._forced("kpp_lost_zero")):
            kpp = int(kpp)
            self._count("kpp_lost_zero")

        # Which phones go in the cell.
        if variant == "branch":
            phones = [e.branch]
        elif variant == "dup":
            pool = [p for p in (e.mobile, e.second, e.main) if p is not None]
            phones = pool[:1] if rnd() < 0.6 else pool[-1:]
        elif variant == "archive_old":
            phones = [e.stale] if e.stale else [e.main]
        else:
            phones = [e.main]
            if e.mobile and rnd() < 0.55:
                phones.append(e.mobile)
            if e.second and rnd() < 0.6:
                phones.append(e.second)
            if e.hub:
                phones.insert(0 if rnd() < 0.5 else len(phones), e.hub)
        if e.hub and variant in ("main", "archive") and rnd() < 0.3:
            phones = [e.hub]       # only the reception's number
        phone = self.phone_cell(e, phones, "crm", xlsx) if rnd() > 0.03 else ""

        sur, first, patr, fem = e.contact
        r = rnd()
        if r < 0.55:
            contact = f"{sur} {first} {patr}"
        elif r < 0.7:
            contact = f"{first} {patr}"
        elif r < 0.8:
            contact = f"{sur} {first[0]}.{patr[0]}."
        elif r < 0.88:
            contact = first
        elif r < 0.93:
            contact = f"{sur} {first}"
        else:
            contact = ""
        position = e.position if contact and rnd() < 0.8 else ""
        birthday = None
        if contact and e.birthday is not None:
            r = 0.92 if self.force and self._forced("birthday_no_year") else rnd()
            if xlsx and r < 0.6:
                birthday = self.d_obj[e.birthday]
            elif r < 0.9:
                birthday = self.d_ru[e.birthday]
            elif r < 0.95:
                birthday = self.d_ru[e.birthday][:5]
                self._count("birthday_no_year")
            else:
                birthday = self.d_iso[e.birthday]

        owner = MANAGERS[e.owner] if e.owner >= 0 else ""
        assigned = e.assigned if e.owner >= 0 else None
        if variant == "dup" and e.roles & R_CRM_DUP_CONFLICT:
            other = (e.owner + 1 + self.rr(len(MANAGERS) - 1)) % len(MANAGERS) if e.owner >= 0 \
                else self.manager_pick.pick(rnd)
            owner = MANAGERS[other]
            assigned = 1 + self.rr(399)
            self._count("owner_conflict_in_crm")
        last_purchase, last_contact, comment = e.last_purchase, e.last_contact, e.comment
        profit, potential = e.profit, e.potential
        if variant in ("archive", "archive_old"):
            owner = "" if rnd() < 0.6 else FORMER_MANAGERS[self.rr(len(FORMER_MANAGERS))]
            assigned = 500 + self.rr(1000) if owner else None
            if variant == "archive_old":
                last_contact = 200 + self.rr(1000) if rnd() < 0.6 else None
                if last_purchase is not None:
                    last_purchase = last_purchase + (200 + self.rr(400))
            comment = ARCHIVE_COMMENTS[self.rr(len(ARCHIVE_COMMENTS))] if rnd() < 0.6 else comment
        channel = e.channel
        r = rnd()
        if r < 0.05:
            channel = ""
        elif r < 0.08 or self._forced("channel_variant"):
            channel = channel.lower() if rnd() < 0.5 else channel + " "
            self._count("channel_variant")
        if profit is not None and profit < 0:
            self._count("profit_negative")
        if potential is None:
            self._count("potential_missing")
        profit_v = self.amount_value(profit, xlsx)
        potential_v = self.amount_value(potential, xlsx)
        if xlsx and potential_v is not None and rnd() < 0.03:
            potential_v = money(potential).rsplit(",", 1)[0]
        return [name, inn, kpp, self.city_text(city, "crm"), phone, self.email_cell(e, "crm"), contact,
                position, birthday, owner, self.date_value(assigned, xlsx), channel, profit_v, potential_v,
                self.date_value(last_purchase, xlsx), self.date_value(last_contact, xlsx), comment]

    def crm_junk(self) -> list:
        row = [None] * len(CRM_HEADER)
        k = self.rr(4)
        if k == 0:
            row[3], row[16] = CITIES[self.rr(len(CITIES))].name, "дубль, удалить"
        elif k == 1:
            row[9], row[11] = MANAGERS[self.rr(len(MANAGERS))], CHANNELS[self.rr(len(CHANNELS))]
        elif k == 2:
            row[6], row[7] = "Светлана", "бухгалтер"
        else:
            row[16] = "нет данных"
        self._count("junk_rows_crm")
        return row

    def onec_row(self, e: Entity, dup: bool) -> list:
        rng = self.rng
        rnd = rng.random
        name = self.name(e, "dup" if dup else "1c")
        inn = self.inn_value(e, "1c", False) or ""
        kpp = e.kpp if rnd() > 0.1 else ""
        pool = [e.main] + ([e.mobile] if e.mobile else [])
        if e.hub and rnd() < 0.4:
            pool[0] = e.hub
        if rnd() < 0.15:
            phone = ""
        elif len(pool) > 1 and rnd() < 0.25:
            phone = self.phone_cell(e, pool, "1c", False)
        else:
            phone = self.phone_cell(e, [pool[0] if rnd() < 0.75 else pool[-1]], "1c", False)
        c = e.city
        r = rnd()
        room = f", оф. {e.room}" if e.room else ""
        if r < 0.45:
            addr = f"г. {c.name}, {e.street}, д. {e.house}{room}"
        elif r < 0.75:
            index = self._postal(c)
            region = f"{c.region}, " if c.region else ""
            street = e.street.split(" ", 1)
            addr = f"{index}, {region}{c.name} г, {street[1]} {street[0].rstrip('.')}, дом № {e.house}{room}"
        elif r < 0.9:
            addr = f"РФ, г.{c.name}, {e.street}, {e.house}"
        else:
            addr = ""
        if e.owner >= 0:
            manager = MANAGERS[e.owner]
        else:
            manager = MANAGERS[self.manager_pick.pick(rnd)] if rnd() < 0.5 else ""
        if e.roles & R_1C_CONFLICT and not dup and e.flags & IN_CRM:
            other = (max(e.owner, 0) + 1 + self.rr(len(MANAGERS) - 1)) % len(MANAGERS)
            manager = MANAGERS[other]
            self._count("owner_conflict_crm_vs_1c")
        if e.revenue:
            revenue = e.revenue
        elif e.flags & IN_CRM:
            revenue = 0
        else:
            revenue = (5_000_00 + self.rr(299_500_000))
        if rnd() < 0.01:
            revenue = -(1_000_00 + self.rr(4_900_000))    # returns exceeded sales
        self.onec_total += revenue
        last = e.last_purchase
        if last is None and not e.flags & IN_CRM:
            last = self.rr(700)
        if last is not None:
            last = max(0, last + (-3 + self.rr(7)))
            shipped = self.d_ru[last] + (" 0:00:00" if rnd() < 0.1 else "")
        else:
            shipped = ""
        return [name, inn, kpp, phone, addr, manager, money(revenue, rnd() < 0.2), shipped]

    def _postal(self, c: City) -> str:
        p = c.postal[0]
        if len(p) == 1:
            return f"1{1 + self.rr(29):02d}{self.rr(1000):03d}"
        if len(p) == 2:
            return f"19{self.rr(10)}{self.rr(1000):03d}"
        return f"{p}{self.rr(131):03d}"

    def onec_junk(self) -> list:
        self._count("junk_rows_1c")
        return ["", "", "", "", f"г. {CITIES[self.rr(len(CITIES))].name}",
                MANAGERS[self.rr(len(MANAGERS))], "0,00", ""]

    def purchased_row(self, e: Entity) -> list:
        rng = self.rng
        rnd = rng.random
        name = self.name(e, "purchased")
        inn = self.inn_value(e, "purchased", False) or ""
        r = rnd()
        if e.stale and r < 0.6:
            phones = [e.stale]
        elif r < 0.8:
            phones = [e.main]
        elif e.mobile and r < 0.92:
            phones = [e.mobile]
        elif e.hub:
            phones = [e.hub]
        else:
            phones = []
        phone = self.phone_cell(e, phones, "purchased", False)
        email = self.email_cell(e, "purchased")
        site = ""
        if e.domain and rnd() < 0.5:
            form = self.rr(4)
            site = (e.domain, "www." + e.domain, f"http://{e.domain}/", f"https://www.{e.domain}")[form]
        return [name, inn, self.city_text(e.city, "purchased"), phone, email, site]

    def purchased_junk(self) -> list:
        self._count("junk_rows_purchased")
        return ["", "", CITIES[self.rr(len(CITIES))].name, "", "", ""]

    # ---- calls ---------------------------------------------------------------------------------

    # What the dialer log shows for a phone, by what really happened to the number (its fate).
    SCENARIOS = {
        "alive": (("answered", 62), ("no_answer_few", 15), ("unavailable", 8), ("no_answer_streak_short", 4),
                  ("streak_broken", 4), ("machine", 7)),
        "dead": (("not_registered", 65), ("no_answer_streak_dead", 35)),
        "reissued": (("wrong_party", 100),),
    }
    # Every set shows each of these at least so often (phones the dialer skipped are dialed for it).
    SCENARIO_MINIMUM = {"answered": 10, "not_registered": 2, "no_answer_streak_dead": 2, "wrong_party": 2,
                        "no_answer_streak_short": 1, "streak_broken": 1, "unavailable": 1}

    def plan_calls(self, p: Phone, operator: int, dial_p: float, extra: float, scen: str | None = None) -> None:
        """Dial one phone (with probability dial_p) according to its fate, or as scenario `scen`."""
        rnd = self.crng.random
        if scen is None:
            if rnd() >= dial_p:
                if len(self.undialed) < 64:
                    self.undialed.append((p, operator))
                return
            scen = self._scenario_pick[p.fate].pick(rnd)
        self._count(f"dialer_phones_{scen}")
        self._emit_calls(p.digits, self._scenario_calls(scen, extra), operator)

    def _scenario_calls(self, scen: str, extra: float) -> list[tuple[int, int]]:
        """[(days before as_of, outcome)] for one phone."""
        rng = self.crng
        rnd = rng.random
        wd = self.workdays
        calls: list[tuple[int, int]] = []
        if scen == "answered":
            days = sorted(rng.sample(wd, 1 + self.crr(3)), reverse=True)
            for d in days[:-1]:
                calls.append((d, (O_NO_ANSWER, O_NO_ANSWER, O_NO_ANSWER, O_BUSY, O_MACHINE, O_ANSWERED)
                              [self.crr(6)]))
            calls.append((days[-1], O_TALK if rnd() < 0.6 else O_ANSWERED))
        elif scen == "no_answer_few":
            for d in rng.sample(wd, 1 + self.crr(4)):
                calls.append((d, O_NO_ANSWER if rnd() < 0.8 else O_BUSY))
        elif scen == "unavailable":             # "Абонент недоступен" is not "dead"
            days = sorted(rng.sample(wd, 1 + self.crr(3)), reverse=True)
            for d in days:
                calls.append((d, O_UNAVAILABLE))
            later = [d for d in wd if d < days[-1]]
            if later and rnd() < 0.3:
                calls.append((later[self.crr(len(later))], O_TALK))
        elif scen == "no_answer_streak_short":  # 5-6 no answers within less than 14 days: not dead yet
            while True:
                last = wd[self.crr(len(wd))]
                window = [d for d in wd if last <= d <= last + 6 + self.crr(7)]
                if len(window) >= 5:
                    break
            for d in rng.sample(window, min(len(window), 5 + self.crr(2))):
                calls.append((d, O_NO_ANSWER if rnd() < 0.85 else O_BUSY))
        elif scen == "streak_broken":           # >= 5 no answers over >= 14 days, but answered between
            days = self._streak_days(rng, 6 + self.crr(3))
            mid = len(days) // 2
            for i, d in enumerate(days):
                calls.append((d, O_TALK if i == mid else O_NO_ANSWER))
        elif scen == "machine":
            for d in rng.sample(wd, 1 + self.crr(2)):
                calls.append((d, O_MACHINE))
        elif scen == "not_registered":          # dead at once
            if rnd() < 0.3:
                calls.append((wd[len(wd) // 2 + self.crr(len(wd) - len(wd) // 2)], O_NO_ANSWER))
            for d in sorted(rng.sample(wd[:len(wd) // 2], 1 + self.crr(2)), reverse=True):
                calls.append((d, O_NOT_REG if rnd() < 0.6 else O_NO_NUMBER))
        elif scen == "no_answer_streak_dead":   # >= 5 no answers over >= 14 days, nothing between: dead
            for d in self._streak_days(rng, 5 + self.crr(4)):
                calls.append((d, O_NO_ANSWER if rnd() < 0.8 else O_BUSY))
            return calls
        else:                                   # wrong_party: the number now belongs to someone else
            if rnd() < 0.3:
                calls.append((wd[len(wd) * 2 // 3 + self.crr(len(wd) - len(wd) * 2 // 3)], O_TALK))
            for d in sorted(rng.sample(wd[:len(wd) * 2 // 3], 1 + self.crr(2)), reverse=True):
                calls.append((d, O_WRONG if rnd() < 0.6 else O_BAD_NUMBER))
            return calls
        if extra > 0 and scen != "not_registered":
            whole = int(extra)
            for _ in range(whole + (1 if rnd() < extra - whole else 0)):
                calls.append((wd[self.crr(len(wd))], O_ANSWERED))
        return calls

    def _streak_days(self, rng: random.Random, k: int) -> list[int]:
        """k workdays (days before as_of) spanning at least 14 days, latest last."""
        wd = self.workdays
        while True:
            first = rng.choice([d for d in wd if d >= 16])
            last = rng.choice([d for d in wd if d <= first - 14])
            between = [d for d in wd if last < d < first]
            if len(between) >= k - 2:
                break
        days = [first, last] + rng.sample(between, k - 2)
        return sorted(days, reverse=True)

    def _emit_calls(self, digits: str, calls: list, operator: int) -> None:
        rng = self.crng
        rnd = rng.random
        phone = int(digits)
        for day, outcome in calls:
            minute = (60 - day) * 1440 + (9 * 60 + self.crr(20 * 60 - 9 * 60))
            if outcome == O_TALK:
                dur = 20 + self.crr(881)
            elif outcome == O_ANSWERED:
                dur = 5 + self.crr(116)
            elif outcome in (O_WRONG, O_BAD_NUMBER):
                dur = 4 + self.crr(37)
            elif outcome == O_MACHINE:
                dur = 8 + self.crr(23)
            else:
                dur = 0
            op = operator if operator >= 0 and rnd() < 0.8 else len(MANAGERS)  # robot
            fmt = self.crr(6) if rnd() < 0.3 else 0      # phone and date-time spelling
            self.calls.append(((((minute * 10 ** 11 + phone) * 16 + outcome) * 32 + op) * 4096 + dur) * 8 + fmt)

    # ---- main pass -----------------------------------------------------------------------------

    def run(self, out: Path, crm_format: str) -> dict:
        t0 = time.perf_counter()
        n = self.n
        out.mkdir(parents=True, exist_ok=True)
        self._name_pick = {k: Weighted(v) for k, v in self.NAME_STYLES.items()}
        self._phone_pick = {k: Weighted(v) for k, v in self.PHONE_STYLES.items()}
        if crm_format == "auto":
            crm_format = "xlsx" if n <= XLSX_MAX_CLIENTS else "csv"
        want_xlsx = crm_format in ("xlsx", "both")
        want_csv = crm_format in ("csv", "both")
        written: list[tuple[Path, Path]] = []

        def part(name: str) -> Path:
            final = out / name
            tmp = out / f".{name}.part"
            written.append((tmp, final))
            return tmp

        files = []
        # The CRM in xlsx: one Out per sheet; in csv: one Out for everything.
        outs_main, outs_archive = [], []
        workbook = None
        if want_xlsx:
            import xlsxwriter

            workbook = xlsxwriter.Workbook(str(part(CRM_XLSX)), {"constant_memory": True})
            workbook.set_properties({"title": "Выгрузка клиентов", "author": "CRM",
                                     "created": datetime.combine(self.as_of, datetime.min.time())})
            fmt_head = workbook.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
            fmt_date = workbook.add_format({"num_format": "dd.mm.yyyy"})
            fmt_money = workbook.add_format({"num_format": "#,##0.00"})
            fmt_wrap = workbook.add_format({"text_wrap": True})
            widths = (34, 14, 11, 16, 30, 26, 28, 22, 13, 20, 13, 18, 14, 14, 14, 14, 34)

            def sheet_writer(title):
                ws = workbook.add_worksheet(title)
                for col, w in enumerate(widths):
                    ws.set_column(col, col, w)
                for col, h in enumerate(CRM_HEADER):
                    ws.write_string(0, col, h, fmt_head)
                ws.freeze_panes(1, 0)
                state = {"row": 0}

                def write(row):
                    state["row"] += 1
                    r = state["row"]
                    for col, v in enumerate(row):
                        if v is None or v == "":
                            continue
                        t = type(v)
                        if t is str:
                            if "\n" in v:
                                ws.write_string(r, col, v, fmt_wrap)
                            else:
                                ws.write_string(r, col, v)
                        elif t is date:
                            ws.write_datetime(r, col, datetime(v.year, v.month, v.day), fmt_date)
                        elif col in (12, 13):
                            ws.write_number(r, col, v, fmt_money)
                        else:
                            ws.write_number(r, col, v)
                return write

            outs_main.append(Out(f"{CRM_XLSX}#{SHEET_MAIN}", sheet_writer(SHEET_MAIN)))
            outs_archive.append(Out(f"{CRM_XLSX}#{SHEET_ARCHIVE}", sheet_writer(SHEET_ARCHIVE)))
            files.append(CRM_XLSX)
        crm_csv_file = None
        if want_csv:
            crm_csv_file = open(part(CRM_CSV), "w", encoding="utf-8-sig", newline="")
            w = csv.writer(crm_csv_file)
            w.writerow(CRM_HEADER)
            ru, as_of = self.d_ru, self.as_of

            def crm_csv_write(row, w=w):
                # What Excel's "save as CSV" makes of typed cells: dates as shown, numbers bare.
                w.writerow(["" if v is None else ru[(as_of - v).days] if type(v) is date else v
                            for v in row])
            o = Out(CRM_CSV, crm_csv_write)
            outs_main.append(o)
            outs_archive.append(o)
            files.append(CRM_CSV)
        crm_all = [o for o in outs_main if o.source != CRM_CSV] + [o for o in outs_archive if o.source != CRM_CSV]
        crm_all += [o for o in outs_main if o.source == CRM_CSV]      # xlsx sheets first, then the CSV

        onec_file = open(part(ONEC_CSV), "w", encoding="cp1251", newline="")
        onec_w = csv.writer(onec_file, delimiter=";")
        onec_w.writerow(ONEC_HEADER)
        onec = Out(ONEC_CSV, onec_w.writerow)
        files.append(ONEC_CSV)
        purch_file = open(part(PURCHASED_CSV), "w", encoding="utf-8", newline="")
        purch_w = csv.writer(purch_file)
        purch_w.writerow(PURCHASED_HEADER)
        purch = Out(PURCHASED_CSV, purch_w.writerow)
        files.append(PURCHASED_CSV)

        # Dialing: each phone written into the files is dialed with probability dial_p; when more
        # calls per phone are asked for than a scenario makes, alive phones get extra answered calls.
        mean_calls = 2.55
        dial_p = min(1.0, self.calls_per_phone / mean_calls)
        extra = max(0.0, self.calls_per_phone - mean_calls) / 0.82   # dead and re-issued get none

        rng = self.rng
        max_delay = max(3, min(3000, n // 4))
        in_files = 0
        for eid in range(n):
            if eid == n // 3:
                self.force = {k for k in MUST_SHOW if not self.stats.get(k)}
            e = self.entity(eid)
            f, roles = e.flags, e.roles
            if f & IN_CRM:
                if roles & R_ARCHIVE:
                    row = self.crm_row(e, "archive", want_xlsx)
                    for o in outs_archive:
                        o.emit(row, eid)
                    self._count("crm_archive_only")
                else:
                    row = self.crm_row(e, "main", want_xlsx)
                    for o in outs_main:
                        o.emit(row, eid)
                    if roles & R_CRM_DUP:
                        row, at = self.crm_row(e, "dup", want_xlsx), eid + rng.randint(1, max_delay)
                        for o in outs_main:
                            o.later(row, eid, at)
                        self._count("crm_dup_rows")
                    if roles & R_BRANCH:
                        row, at = self.crm_row(e, "branch", want_xlsx), eid + rng.randint(0, max_delay)
                        for o in outs_main:
                            o.later(row, eid, at)
                    if roles & R_ARCHIVE_DUP:
                        row = self.crm_row(e, "archive_old", want_xlsx)
                        for o in outs_archive:
                            o.emit(row, eid)
                        self._count("crm_archive_dup_rows")
            if f & IN_1C:
                if eid in self.unbalanced:
                    # A field opening a quote it never closes: it must not swallow the next lines.
                    row = self.onec_row(e, False)
                    row[0] = '"' + row[0].replace('"', "")
                    onec_file.write(";".join(row) + "\r\n")
                    onec.truth.append(eid)
                    self._count("onec_unbalanced_quote")
                else:
                    onec.emit(self.onec_row(e, False), eid)
                if roles & R_1C_DUP:
                    onec.later(self.onec_row(e, True), eid, eid + rng.randint(1, max_delay))
                    self._count("onec_dup_rows")
            if f & IN_PURCHASED:
                purch.emit(self.purchased_row(e), eid)
                if roles & R_PURCHASED_DUP:
                    purch.later(self.purchased_row(e), eid, eid + rng.randint(1, max_delay))
                    self._count("purchased_dup_rows")
            if eid in self.junk_crm:
                for o in outs_main:
                    o.emit(self.crm_junk(), -1)
            if eid in self.junk_1c:
                onec.emit(self.onec_junk(), -1)
            if eid in self.junk_purchased:
                purch.emit(self.purchased_junk(), -1)
            # Dial what the files hold (hub phones once, by the hub's first tenant).
            for p in (e.main, e.mobile, e.second, e.stale, e.branch):
                if p is not None and p.used:
                    in_files += 1
                    self.plan_calls(p, e.owner, dial_p, extra)
            if e.hub is not None and e.hub.used and e.hub.fate == "alive":
                e.hub.fate = "dialed"       # dial a shared reception number once
                in_files += 1
                self.plan_calls(Phone(e.hub.ndc, e.hub.sub, "fixed", "alive"), -1, dial_p, 0.0)
            for o in crm_all:
                o.release(eid)
            onec.release(eid)
            purch.release(eid)
        for o in crm_all:
            o.release(n + max_delay + 1)
        onec.release(n + max_delay + 1)
        purch.release(n + max_delay + 1)

        # 1C ends with a totals row.
        onec.emit(["Итого", "", "", "", "", "", money(self.onec_total), ""], -1)

        # Calls to numbers that are in none of the files (the dialer had an older list).
        self._count("phones_in_files", in_files)
        if self.calls_per_phone > 0:
            for scen, least in self.SCENARIO_MINIMUM.items():
                while self.stats.get(f"dialer_phones_{scen}", 0) < least and self.undialed:
                    p, operator = self.undialed.pop(0)
                    self.plan_calls(p, operator, 1.0, 0.0, scen)
        strangers = max(2, round(0.02 * len(self.calls))) if self.calls_per_phone > 0 else 0
        for i in range(strangers):
            c = CITIES[self.city_pick.pick(self.crng.random)]
            p = self.mobile(c, "alive") if i % 2 else self.fixed(c, "alive")
            self.plan_calls(p, self.manager_pick.pick(self.crng.random), 1.0, 0.0)
        self._count("dialer_numbers_not_in_base", strangers)

        if workbook is not None:
            workbook.close()
        if crm_csv_file is not None:
            crm_csv_file.close()
        onec_file.close()
        purch_file.close()
        dialer_rows = self._write_dialer(part(DIALER_CSV))
        files.append(DIALER_CSV)

        sources = [o for o in crm_all] + [onec, purch]
        with open(part(TRUTH_CSV), "w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["source", "row", "entity_id"])
            for o in sources:
                w.writerows((o.source, i, f"E{eid + 1:06d}" if eid >= 0 else "")
                            for i, eid in enumerate(o.truth, 1))
        files.append(TRUTH_CSV)
        for tmp, final in written:
            os.replace(tmp, final)
        # A CRM file of the other format left by an earlier run would not match truth.csv.
        for stale_name in ({CRM_XLSX, CRM_CSV} - set(files)):
            stale = out / stale_name
            if stale.exists():
                stale.unlink()

        rows = {o.source: len(o.truth) for o in sources}
        rows[DIALER_CSV] = dialer_rows
        st = dict(sorted(self.stats.items()))
        return {
            "seed": self.seed,
            "clients": n,
            "as_of": self.as_of.isoformat(),
            "calls_per_phone": self.calls_per_phone,
            "out": str(out),
            "files": {name: str(out / name) for name in files},
            "bytes": {name: (out / name).stat().st_size for name in files},
            "rows": rows,
            "client_rows": sum(len(o.truth) for o in sources),
            "total_rows": sum(rows.values()),
            "stats": st,
            # Business-centre reception numbers shared by unrelated companies (not a dedupe key).
            "hub_phones": sorted("+" + p.digits for p in self.hub_phones.values()),
            "seconds": round(time.perf_counter() - t0, 3),
        }

    def _write_dialer(self, path: Path) -> int:
        calls = self.calls
        calls.sort()
        start = datetime.combine(self.as_of - timedelta(days=60), datetime.min.time())
        day_iso = [(start + timedelta(days=d)).strftime("%Y-%m-%d") for d in range(61)]
        day_ru = [(start + timedelta(days=d)).strftime("%d.%m.%Y") for d in range(61)]
        operators = MANAGERS + (ROBOT,)
        counts = [0] * len(OUTCOMES)
        with open(path, "w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh, delimiter=";")
            w.writerow(DIALER_HEADER)
            buf = []
            for packed in calls:
                packed, fmt = divmod(packed, 8)
                packed, dur = divmod(packed, 4096)
                packed, op = divmod(packed, 32)
                packed, outcome = divmod(packed, 16)
                minute, phone = divmod(packed, 10 ** 11)
                day, mod = divmod(minute, 1440)
                hh, mm = divmod(mod, 60)
                digits = str(phone)
                pf = fmt % 3
                ptext = digits if pf == 0 else "+" + digits if pf == 1 else "8" + digits[1:]
                when = f"{day_iso[day]} {hh:02d}:{mm:02d}:00" if fmt < 3 else f"{day_ru[day]} {hh:02d}:{mm:02d}"
                counts[outcome] += 1
                buf.append((ptext, when, OUTCOMES[outcome], operators[op], hms(dur)))
                if len(buf) >= 10000:
                    w.writerows(buf)
                    buf.clear()
            w.writerows(buf)
        for name, k in zip(OUTCOMES, counts):
            self._count(f"dialer_outcome_{name}", k)
        return len(calls)


def generate(out: Path, clients: int = SAMPLE_CLIENTS, seed: int = SAMPLE_SEED, *,
             calls_per_phone: float = DEFAULT_CALLS_PER_PHONE, crm_format: str = "auto",
             as_of: date = AS_OF) -> dict:
    """Write the dumps and truth.csv into `out`; return counts, paths and mess statistics."""
    if crm_format not in ("auto", "xlsx", "csv", "both"):
        raise ValueError(f"crm_format must be auto, xlsx, csv or both, not {crm_format!r}")
    return Generator(clients, seed, calls_per_phone, as_of).run(Path(out), crm_format)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="generate.py",
        description="Generate messy CRM/1C/purchased/dialer dumps with a known truth (truth.csv).")
    ap.add_argument("--out", required=True, type=Path, help="output directory (created if missing)")
    ap.add_argument("--clients", type=int, default=SAMPLE_CLIENTS,
                    help=f"real-world companies to generate (default {SAMPLE_CLIENTS}; rows ~ 1.3 x N)")
    ap.add_argument("--seed", type=int, default=SAMPLE_SEED, help=f"random seed (default {SAMPLE_SEED})")
    ap.add_argument("--calls-per-phone", type=float, default=DEFAULT_CALLS_PER_PHONE, metavar="X",
                    help="dialer log rows per phone written in the files, on average (default 1.0)")
    ap.add_argument("--crm-format", choices=("auto", "xlsx", "csv", "both"), default="auto",
                    help=f"CRM dump as xlsx, csv or both; auto = xlsx up to {XLSX_MAX_CLIENTS} clients")
    ap.add_argument("--xlsx", action="store_const", const="xlsx", dest="crm_format",
                    help="force the xlsx CRM dump (slow for large N)")
    ap.add_argument("--as-of", type=date.fromisoformat, default=AS_OF,
                    help=f"the date the dumps are taken (default {AS_OF})")
    ap.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
    ap.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    args = ap.parse_args(argv)
    if args.clients < 1:
        ap.error("--clients must be >= 1")
    if args.calls_per_phone < 0:
        ap.error("--calls-per-phone must be >= 0")
    try:
        res = generate(args.out, args.clients, args.seed, calls_per_phone=args.calls_per_phone,
                       crm_format=args.crm_format, as_of=args.as_of)
    except (OSError, ValueError) as exc:
        print(f"generate.py: error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        json.dump(res, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    elif not args.quiet:
        print(f"{res['clients']} companies, seed {res['seed']} -> {res['out']} in {res['seconds']} s",
              file=sys.stderr)
        for src, k in res["rows"].items():
            print(f"  {src:32} {k:>9} rows", file=sys.stderr)
        print(f"  {'total':32} {res['total_rows']:>9} rows", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
