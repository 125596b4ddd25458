"""Residents' personal data never reach the screen: names, phone numbers, e-mails, flat numbers, passport,
СНИЛС and card numbers, birth dates are masked before anything shows a request's text, an address or a
raw row of an import.

Rules, not a model: they are predictable and testable, and over-masking a word is the safe error.
Numbers (e-mails first, then the rules below in this order):
- e-mail: anything@domain.tld;
- after a cue: «СНИЛС» 11 digits; «код подразделения» 500-123; «паспорт…» (серия, номер, РФ, данные
  between) a series and number 45 10 123456 / 4510 123456 / 4510 № 123456, or a series or a number alone;
- a bank card: 4 groups of 4 digits; a birth date after «дата рождения», «д.р.», «родился/родилась»
  and the year in «1980 г.р.»; series and number with «№» or «номер» between (серия 4510 номер 123456);
- a run of digit groups (separated by spaces, dashes, dots, brackets, a + in front) is split into the
  numbers below so that they cover the most digits, so «8-916-123-45-67 8-916-765-43-21» is two phones,
  not one run of 22 digits, and «12.03.2024 8 916 …» is a date and a phone:
  - phone: 10 digits (a 3-digit code, in brackets or not, and 7 digits grouped 3-2-2, 3-4, 2-2-3 or
    2-3-2), with +7, 7 or 8 in front or not; groups may be run together (89161234567, 8916 1234567,
    8916123-45-67) as long as the code stands apart, or the 7 digits keep all their groups; a foreign
    number: + and 10-13 digits; a local number alone: 123-45-67 (or with dots or spaces, the same
    separator twice), 123-4567, 12-34-567;
  - СНИЛС: 123-456-789 01, 123 456 789 01; passport: 45 10 123456, 4510 123456 (spaces only);
  digits joined by bare dots (a date) are taken whole or not at all, a dot next to a space ends a
  sentence, and a lone 7 or 8 right after a house or flat marker (д. 7 9161234567) is the house;
- after a phone cue (тел., телефон, т., моб., сот., по номеру, whatsapp …): a number of 5-11 digits;
- last, a run of 10-11 digits with spaces, dashes, brackets that starts with + or has a bracket, or is
  7/8 and 10 more digits, or 9 and 9 more (8 (49624) 5-12-34);
- kept: a number after ИНН/ОГРН/КПП/БИК/ОКПО/ОКТМО (an organisation's codes are public and are what an
  inspector searches by; not if a phone word comes between), a plain digit run after «№», «заявка»,
  «обращение» (a request number) unless it is shaped like a mobile number or a phone word is before
  the «№». Dates (12.03.2024 10:15), times, sums (1 500 руб.), years, quarters (1 кв. 2024), house
  numbers (д. 5, дом 12к2, корп. 3) are shaped like none of the above.
Flats: «кв. 12», «кв12», «кв.45а», «квартира №45», «в квартире 45», «квартиры 12 и 14», «комната 3»,
  «flat 12», «apt. 12», «apartment 12»; after a street (ул. Ленина 5-12) the number after the dash.
Names (words of Cyrillic or Latin letters; a "name word" is one with a capital letter that is not a
known non-name such as УК, ИНН, Прошу, or in lower case a known first name or a surname of a usual
shape: -ов, -ев, -ин, -ын, -ский, -цкий, -ых, -их, -енко, -ук, -юк, -ян … in any grammatical case):
- a patronymic (-ович/-евич/-ич, -овна/-евна/-ична/-инична, in any grammatical case; in lower case the
  feminine ones only after a known first name) with the one or two name words before it and the one
  after it, written the same way (lower case or not): Иванов Иван Иванович, Иван Иванович Иванов, Иван
  Иванович, ИВАНОВ ИВАН ИВАНОВИЧ, иванову ивану ивановичу;
- a known first name (a list of common Russian first names, in any grammatical case) with the name
  words next to it: Мария Иванова, Иванова Мария (in lower case only next to a surname of a usual
  shape); alone, unless it is also a common word (Вера, Надежда, Роман, Слава …);
- initials (И.И., И. И., И.) with the name words next to them: Иванов И.И., И. И. Иванов, Иванов И.;
- after a cue (заявитель, жилец, собственник, ФИО, звонить, спросить, контактное лицо, мастер,
  диспетчер …), maybe after a flat (жилец кв. 12 Сидоров): the next one to three name words;
- a name word right next to a name already masked;
- not a street named after a person: a first name in the genitive right after a street marker and the
  word after it (ул. Юрия Гагарина, ул. Зои Космодемьянской).

Exits: `mask` (free text), `mask_address` (a building's address keeps its place, street and house),
`mask_raw_row` (the raw JSON row of a refused import row), `mask_frame` (text columns of a table),
`localise` (Russian placeholders of masked text into another language's).
"""

from __future__ import annotations

import json
import re

import pandas as pd

_MASKS = {
    "ru": {"phone": "[телефон скрыт]", "email": "[e-mail скрыт]", "name": "[ФИО скрыто]", "flat": "кв. [скрыто]",
           "passport": "[паспорт скрыт]", "snils": "[СНИЛС скрыт]", "card": "[номер карты скрыт]",
           "hidden": "[скрыто]"},
    "en": {"phone": "[phone hidden]", "email": "[e-mail hidden]", "name": "[name hidden]", "flat": "flat [hidden]",
           "passport": "[passport hidden]", "snils": "[SNILS hidden]", "card": "[card number hidden]",
           "hidden": "[hidden]"},
}
# While the rules run, a masked piece is one private-use character (no digits, no letters), so a later
# rule neither reads a placeholder's words nor joins digits across it.
_SENTINEL = {kind: chr(0xE000 + i) for i, kind in enumerate(_MASKS["ru"])}
_KIND_OF = {char: kind for kind, char in _SENTINEL.items()}
_ANY_SENTINEL = re.compile("[" + "".join(_SENTINEL.values()) + "]")

