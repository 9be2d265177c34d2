"""Enums whose members carry the Chinese label a bureau user reads.

Each member is declared with its value and its label, ``ISSUED = "issued", "已发放"``; the value
is what is stored and sent, ``.label`` what an answer shows beside it.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Self


class LabelledEnum(StrEnum):
    _value_: str
    label: str

    # ``label`` has a default only so that type checkers accept the by-value lookup ``Kind("x")``;
    # a member declared without one is refused.
    def __new__(cls, value: str, label: str = "") -> Self:
        if not label:
            raise TypeError(f"{cls.__name__} member {value!r} has no label")
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label
        return member
