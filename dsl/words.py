"""Values as people read them and as JSON carries them: the small vocabulary that decisions,
rule kinds, diffs and derived documents share."""
from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from .amounts import Amount

_PLACEHOLDER = re.compile(r"\{(\w+)\}")
# JSON's own values, which plain() and the compact form keep as they are: most of a decision's
# values, so they are told apart by a type check before any call
# A rule keeps the words of at most this many results (and languages) on `compiled.words`
# (Decision.to_json, an alert's fired headline): a kind's key names few results for most
# rules, but nothing bounds them all (a score's `per` lines).
WORDS_KEPT = 256
JSON_SCALARS = frozenset((int, str, bool, float, type(None)))
_CENT = Decimal("0.01")


def plain(value: Any) -> Any:
    """JSON-ready, the one encoder of values (decisions, the server, derived documents).

    An Amount (a value rounded to a stated scale: split and pool shares, totals, pool sizes,
    `round(…)` results) is a decimal string with exactly its places ("96428.57",
    "10200000.00"); another Decimal an int when whole, a float when a double holds it
    exactly as written, else its exact decimal string (docs/language.md, "Numbers in JSON")."""
    if isinstance(value, Amount):
        return format(value, "f")
    if isinstance(value, Decimal):
        if not value.is_finite() or value.adjusted() > 30:      # int() of 1E+600000: minutes
            return str(value)
        if value == value.to_integral_value():
            return int(value)
        return float(value) if abs(int(value.as_tuple().exponent)) <= 12 and \
            len(value.as_tuple().digits) <= 15 else str(value.normalize())
    if isinstance(value, (list, tuple)):
        return [v if type(v) in JSON_SCALARS else plain(v) for v in value]
    if isinstance(value, dict):
        return {k: v if type(v) in JSON_SCALARS else plain(v) for k, v in value.items()}
    return value


def show(value: Any, ty: Any = None) -> str:
    """A value as a person reads it: percentages for ratios, trimmed decimals otherwise."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if type(value) is int and (ty is None or getattr(ty, "dim", None) != "ratio"):
        return str(value)                       # what _trim gives a whole number, sooner
    if isinstance(value, (int, Decimal)):
        if ty is not None and getattr(ty, "dim", None) == "ratio":
            return _trim(Decimal(value) * 100) + "%"
        return _trim(Decimal(value))
    return str(value)


def _trim(d: Decimal) -> str:
    if not d.is_finite() or not -30 <= d.adjusted() <= 24:
        return str(d)       # no amount: as it is, at once (quantize past 28 digits raises)
    q = d.quantize(_CENT) if d != d.to_integral_value() else d
    return format(q.normalize(), "f")


def pct(value: Any) -> str:
    """0.15 → '15%'."""
    return f"{(Decimal(value) * 100).normalize():f}%"


def render_message(template: str, values: dict) -> str:
    # Our own substitution, not str.format: a rule's message can name values, nothing else.
    return _PLACEHOLDER.sub(lambda m: show(values.get(m.group(1), m.group(0))), template)


def list_items(facts: Any, name: str) -> list:
    """The list field `name` of the facts, or [] when it is not a list."""
    items = facts.get(name) if isinstance(facts, dict) else None
    return items if isinstance(items, list) else []


def item_key(item: Any, key: str | None, i: int) -> Any:
    """An item's name for the details: its key field (None if it has none; an item that is not
    an object has none), or its place in the list when the list has no key field."""
    if not key:
        return i
    return item.get(key) if isinstance(item, dict) else None