# ---------------------------------------------------------------------------------------------------
# Numbers

_H = r"[ \t\u00a0]"  # a space inside a number (not a line break)
# A run of digit groups with what may separate a phone's groups (spaces, dashes, dots, brackets): it may
# hold several phones, a date and a phone, or nothing personal; _phone_run splits it.
_RUN = re.compile(r"(?<!\d)(?:\+[ \t\u00a0]*)?(?:\([ \t\u00a0]*)?\d(?:[\d \t\u00a0\-.()\u2010-\u2015]*\d)?")
# Where a 10-digit number (code + number) may be split: after the code, and inside the 7-digit number
# as 3-2-2, 3-4, 2-2-3 or 2-3-2 (8 916 123 45 67, 8916 1234567, 8916123-45-67, 916123-4567, 89161234567).
_BODY_SPLITS = [{3, 6, 8}, {3, 6}, {3, 5, 7}, {3, 5, 8}]
_ALONE_SHAPES = {(3, 2, 2): {"-", ".", " "}, (3, 4): {"-"}, (2, 2, 3): {"-"}}  # a local number alone
_PHONE_LOOSE = re.compile(rf"(?<!\d)(?:\+{_H}*)?\d(?:[ \t\u00a0\-()]{{0,3}}\d){{9,10}}(?!\d)")
_PHONE_CUE = re.compile(
    r"(?i)(?<![а-яёa-z])(?:тел(?:ефон[а-яё]*)?|тлф|моб(?:ильн[а-яё]*)?|сот(?:ов[а-яё]*)?|т|ph(?:one)?|tel|"
    r"mob(?:ile)?|cell|по\s+номеру|номер(?:а|у)?\s+телефона|контактн[а-яё]*\s+(?:номер|телефон)[а-яё]*|"
    r"whatsapp|ватсап|вотсап|viber|вайбер)\.?[ \t:№#\-–]*(?:N\s*)?"
    r"(?P<num>\+?\d{5,11}|\+?\d{1,3}(?:[-. ]\d{2,3}){1,4})(?!\d|[.:]\d)"
)
_HOUSE_BEFORE = re.compile(r"(?i)(?:\b(?:д|дом|корп|корпус|к|стр|строение|кв|квартира|подъезд|этаж|эт|№)\.?\s*)$")
_ORG_CODE_BEFORE = re.compile(
    r"(?<![а-яёa-z])(?:ИНН|INN|ОГРН|ОГРНИП|КПП|БИК|ОКПО|ОКТМО|ОКАТО)(?![а-яёa-z])(?P<gap>[^\d\n;]{0,40})$", re.IGNORECASE
)
_REQUEST_BEFORE = re.compile(r"(?i)(?:№|#|(?<![а-яё])(?:заявк[а-яё]*|обращени[а-яё]*)(?:\s*№)?)\s*[:.]?\s*$")
_PHONE_WORD = re.compile(r"(?i)(?<![а-яё])(?:тел|звон|моб|сот|phone|call|whatsapp|viber|ватсап|вайбер)")
_MOBILE = re.compile(r"(?:[78]?9\d{9})")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_SNILS_CUE = re.compile(r"(?i)(снилс|snils)[\s:№N.-]*(?P<num>\d{3}[- ]?\d{3}[- ]?\d{3}[- ]?\d{2})(?!\d)")
_CARD = re.compile(r"(?<!\d)\d{4}([ -])\d{4}\1\d{4}\1\d{4}(?!\d)")
_NUMBER_WORD = r"(?:№|N|номер|ном\.)"
_PASSPORT = re.compile(
    rf"(?<![\d.,/\-])\d{{2}}[ \t]?\d{{2}}[ \t,]*{_NUMBER_WORD}[ \t:]*\d{{6}}(?!\d)"
)
_PASSPORT_CUE = re.compile(
    r"(?i)паспорт[а-яё]*(?:[\s:.,№#-]|рф\b|россии\b|гражданина\b|данные\b|серия\b|серии\b|сер\.)*"
    rf"(?P<num>\d{{2}}[ \t]?\d{{2}}(?:[ \t,]*(?:{_NUMBER_WORD}[ \t:]*)?\d{{6}})?|(?:{_NUMBER_WORD}[ \t:]*)?\d{{6}})"
    r"(?!\d|[.:]\d)"
)
_DIVISION = re.compile(r"(?i)(код\s+подразделения[\s:№]*)(\d{3}[\s-]?\d{3})(?!\d)")
_BIRTH = re.compile(
    r"(?i)((?:дата\s+рождения|д\.\s?р\.|родил(?:ся|ась))[\s:-]*)(\d{1,2}[./-]\d{1,2}[./-]\d{2,4}|\d{4})(?!\d)"
    r"|(?<!\d)(\d{4})(\s*г\.\s?р\.)"
)

# ---------------------------------------------------------------------------------------------------
# Flats

_FLAT = re.compile(
    r"(?i)(?<![а-яёa-z])(?P<kw>кв(?:артир[а-яё]*)?|кв-р[а-яё]*|комнат[а-яё]*|комн|flat|apt|apartment)\.?"
    r"[ \t]*(?:№|N(?=[ \t]*\d)|No\.?|#)?[ \t]*(?P<num>\d+(?:[/-]\d+)?[а-яёa-z]?)(?![\wа-яё])"
    r"(?:[ \t]*(?:,|\bи\b|\bили\b|–|-|\band\b)[ \t]*(?!(?:19|20)\d\d\b)\d{1,4}[а-яёa-z]?(?![\wа-яё]|[ \t]*[.:/,]?\d)"
    r"(?![ \t]*(?:подъезд|под\.|этаж|эт\.|дом|д\.|корп|раз|дн|руб|год|г\.|шт|лет|час|мин|%)))*"
)
_QUARTER_BEFORE = re.compile(r"(?i)(?:\b[1-4]|\b[IV]{1,3})(?:-?[а-я]{1,2})?\s*$")
_STREET = (r"(?:ул|улица|пр-т|пр-кт|просп|проспект|пер|переулок|б-р|бул|бульвар|ш|шоссе|пр-д|проезд|наб|набережная|"
           r"пл|площадь|туп|тупик|аллея|линия|мкр|мкрн|микрорайон|кв-л|квартал)")
