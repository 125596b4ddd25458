"""Residents' personal data never reach the screen: names, phone numbers, e-mails and flat numbers
in free text are masked before anything shows a request's text.

Rules, not a model: they are predictable and testable, and over-masking a word is the safe error.
- phone: a run of digits and separators (spaces, dashes, brackets, a leading +) with 10 or 11 digits;
- e-mail: anything@domain.tld;
- full name: three capitalised Cyrillic words ending in a patronymic (Иванов Иван Иванович), or a
  surname with initials (Иванов И.И., И. И. Иванов);
- a name after a cue word (заявитель, жилец, ФИО, звонить, спросить …): the next one or two
  capitalised words;
- flat: «кв. 12», «квартира 12».
"""

from __future__ import annotations

import re

_MASKS = {
    "ru": {"phone": "[телефон скрыт]", "email": "[e-mail скрыт]", "name": "[ФИО скрыто]", "flat": "кв. [скрыто]"},
    "en": {"phone": "[phone hidden]", "email": "[e-mail hidden]", "name": "[name hidden]", "flat": "flat [hidden]"},
}

_UP = "А-ЯЁ"
_LOW = "а-яё"
_WORD = rf"[{_UP}][{_LOW}]+(?:-[{_UP}][{_LOW}]+)?"
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE_CANDIDATE = re.compile(r"\+?\d[\d\s\-()]{8,}\d")
_PATRONYMIC_NAME = re.compile(rf"\b{_WORD}\s+{_WORD}\s+[{_UP}][{_LOW}]+(?:ович|евич|ич|овна|евна|ична|инична)\b")
_INITIALS_AFTER = re.compile(rf"\b{_WORD}\s+[{_UP}]\.\s?[{_UP}]\.")
_INITIALS_BEFORE = re.compile(rf"\b[{_UP}]\.\s?[{_UP}]\.\s?{_WORD}")
_CUE = re.compile(
    rf"(?i:\b(?:заявитель|заявительница|жилец|жилица|житель|жительница|собственник|собственница|фио|"
    rf"контактное лицо|звонить|позвонить|перезвонить|спросить|обращается))(?P<sep>[\s:,-]+)"
    rf"(?P<name>{_WORD}(?:\s+{_WORD})?)"
)
_FLAT = re.compile(r"(?i)\b(?:кв\.?|квартира|квартиры|квартиру)\s*№?\s*\d+[а-яa-z]?")


def _mask_phone(match: re.Match, token: str) -> str:
    text = match.group(0)
    digits = sum(ch.isdigit() for ch in text)
    # An organisation's INN (10 or 12 digits) is public and is what an inspector searches by.
    before = match.string[max(0, match.start() - 8):match.start()].upper()
    if "ИНН" in before or "INN" in before:
        return text
    return token if 10 <= digits <= 11 else text


def mask(text: str | None, lang: str = "ru") -> str:
    """The text with personal data replaced by a visible placeholder ('' for no text)."""
    if text is None or text != text:  # None or NaN
        return ""
    tokens = _MASKS.get(lang, _MASKS["ru"])
    out = _EMAIL.sub(tokens["email"], str(text))
    out = _PHONE_CANDIDATE.sub(lambda m: _mask_phone(m, tokens["phone"]), out)
    out = _PATRONYMIC_NAME.sub(tokens["name"], out)
    out = _INITIALS_AFTER.sub(tokens["name"], out)
    out = _INITIALS_BEFORE.sub(tokens["name"], out)
    out = _CUE.sub(lambda m: m.group(0)[: m.start("name") - m.start(0)] + tokens["name"], out)
    out = _FLAT.sub(tokens["flat"], out)
    return out
