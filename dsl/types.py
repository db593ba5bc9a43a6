"""Types the checker gives to expressions."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from .units import DIMENSION_NAMES


@dataclass(frozen=True)
class Ty:
    kind: str                       # number | bool | string | list | date
    dim: Optional[str] = None       # numbers: None (a count), ratio, duration, money
    enum: Optional[tuple] = None    # strings with a closed set of values
    literal: bool = False           # a unitless number literal adopts the other side's unit
    integer: bool = False           # known to be a whole number (lets the compiler use int ops)

    def describe(self, lang: str = "en") -> str:
        names = DIMENSION_NAMES[lang]
        if self.kind == "number":
            return names[self.dim]
        return names.get(self.kind, self.kind)


NUMBER = Ty("number")
INTEGER = Ty("number", integer=True)
BOOL = Ty("bool")
STRING = Ty("string")