_HOUSE_FLAT = re.compile(
    rf"(?i)(?P<pre>(?<![а-яё]){_STREET}\.?\s+[^\d,;\n]{{1,40}}?[\s,]+(?:(?:д|дом)\.?\s*)?\d+[а-яё]?)"
    r"\s*-\s*(?P<flat>\d+[а-яё]?)(?![\wа-яё]|[.:/-]?\d)"
)

# ---------------------------------------------------------------------------------------------------
# Names

_FIRST_NAMES_M = """
Александр Алексей Анатолий Андрей Антон Аркадий Арсений Артём Артем Артур Афанасий Богдан Борис Вадим Валентин
Валерий Василий Вениамин Виктор Виталий Владимир Владислав Владлен Всеволод Вячеслав Гавриил Геннадий Георгий
Герман Глеб Гордей Григорий Давид Даниил Данила Денис Дмитрий Евгений Егор Елисей Ефим Захар Иван Игнат Игнатий
Игорь Илья Иннокентий Иосиф Кирилл Климент Константин Кузьма Лаврентий Лев Леонид Лука Макар Максим Марат Марк
Матвей Мирон Мирослав Михаил Назар Никита Никифор Николай Олег Остап Павел Пётр Петр Платон Прохор Радик Ринат
Родион Роман Ростислав Руслан Рустам Савва Савелий Святослав Семён Семен Серафим Сергей Станислав Степан
Тарас Тимофей Тимур Тихон Трофим Фёдор Федор Феликс Филипп Фома Харитон Эдуард Эльдар Эмиль Эрик Юлиан Юрий
Яков Ян Ярослав Альберт Ильдар Айдар Азат Фарид Ренат Роберт Адам Алан Давид Демид Евдоким Емельян Ефрем Исаак
Нестор Осип Потап Самуил Саша Дима Серёжа Сережа Вова Коля Миша Петя Женя Лёша Леша Паша Витя Толя Юра Слава
"""
_FIRST_NAMES_F = """
Августа Агата Агния Ада Аделина Азалия Аксинья Алевтина Александра Алина Алиса Алла Алёна Алена Альбина Амалия
Анастасия Ангелина Анжела Анжелика Анна Антонина Анфиса Арина Ася Белла Валентина Валерия Варвара Василиса Вера
Вероника Виктория Виолетта Вита Владислава Галина Дарина Дарья Диана Дина Ева Евгения Евдокия Екатерина Елена
Елизавета Есения Жанна Зарина Злата Зинаида Зоя Изабелла Илона Инга Инна Ирина Капитолина Карина Кира Клавдия
Кристина Ксения Лада Лариса Лиана Лидия Лилия Любовь Людмила Майя Маргарита Марианна Марина Мария Марьям Марфа
Милана Мирослава Надежда Наталья Наталия Нелли Нина Нонна Оксана Олеся Ольга Полина Прасковья Раиса Регина
Римма Роза Светлана Серафима Снежана София Софья Стелла Стефания Таисия Тамара Татьяна Ульяна Фаина Эвелина
Элеонора Эльвира Эльмира Эмилия Юлия Яна Ярослава Гульнара Лейла Алсу Диляра Маша Таня Лена Оля Наташа Галя
Катя Аня Ира Люда Валя Надя Тоня Зина Лиза
"""
# First names that are also common words: masked next to another name word, not alone.
_AMBIGUOUS = """Вера Надежда Любовь Роман Слава Лев Марк Роза Лука Ада Ева Злата Майя Вита Дина Ян Яна Лада Мирон Ася
Надя Кира Алла Нина Инна Тоня Зоя Аня"""
_IRREGULAR = {"павел": "павл", "лев": "льв", "петр": "петр"}


def _name_forms(names: str) -> frozenset[str]:
    """Every name in its grammatical cases (over-generation is harmless: the extra forms are not words)."""
    forms: set[str] = set()
    for name in names.split():
        low = name.lower().replace("ё", "е")
        forms.add(low)
        if low in _IRREGULAR:
            stem = _IRREGULAR[low].replace("ё", "е")
            forms.update(stem + end for end in ("а", "у", "ом", "е"))
        elif low.endswith("ий"):
            forms.update(low[:-1] + end for end in ("я", "ю", "ем", "и"))
        elif low.endswith("ия"):
            forms.update(low[:-1] + end for end in ("и", "ю", "ей", "ею"))
        elif low.endswith(("й", "ь")):
            forms.update(low[:-1] + end for end in ("я", "ю", "ем", "е", "и", "ью"))
        elif low.endswith(("а", "я")):
            forms.update(low[:-1] + end for end in ("ы", "и", "е", "у", "ю", "ой", "ей", "ою", "ёй", "ей"))
        else:
            forms.update(low + end for end in ("а", "у", "ом", "ем", "е"))
    return frozenset(form.replace("ё", "е") for form in forms)


