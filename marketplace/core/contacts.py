"""Normalised contacts (phone digits, lower-cased e-mail, address without spaces) as database
expressions. The related-party graph (``oversight.graph``) matches firms' contacts with those of
departments, their staff and affiliated entities on these keys, and the models index them, so the
characters stripped live here once: an index serves a query only if both use the same expression.
"""

from __future__ import annotations

from django.db.models import F, Value
from django.db.models.expressions import Combinable
from django.db.models.functions import Lower, Replace, Trim

# Punctuation around area codes and extensions; what is left of a phone number is its digits.
PHONE_PUNCTUATION = "-–—－ 　()（）+./"
ADDRESS_SPACE = " 　\t\r\n"


def _strip(column: str, characters: str) -> Combinable:
    expression: Combinable = F(column)
    for character in characters:
        expression = Replace(expression, Value(character), Value(""))
    return expression


def phone_key(column: str = "phone") -> Combinable:
    return _strip(column, PHONE_PUNCTUATION)


def email_key(column: str = "email") -> Combinable:
    return Lower(Trim(column))


def address_key(column: str = "address") -> Combinable:
    return _strip(column, ADDRESS_SPACE)