_FIRST_FORMS = _name_forms(_FIRST_NAMES_M) | _name_forms(_FIRST_NAMES_F)
_FIRST_NOMINATIVE = frozenset((_FIRST_NAMES_M + _FIRST_NAMES_F).lower().replace("ё", "е").split())
_AMBIGUOUS_NAMES = _name_forms(_AMBIGUOUS) | {"любой", "любую", "любое", "любые"}
_PATRONYMIC = re.compile(
    r"[а-яё]{2,}(?:ович|евич)(?:а|у|ем|е)?|[а-яё]{2,}(?:овн|евн|ичн)(?:а|ы|е|у|ой|ою)"
    r"|(?:ильич|кузьмич|лукич|фомич|никитич|саввич|фокич|ильинич)(?:а|у|ом|е)?"
    r"|[a-z]{2,}(?:ovich|evich|ovitch|ovna|evna|ichna)"
)
_PATRONYMIC_MASCULINE = re.compile(
    r"[а-яё]{2,}(?:ович|евич)(?:а|у|ем|е)?|(?:ильич|кузьмич|лукич|фомич|никитич|саввич|фокич)(?:а|у|ом|е)?"
)
_SURNAME_SHAPE = re.compile(
    r"[а-яё]{2,}(?:(?:ов|ев|ин|ын)(?:а|у|ым|ой|ою|ом|е|ы|ых|ым|ыми)?|(?:ск|цк)(?:ий|ая|ого|ой|ому|ую|им|ом|ие|их)"
    r"|[а-яё]ых|[а-яё]их|енко|(?:ук|юк|ян|янц)(?:а|у|ом|е)?|швили|дзе)"
)
_STOP = frozenset("""
ук тсж жск жэк мкд жкх рсо омсу еду едс мо рф гжи мчс ооо оао зао пао ао муп гуп гбу мбу мку ип нко снт днп
ул улица дом подъезд кв квартира этаж тел телефон корп корпус стр строение мкр микрорайон пр проспект пер
г город округ район область обл поселок посёлок пос деревня село москва московская подмосковье россия
уважаемый уважаемая уважаемые прошу просим просьба спасибо здравствуйте добрый день вечер утро срочно
течет течёт нет не в на по и с у от для при из это есть был была было были
управляющая компания администрация диспетчер диспетчерская аварийная служба мастер заявка обращение
январь февраль март апрель май июнь июль август сентябрь октябрь ноябрь декабрь
января февраля марта апреля мая июня июля августа сентября октября ноября декабря
понедельник вторник среда четверг пятница суббота воскресенье добродел госуслуги ростелеком мособлгаз
мосэнерго мосводоканал россети фио тсн зхо тко гвс хвс других своих таких никаких каких моих наших ваших всяких
любых разных новых старых жилых нежилых инн огрн огрнип кпп бик окпо октмо окато снилс паспорт
""".split())
_CUE = re.compile(
    r"(?i)(?<![а-яёa-z])(?:заявител[а-яё]*|жил(?:ец|ица|ьца|ьцу|ицы)|жител[а-яё]*|собственни[а-яё]*|"
    r"нанимател[а-яё]*|квартиросъ[её]мщи[а-яё]*|арендатор[а-яё]*|ф\.?\s?и\.?\s?о\.?|"
    r"(?:по|пере)?звонит[ье]|звонил[аи]?|спросит[ье]|обраща(?:ется|лся|лась|ются)|обратил(?:ся|ась|ись)|"
    r"контактное\s+лицо|контакт|гражданин[а-яё]*|гражданк[а-яё]*|гр\.|сосед[а-яё]*|председател[а-яё]*|"
    r"старш(?:ий|ая)\s+по\s+(?:дому|подъезду)|мастер[а-яё]*|диспетчер[а-яё]*|слесар[а-яё]*|сантехник[а-яё]*|"
    r"электрик[а-яё]*|дворник[а-яё]*|техник[а-яё]*|уборщиц[а-яё]*|applicant|resident|tenant|contact(?:\s+person)?|call|ask\s+for|"
    r"name)(?P<sep>[ \t]*[:,\-–—]?[ \t]*)"
)
_W = r"[А-ЯЁA-Z][а-яёa-z]+(?:-[А-ЯЁA-Z][а-яёa-z]+)?|[А-ЯЁA-Z]{2,}(?:-[А-ЯЁA-Z]{2,})?"
# Initials (И.И., И. И., И.) with the name words right before and after them (Иванов И.И., И.И. Иванов);
# not a letter before a number (Д. 5), but before a date (Иванов А. 12.03.2024).
_INITIALS = re.compile(
    rf"(?:(?<![\w.])(?P<left>{_W})[ \t]+)?(?<![\w.])(?P<ini>[А-ЯЁA-Z]\.(?:[ \t]?[А-ЯЁA-Z](?:\.|(?![\w.])))?)"
    rf"(?![ \t]*\d+(?!\d|[.:]\d))(?:[ \t]?(?P<right>{_W})(?![\w]))?"
)
_WORD = re.compile(r"[A-Za-zА-ЯЁа-яё]+(?:-[A-Za-zА-ЯЁа-яё]+)*")
_STREET_PERSON = re.compile(
    rf"(?i)(?<![а-яё]){_STREET}(?![а-яё])\.?[ \t]+(?P<first>[А-ЯЁ][а-яё]+)(?:[ \t]+[А-ЯЁ][а-яё]+(?:-[А-ЯЁ][а-яё]+)?)?"
)
_TOPONYM = re.compile(
    rf"(?i)(?<![а-яё]){_STREET}(?![а-яё])\.?|(?<![а-яё])(?:г|гор|город|г\.\s?о|го|городской\s+округ|пос|пгт|рп|п|с|село|"
    r"д|дер|деревня|им|имени|р-н|район)\.(?=\s*[А-ЯЁ0-9])|(?<![а-яё])(?:город|городской\s+округ|деревня|село|"
    r"поселок|посёлок|имени)(?=\s)"
)


def _name_word(word: str) -> bool:
    low = word.lower().replace("ё", "е")
    return low not in _STOP and not _CUE.fullmatch(low)


def _style(word: str) -> str:
    letters = word.replace("-", "")
    if letters.islower():
        return "lower"
    if letters.isupper():
        return "upper" if len(letters) >= 2 else "title"
    if word[0].isupper() and letters[1:].islower():
        return "title"
    if all(part[:1].isupper() and part[1:].islower() for part in word.split("-")):
        return "title"
    return "mixed"


class _Words:
    """The words of a text with what the name rules need to know about each."""

    def __init__(self, text: str, protected: list[tuple[int, int]]):
        self.text = text
        self.spans = [(m.start(), m.end()) for m in _WORD.finditer(text)]
        self.raw = [text[a:b] for a, b in self.spans]
        self.low = [w.lower().replace("ё", "е") for w in self.raw]
        self.style = [_style(w) for w in self.raw]
        self.protected = [any(a <= s < b for a, b in protected) for s, _ in self.spans]
        self.marked = [False] * len(self.spans)

    def adjacent(self, i: int, j: int) -> bool:
        """Words i and j (j = i ± 1) are separated by spaces only."""
        if not (0 <= i < len(self.spans) and 0 <= j < len(self.spans)):
            return False
        a, b = sorted((i, j))
        gap = self.text[self.spans[a][1]:self.spans[b][0]]
        return gap != "" and gap.isspace() and gap.count("\n") <= 1

    def is_first_name(self, i: int) -> bool:
        return self.low[i] in _FIRST_FORMS

    def surname_shaped(self, i: int) -> bool:
        return self.low[i] not in _STOP and _SURNAME_SHAPE.fullmatch(self.low[i]) is not None

    def name_like(self, i: int, *, override: bool = False) -> bool:
        if self.protected[i] and not override:
            return False
        low = self.low[i]
        if low in _STOP or _CUE.fullmatch(low) or len(low) < 2:
            return False
        if self.style[i] in ("title", "upper"):
            return True
        if self.style[i] == "lower":
            return self.is_first_name(i) or self.surname_shaped(i)
        return False

    def is_patronymic(self, i: int) -> bool:
        if self.protected[i] or self.style[i] == "mixed":
            return False
        low = self.low[i]
        if not _PATRONYMIC.fullmatch(low):
            return False
        if self.style[i] != "lower" or _PATRONYMIC_MASCULINE.fullmatch(low):
            return True
        # a lower-case feminine patronymic (-овна) could be a short adjective (виновна): only after a first name
        return self.adjacent(i - 1, i) and self.is_first_name(i - 1)


def _mark_names(text: str, protected: list[tuple[int, int]]) -> str:
    words = _Words(text, protected)
    n = len(words.spans)
    marked = words.marked

    def near(i: int, j: int, *, override: bool = False) -> bool:
        """Word j, next to word i, is a name word written the way word i is (a lower-case word is not
        the surname of a capitalised name)."""
        return words.adjacent(i, j) and words.name_like(j, override=override) \
            and (words.style[i] == "lower") == (words.style[j] == "lower")

    for i in range(n):
        if words.is_patronymic(i):
            marked[i] = True
            if near(i, i - 1, override=True):
                marked[i - 1] = True
                if near(i - 1, i - 2, override=True):
                    marked[i - 2] = True
            if near(i, i + 1):
                marked[i + 1] = True
        elif words.is_first_name(i) and not words.protected[i] and words.low[i] not in _STOP:
            left, right = near(i, i - 1), near(i, i + 1)
            if words.style[i] == "lower":
                left = left and words.surname_shaped(i - 1)
                right = right and words.surname_shaped(i + 1)
                if not (left or right):
                    continue
            elif words.style[i] == "mixed" or (words.low[i] in _AMBIGUOUS_NAMES and not (left or right)):
                continue
            marked[i] = True
            if left:
                marked[i - 1] = True
            if right:
                marked[i + 1] = True
    name = _SENTINEL["name"]
    for i in range(n):  # a name word right next to a name already found (Иванов А. Александр Иванов)
        start, end = words.spans[i]
        if (re.match(rf"[ \t]+{name}", text[end:end + 3]) or re.search(rf"{name}[ \t]+$", text[max(0, start - 3):start])) \
                and words.name_like(i):
            marked[i] = True
    for cue in _CUE.finditer(text):
        # the name follows the cue, maybe after a flat (жилец кв. 12 Сидоров)
        end = cue.end() + len(re.match(rf"(?:{_SENTINEL['flat']}[ \t,:\-–—]*)?", text[cue.end():]).group(0))
        after = [i for i in range(n) if words.spans[i][0] >= end]
        if not after or words.spans[after[0]][0] != end:
            continue
        i, taken = after[0], 0
        while i < n and taken < 3 and words.name_like(i):
            marked[i] = True
            taken += 1
            if not words.adjacent(i, i + 1):
                break
            i += 1
    if not any(marked):
        return text
    out, at, i = [], 0, 0
    while i < n:
        if not marked[i]:
            i += 1
            continue
        j = i
        while j + 1 < n and marked[j + 1] and words.adjacent(j, j + 1):
            j += 1
        out.append(text[at:words.spans[i][0]])
        out.append(_SENTINEL["name"])
        at = words.spans[j][1]
        i = j + 1
    out.append(text[at:])
    return "".join(out)


# ---------------------------------------------------------------------------------------------------
# The rules in order


def _kept_at(string: str, start: int, text: str, *, request_ok: bool = True) -> bool:
    """A number an inspector needs: an organisation's code, or a request number after «№» / «заявка»."""
    before = string[max(0, start - 60):start]
    code = _ORG_CODE_BEFORE.search(before)
    if code and not _PHONE_WORD.search(code.group("gap")):
        return True
    request = _REQUEST_BEFORE.search(before) if request_ok else None
    return bool(request) and text.isdigit() and not _MOBILE.fullmatch(text) \
        and not _PHONE_WORD.search(before[max(0, request.start() - 12):request.start()])


def _kept_number(match: re.Match, *, request_ok: bool = True) -> bool:
    return _kept_at(match.string, match.start(), match.group(0), request_ok=request_ok)


def _phone_run(match: re.Match) -> str:
    """The phones, СНИЛС numbers (123-456-789 01) and passports written with spaces only (45 10 123456) in
    a run of digit groups: the split that covers the most digits with their shapes, so «8-916-123-45-67
    8-916-765-43-21» is two phones, «12.03.2024 8 916 …» a date and a phone."""
    run, base, string = match.group(0), match.start(), match.string
    groups = [(m.start(), m.end()) for m in re.finditer(r"\d+", run)]
    if sum(b - a for a, b in groups) < 7:
        return run
    n = len(groups)
    seps = [run[groups[k][1]:groups[k + 1][0]] for k in range(n - 1)]

    def start_of(i: int) -> int:
        """Where a number starting at group i starts: with a + and a bracket right before it."""
        before = run[groups[i - 1][1] if i else 0:groups[i][0]]
        return groups[i][0] - len(re.search(r"(?:\+[ \t\u00a0]*)?(?:\([ \t\u00a0]*)?$", before).group(0))

    def kind(i: int, j: int) -> str | None:
        sizes = tuple(b - a for a, b in groups[i:j + 1])
        digits = "".join(run[a:b] for a, b in groups[i:j + 1])
        start = start_of(i)
        plus = "+" in run[start:groups[i][0]]
        if len(digits) < 7 or len(digits) > 13 or _kept_at(string, base + start, run[start:groups[j][1]]):
            return None
        if (i and seps[i - 1] in (".", ":")) or (j < n - 1 and seps[j] in (".", ":")):
            return None  # digits joined by bare dots (a date) are taken whole or not at all
        if plus and digits[0] != "7" and len(digits) >= 10:
            return "phone"  # a foreign number
        if sizes in ((4, 6), (2, 2, 6)) and all(sep.strip(" \t") == "" for sep in seps[i:j]) and not plus:
            return "passport"
        if sizes == (3, 3, 3, 2) and len(set(seps[i:i + 2])) == 1 and {sep.strip() or " " for sep in seps[i:j]} <= {"-", " "}:
            return "snils"
        splits = {sum(sizes[:k]) for k in range(1, len(sizes))}
        if len(digits) == 11 and digits[0] in "78":
            if sizes[0] == 1 and not plus and _HOUSE_BEFORE.search(string[max(0, base + start - 20):base + start]):
                return None  # «д. 7 9161234567»: a lone 7 or 8 right after a house or flat marker is the house
            splits = {split - 1 for split in splits} - {0}
        elif len(digits) != 10:
            between = {sep.strip() or " " for sep in seps[i:j]}
            alone = sizes in _ALONE_SHAPES and len(set(seps[i:j])) == 1 and between <= _ALONE_SHAPES[sizes]
            return "phone" if alone else None
        # the code split off (others may be missing), or the number's splits all there, or none at all
        shaped = any(splits <= allowed and (3 in splits or splits in (set(), allowed - {3})) for allowed in _BODY_SPLITS)
        return "phone" if shaped else None

    # best[i]: (digits covered, -numbers, last group, kind) for groups i.. (the most digits, then the fewest numbers)
    best: list[tuple[int, int, int | None, str | None]] = [(0, 0, None, None)] * (n + 1)
    for i in range(n - 1, -1, -1):
        best[i] = (best[i + 1][0], best[i + 1][1], None, None)
        for j in range(i, min(n, i + 6)):
            if j > i and (len(seps[j - 1]) > 4 or re.search(r"\.\s|\s\.", seps[j - 1])):
                break  # a number's groups are close, and a dot before or after a space ends a sentence
            found = kind(i, j)
            if found:
                covered = sum(b - a for a, b in groups[i:j + 1]) + best[j + 1][0]
                score = (covered, best[j + 1][1] - 1)
                if score > best[i][:2]:
                    best[i] = (*score, j, found)
    out, at, i = [], 0, 0
    while i < n:
        _, _, j, found = best[i]
        if j is None:
            i += 1
            continue
        out.append(run[at:start_of(i)] + _SENTINEL[found])
        at = groups[j][1]
        i = j + 1
    return "".join(out) + run[at:]


def _phone_loose(match: re.Match) -> str:
    text = match.group(0)
    digits = re.sub(r"\D", "", text)
    if _kept_number(match):
        return text
    shaped = text.startswith("+") or "(" in text or (len(digits) == 11 and digits[0] in "78") \
        or (len(digits) == 10 and digits[0] == "9")
    return _SENTINEL["phone"] if shaped else text


def _phone_cue(match: re.Match) -> str:
    num = match.group("num")
    if sum(ch.isdigit() for ch in num) < 5:
        return match.group(0)
    return match.group(0)[: match.start("num") - match.start()] + _SENTINEL["phone"]


def _flat(match: re.Match) -> str:
    before = match.string[max(0, match.start() - 12):match.start()]
    number = match.group("num")
    if match.group("kw").lower().startswith("кв") and re.fullmatch(r"(?:19|20)\d\d", number) \
            and _QUARTER_BEFORE.search(before):
        return match.group(0)  # «1 кв. 2024»: a quarter of a year
    return _SENTINEL["flat"]


def _masked_group(match: re.Match, group: str | int, kind: str) -> str:
    start, end = match.span(group)
    whole = match.group(0)
    return whole[: start - match.start()] + _SENTINEL[kind] + whole[end - match.start():]


def _numbers(text: str) -> str:
    """E-mails and every number rule, in an order where the narrower shapes go first."""
    out = _EMAIL.sub(_SENTINEL["email"], text)
    out = _SNILS_CUE.sub(lambda m: _masked_group(m, "num", "snils"), out)
    out = _DIVISION.sub(lambda m: _masked_group(m, 2, "passport"), out)
    out = _PASSPORT_CUE.sub(lambda m: _masked_group(m, "num", "passport"), out)
    out = _CARD.sub(_SENTINEL["card"], out)
    out = _BIRTH.sub(lambda m: _masked_group(m, 2 if m.group(2) else 3, "hidden"), out)
    out = _PASSPORT.sub(lambda m: m.group(0) if _kept_number(m, request_ok=False) else _SENTINEL["passport"], out)
    out = _RUN.sub(_phone_run, out)
    out = _PHONE_CUE.sub(_phone_cue, out)
    out = _PHONE_LOOSE.sub(_phone_loose, out)
    return out


def _flats(text: str) -> str:
    out = _HOUSE_FLAT.sub(lambda m: m.group("pre") + ", " + _SENTINEL["flat"], text)
    return _FLAT.sub(_flat, out)


def _names(text: str, protect: bool = False) -> str:
    """Names; with protect (an address), a street's or a place's name after its marker is not one."""
    spans: list[tuple[int, int]] = []

    def initials(match: re.Match) -> str:
        left, right = match.group("left"), match.group("right")
        left_ok = left is not None and _name_word(left)
        right_ok = right is not None and _name_word(right)
        if not (left_ok or right_ok) or any(a <= match.start("ini") < b for a, b in spans):
            return match.group(0)
        start = match.start("left") if left_ok else match.start("ini")
        end = match.end("right") if right_ok else match.end("ini")
        whole = match.group(0)
        return whole[: start - match.start()] + _SENTINEL["name"] + whole[end - match.start():]

    out = text
    for _ in range(3):  # again over what is left next to a masked name (Гоголь А. А.И. Гоголь)
        spans[:] = _protected_spans(out) if protect else []
        done, out = out, _INITIALS.sub(initials, out)
        if out == done:
            break
    return _mark_names(out, (_protected_spans(out) if protect else []) + _street_person_spans(out))


def _street_person_spans(text: str) -> list[tuple[int, int]]:
    """A street named after a person (ул. Юрия Гагарина, ул. Зои Космодемьянской): a first name in the
    genitive right after a street marker, and the word after it, are a street, not a person."""
    spans = []
    for match in _STREET_PERSON.finditer(text):
        first = match.group("first").lower().replace("ё", "е")
        if first in _FIRST_FORMS and first not in _FIRST_NOMINATIVE:
            spans.append((match.start("first"), match.end()))
    return spans


def _render(text: str, lang: str) -> str:
    tokens = _MASKS.get(lang, _MASKS["ru"])
    name = _SENTINEL["name"]
    text = re.sub(rf"{name}(?:[ \t]*{name})+", name, text)
    return _ANY_SENTINEL.sub(lambda m: tokens[_KIND_OF[m.group(0)]], text)


def _clean(text) -> str | None:
    if text is None or (isinstance(text, float) and text != text):
        return None
    try:
        if pd.isna(text):
            return None
    except (TypeError, ValueError):
        pass
    return _ANY_SENTINEL.sub("", str(text))


def localise(text, lang: str = "ru"):
    """Text masked in Russian with its placeholders in the language asked for (other values as they are)."""
    if not isinstance(text, str) or lang not in _MASKS or lang == "ru":
        return text
    for kind in sorted(_MASKS["ru"], key=lambda k: -len(_MASKS["ru"][k])):  # «кв. [скрыто]» before «[скрыто]»
        text = text.replace(_MASKS["ru"][kind], _MASKS[lang][kind])
    return text


def mask(text: str | None, lang: str = "ru") -> str:
    """The text with personal data replaced by a visible placeholder ('' for no text)."""
    clean = _clean(text)
    if clean is None:
        return ""
    return _render(_names(_flats(_numbers(clean))), lang)


# ---------------------------------------------------------------------------------------------------
# Addresses

_ADDRESS_FLAT = re.compile(r"(?i)^\s*(?:кв(?:артир[а-яё]*)?|кв-р[а-яё]*|комн(?:ат[а-яё]*)?|пом(?:ещени[а-яё]*)?|"
                           r"офис|оф|flat|apt|apartment)\.?\s*(?:№\s*)?\d")
_ADDRESS_HOUSE = re.compile(r"(?i)(?<![а-яё])(?:д|дом|вл|влд|владение|уч|участок|зд|здание|house|bld)\.?\s*№?\s*\d")
_ADDRESS_HOUSE_FLAT = re.compile(r"(?i)^(?P<house>\s*(?:(?:д|дом)\.?\s*)?\d+[а-яё]?)\s*-\s*\d+[а-яё]?\s*$")
_ADDRESS_BUILDING = re.compile(r"(?i)^\s*(?:корп|корпус|к|стр|строение|лит|литера|соор|сооружение|подъезд|под|"
                               r"этаж|эт|секция|блок|building|entrance|floor)\.?\s*\d*[а-яёa-z]?\s*$")
_ADDRESS_PLACE = re.compile(rf"(?i)(?<![а-яё])(?:{_STREET}|г|гор|город|г\.\s?о|го|городской\s+округ|пос|посёлок|"
                            r"поселок|пгт|рп|п|с|село|д|дер|деревня|снт|днп|тер|территория|р-н|район|обл|область|"
                            r"им|имени|street|st|avenue|ave|road|rd)(?:\.|\s|$)")


def _protected_spans(text: str) -> list[tuple[int, int]]:
    """In an address: the street's or the place's name after its marker (ул. Юрия Гагарина, г. Королёв),
    up to two words, is not a person's name."""
    spans = []
    for marker in _TOPONYM.finditer(text):
        rest = text[marker.end():]
        words = re.match(r"\s*(?:\d+-?[а-яё]{0,2}\s+)?(?:[^\W\d_][\w-]*\.?\s*){1,2}", rest)
        if words:
            spans.append((marker.end(), marker.end() + words.end()))
    return spans


def mask_address(address: str | None, lang: str = "ru") -> str:
    """A building's address as an inspector needs it: the place, the street and the house stay; a flat, a
    person's name, a phone or anything else after the house is masked ('' for no address).

    Read piece by piece (between commas): a postcode, a place or a street (after its marker: г., г.о.,
    мкр., ул., пр-т … or «Ленина ул.») and the house (д. 5, дом 12к2, a bare 5, 7/2) stay, with their
    names not taken for a person's (ул. Юрия Гагарина) but phones, e-mails and flats in them masked;
    корп., стр., подъезд, этаж after the house stay; a bare number after the house is the flat (ул. Ленина,
    5, 12), and so is the number after a dash (ул. Ленина 5-12, д. 5-17); any other piece goes through
    `mask`, and after the house it is hidden whole even if no rule saw a name in it (…, кв. 7, Петров)."""
    clean = _clean(address)
    if clean is None:
        return ""
    pieces = re.split(r"([,;])", clean)
    out = []
    seen_house = False
    for piece in pieces:
        if piece in (",", ";") or not piece.strip():
            out.append(piece)
            continue
        lead = piece[: len(piece) - len(piece.lstrip())]
        body = piece.strip()
        if _ADDRESS_FLAT.match(body):
            masked = _flats(_numbers(piece))
        elif re.fullmatch(r"\d{6}", body) and not seen_house:  # a postcode
            masked = piece
        elif not seen_house and _ADDRESS_HOUSE_FLAT.match(piece):  # «5-17», «д. 5-17»: house 5, flat 17
            seen_house = True
            masked = _ADDRESS_HOUSE_FLAT.match(piece).group("house") + ", " + _SENTINEL["flat"]
        elif re.fullmatch(r"\d+[а-яё]?(?:[/-]\d+[а-яё]?)?(?:\s*(?:к|корп|стр)\.?\s*\d+)?", body, re.IGNORECASE):
            if seen_house:
                masked = lead + _SENTINEL["flat"]
            else:
                seen_house = True
                masked = piece
        elif _ADDRESS_BUILDING.match(body) and seen_house:
            masked = piece
        elif _ADDRESS_HOUSE.search(body) or _ADDRESS_PLACE.match(body) or re.search(rf"(?i)\s(?:{_STREET})\.?$", body):
            if _ADDRESS_HOUSE.search(body):
                seen_house = True
            masked = _names(_flats(_numbers(piece)), protect=True)
        else:
            masked = _names(_flats(_numbers(piece)))
            if seen_house and masked == piece and re.search(r"\w", body):
                masked = lead + _SENTINEL["hidden"]
        out.append(masked)
    return _render("".join(out), lang)


# ---------------------------------------------------------------------------------------------------
# Raw rows and tables

# A raw row's column, by its header: an address keeps its street and house; a column of personal data is
# hidden whole (a surname alone in an «ФИО» column has nothing else to tell it by); any other through mask.
_ADDRESS_COLUMN = re.compile(r"(?i)адрес|address")
_ORGANISATION_COLUMN = re.compile(r"(?i)организац|управляющ|исполнител|(?<![а-яё])ук(?![а-яё])|organi[sz]ation|company")
_PERSONAL_COLUMNS = [
    ("phone", re.compile(r"(?i)телефон|(?<![а-яё])тел(?![а-яё])|(?<![а-яё])моб|phone|mobile")),
    ("email", re.compile(r"(?i)e-?mail|почт")),
    ("passport", re.compile(r"(?i)паспорт|passport")),
    ("snils", re.compile(r"(?i)снилс|snils")),
    ("flat", re.compile(r"(?i)квартир|(?<![а-яё])кв(?![а-яё])|flat|apartment")),
    ("name", re.compile(r"(?i)фио|ф\.и\.о|заявител|фамили|(?<![а-яё])имя|отчеств|applicant|(?<![a-z])name")),
    ("hidden", re.compile(r"(?i)контакт|contact")),
]


def _column_rule(header: str) -> str:
    """How a raw row's value is masked: 'address', 'text' (mask) or the kind of personal data it is."""
    if _ADDRESS_COLUMN.search(header):
        return "address"
    if _ORGANISATION_COLUMN.search(header):
        return "text"
    return next((kind for kind, pattern in _PERSONAL_COLUMNS if pattern.search(header)), "text")


def _dump(value, lang: str, rule: str = "text") -> str:
    """The JSON text of a parsed value with every value masked (objects as pairs, keys and order kept)."""
    if isinstance(value, _Pairs):
        items = (json.dumps(key, ensure_ascii=False) + ":" + _dump(item, lang, _column_rule(str(key)) if rule == "text"
                                                                    else rule)
                 for key, item in value)
        return "{" + ",".join(items) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_dump(item, lang, rule) for item in value) + "]"
    if value is None or isinstance(value, bool):
        return json.dumps(value)
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    if rule == "address":
        masked = mask_address(text, lang)
    elif rule != "text":
        masked = _MASKS.get(lang, _MASKS["ru"])[rule] if text.strip() else text
    else:
        masked = mask(text, lang)
    if not isinstance(value, str) and masked == text:
        return text  # a number with nothing personal in it stays a number
    return json.dumps(masked, ensure_ascii=False)


class _Pairs(list):
    """A JSON object as its (key, value) pairs: repeated keys (a file may repeat a header) and order kept."""


def mask_raw_row(raw_json: str | None, lang: str = "ru") -> str:
    """The raw JSON row of a refused import row (keys are the file's headers) with every value masked: an
    address column through `mask_address`, a column whose header names personal data (ФИО, заявитель,
    телефон, e-mail, квартира, паспорт, СНИЛС, контакт …) hidden whole, any other value through `mask`.
    Keys, their order (and repeats), nulls and numbers with nothing personal in them are kept; the text is
    not ASCII-escaped. Not valid JSON: the whole string through `mask`."""
    clean = _clean(raw_json)
    if clean is None:
        return ""
    try:
        parsed = json.loads(clean, object_pairs_hook=_Pairs)
    except (ValueError, TypeError):
        return mask(clean, lang)
    return _dump(parsed, lang)


def mask_frame(frame: pd.DataFrame, columns, lang: str = "ru") -> pd.DataFrame:
    """A copy of the frame with the named text columns masked (each distinct value once; NA stays NA)."""
    out = frame.copy()
    for column in [columns] if isinstance(columns, str) else list(columns):
        values = out[column]
        present = values.notna()
        distinct = pd.unique(values[present].astype(object))
        masked = {value: mask(value, lang) for value in distinct}
        result = values.astype(object).copy()
        result[present] = values[present].astype(object).map(masked)
        if isinstance(values.dtype, pd.StringDtype):
            result = result.astype(values.dtype)
        out[column] = result
    return out
