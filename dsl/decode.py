"""From JSON bytes to facts in one pass: decoded straight into exact decimals and validated
against the form's JSON Schema, with msgspec types generated from the schema.

What took three passes over a submission before it: `json.loads` with
`parse_float=Decimal` (trimtab.dsl.values.loads_exact), the limits every value keeps
(trimtab.server.core.limits.check: |x| < 10^15, at most 30 decimal places, no NUL, texts of at most 4,000
characters) and the schema (fastjsonschema, then jsonschema for the words; `x-decimals` after).
`FactsDecoder(schema).decode(body)` gives the same facts — a dict with ints for integer
literals and Decimals for the rest, absent fields absent — or refuses with a RuleError
naming the JSON path, for every body one of those passes refuses.  (The refusal is the
language's RuleError with a `decode.*` code: `decode.malformed` when the bytes are not JSON,
placed at their line and column — the server's 400 — else the facts do not fit the form,
with the JSON path in its details — its 422.)

The schema keywords it reads: type (object, array, string, integer, number, boolean),
properties, required, additionalProperties (false), items, minItems, maxItems, minLength,
maxLength, pattern, format, enum, minimum, maximum, exclusiveMinimum, exclusiveMaximum and
x-decimals.  A schema using anything else is refused when the decoder is built (ValueError),
so the decoder never silently accepts what the schema would refuse.
"""
from __future__ import annotations

import re
from decimal import Clamped, Context, Decimal, DecimalException, Inexact, Overflow, Rounded
from typing import Annotated, Any, Literal, Optional, Union

import msgspec

from .diagnostics import RuleError
from .values import decimal_places

MAX_NUMBER = 10 ** 15           # |x| < 10^15 for every number (trimtab.server.core.limits.MAX_NUMBER)
MAX_DECIMALS = 30               # decimal places of any number (trimtab.server.core.limits.MAX_DECIMALS)
MAX_TEXT = 4000                 # characters of any text (trimtab.server.core.limits.MAX_TEXT)
_NO_NUL = "^[^\x00]*$"          # a text without NUL (trimtab.server.core.limits.text_problem)

_KNOWN = {"type", "properties", "required", "additionalProperties", "items", "minItems",
          "maxItems", "minLength", "maxLength", "pattern", "format", "enum", "minimum",
          "maximum", "exclusiveMinimum", "exclusiveMaximum", "x-decimals",
          # annotations that do not constrain ("default": filled in where a field is left out)
          "$schema", "$id", "title", "description", "default"}


class _Field:
    """How one decoded value becomes a fact: checks msgspec cannot state, and the shape."""

    __slots__ = ("name", "decimals", "bounds", "date", "item", "object")

    def __init__(self, name: str, decimals: Optional[int] = None, bounds: Optional[dict] = None,
                 date: bool = False, item: Optional[_Object] = None, obj: Optional[_Object] = None):
        self.name, self.decimals, self.date = name, decimals, date
        self.bounds = bounds                      # a number's bounds (ge, gt, le, lt)
        self.item, self.object = item, obj        # an array of objects / an object


class _Object:
    """A generated msgspec Struct type and its fields (what _converter turns into facts)."""

    __slots__ = ("type", "fields")

    def __init__(self, type_: Any, fields: list[_Field]):
        self.type, self.fields = type_, fields


class FactsDecoder:
    """Decodes and validates submissions of one form (its JSON Schema, FormSchema.raw)."""

    def __init__(self, schema: dict):
        self._count = 0
        self.root = self._object(schema, "$")
        self._convert = _converter(self.root)
        self._decoder = msgspec.json.Decoder(self.root.type, float_hook=_fraction)
        # The fast pass: fractions read by a C callable that refuses (raises) whatever it
        # cannot vouch for, so its facts skip the number limit's checks; the careful pass
        # above decodes anything it refuses, with every check and message.
        self._convert_quick = _converter(self.root, limit_vouched=True)
        self._decoder_quick = msgspec.json.Decoder(self.root.type, float_hook=_vouched)

    def decode(self, data: bytes | str) -> dict:
        """The facts in `data` (UTF-8 JSON), or a RuleError (decode.*)."""
        try:
            value = self._decoder_quick.decode(data)
        except (DecimalException, msgspec.ValidationError, msgspec.DecodeError, ValueError):
            return self._decode_carefully(data)     # the same refusal, or a long number
        return self._convert_quick(value, ("$",))

    def _decode_carefully(self, data: bytes | str) -> dict:
        try:
            value = self._decoder.decode(data)
        except RuleError:
            raise
        except msgspec.ValidationError as err:
            message, _, path = str(err).rpartition(" - at `")
            raise _invalid(message or str(err), path.rstrip("`") if message else "$") from None
        except (msgspec.DecodeError, ValueError) as err:      # ValueError: int() of 4,301 digits
            raise _malformed(data, err) from None
        return self._convert(value, ("$",))

    # ------------------------------------------------------------------ types from the schema
    def _object(self, spec: dict, path: str) -> _Object:
        _known(spec, path)
        if spec.get("type") != "object" or spec.get("additionalProperties", True) is not False:
            raise ValueError(f"{path}: only objects without additional properties are supported")
        required = set(spec.get("required", ()))
        struct_fields: list = []
        fields = []
        for name, prop in spec.get("properties", {}).items():
            where = f"{path}.{name}"
            ty, field = self._value(name, prop, where)
            if name in required:
                struct_fields.append((name, ty))
            else:       # left out: its `default` when it has one, as the intake's validator fills it
                struct_fields.append((name, ty if ty is Any else Union[ty, msgspec.UnsetType],
                                      prop.get("default", msgspec.UNSET)))
            fields.append(field)
        # Required fields first, as a Struct wants them; the dict keeps the JSON's own order.
        struct_fields.sort(key=lambda f: len(f) == 3)
        self._count += 1
        type_ = msgspec.defstruct(f"Facts{self._count}", struct_fields, forbid_unknown_fields=True,
                                  gc=False)
        return _Object(type_, fields)

    def _value(self, name: str, spec: dict, path: str) -> tuple[Any, _Field]:
        _known(spec, path)
        kind = spec.get("type")
        if "enum" in spec:
            values = spec["enum"]
            if kind != "string" or not all(isinstance(v, str) and "\x00" not in v and len(v) <= MAX_TEXT
                                           for v in values):
                raise ValueError(f"{path}: only enums of texts are supported")
            return Literal[tuple(values)], _Field(name)
        if kind == "string":
            return self._string(spec, path), _Field(name, date=spec.get("format") == "date")
        if kind == "integer":
            return Annotated[int, msgspec.Meta(**_bounds(spec, path))], _Field(name)
        if kind == "number":
            # msgspec's Decimal type would take a text too ("12.5"): a number field is decoded
            # untyped, its fractions by float_hook into exact Decimals (json.loads with
            # parse_float=Decimal does the same), and checked after decoding.
            decimals = min(spec.get("x-decimals", MAX_DECIMALS), MAX_DECIMALS)
            return Any, _Field(name, decimals=decimals, bounds=_bounds(spec, path))
        if kind == "boolean":
            return bool, _Field(name)
        if kind == "array":
            items = spec.get("items", {})
            limits = {k: spec[j] for k, j in (("min_length", "minItems"), ("max_length", "maxItems"))
                      if j in spec}
            if items.get("type") == "object":
                obj = self._object(items, f"{path}[]")
                return _sequence(obj.type, limits), _Field(name, item=obj)
            ty, inner = self._value(name, items, f"{path}[]")
            if inner.decimals is not None or inner.date:
                raise ValueError(f"{path}: arrays of numbers or dates are not supported")
            return _sequence(ty, limits), _Field(name)
        if kind == "object":
            obj = self._object(spec, path)
            return obj.type, _Field(name, obj=obj)
        raise ValueError(f"{path}: type {kind!r} is not supported")

    def _string(self, spec: dict, path: str) -> Any:
        fmt = spec.get("format")
        if fmt not in (None, "date"):
            raise ValueError(f"{path}: format {fmt!r} is not supported")
        pattern = spec.get("pattern")
        if pattern is not None:
            re.compile(pattern)
            if _matches_nul(pattern):
                raise ValueError(f"{path}: a pattern that admits NUL is not supported")
        meta = {"max_length": min(spec.get("maxLength", MAX_TEXT), MAX_TEXT),
                "pattern": pattern if pattern is not None else _NO_NUL}
        if "minLength" in spec:
            meta["min_length"] = spec["minLength"]
        return Annotated[str, msgspec.Meta(**meta)]


def _sequence(item: Any, limits: dict) -> Any:
    """list[item] with its length limits (types made at run time, so built as values)."""
    list_of: Any = list
    return Annotated[list_of[item], msgspec.Meta(**limits)]


def _known(spec: dict, path: str) -> None:
    unknown = sorted(k for k in spec if k not in _KNOWN and not k.startswith("x-"))
    if unknown:
        raise ValueError(f"{path}: schema keywords {', '.join(unknown)} are not supported")


def _matches_nul(pattern: str) -> bool:
    return re.search(pattern, "\x00") is not None or re.search(pattern, "0\x00") is not None


def _bounds(spec: dict, path: str) -> dict:
    """The schema's bounds, within the limit every number keeps (|x| < 10^15)."""
    out: dict[str, Any] = {}
    for key, inclusive, exclusive, limit, tighter in (
            ("low", "minimum", "exclusiveMinimum", -MAX_NUMBER, max),
            ("high", "maximum", "exclusiveMaximum", MAX_NUMBER, min)):
        bounds = [(limit, False)]
        for word, incl in ((inclusive, True), (exclusive, False)):
            if word in spec:
                value = spec[word]
                if isinstance(value, bool) or not isinstance(value, int):
                    raise ValueError(f"{path}: only whole-number bounds are supported")
                bounds.append((value, incl))
        # The tightest bound; at equal values the exclusive one is tighter.
        value, incl = tighter(bounds, key=lambda b: (b[0], (not b[1]) if key == "low" else b[1]))
        if key == "low":
            out["ge" if incl else "gt"] = value
        else:
            out["le" if incl else "lt"] = value
    return out


_places = decimal_places         # the generated converters and _fraction count places alike


def _fraction(text: str) -> Decimal:
    """A JSON number with a fraction or an exponent, exactly (msgspec's float_hook).  Every
    number keeps at most MAX_DECIMALS decimal places: a text of at most 32 characters without
    an exponent cannot have more, so only longer ones are looked at."""
    value = Decimal(text)
    if (len(text) > 32 or "e" in text or "E" in text) and _places(value) > MAX_DECIMALS:
        raise RuleError.of("decode.too_many_decimals", value=text[:40], limit=MAX_DECIMALS, path="$")
    return value


# A JSON fraction read in this context keeps its digits and exponent (Decimal(text)) or
# raises: more than 31 digits (Rounded), an exponent below -30 — more than 30 places, or
# trailing zeros past them — (Inexact, Rounded or Clamped), |x| ≥ 10^15 (Overflow).  What it
# returns is therefore within the limits every number keeps (MAX_NUMBER, MAX_DECIMALS);
# what it refuses, _fraction and the generated checks decide as before.  Etiny = Emin -
# prec + 1 = -30.
_LIMITS = Context(prec=31, Emin=0, Emax=14, traps=[Rounded, Inexact, Clamped, Overflow])
_vouched = _LIMITS.create_decimal


def _where(where: tuple) -> str:
    """("$",) → "$"; (parent, "leads", 2) → "$.leads[2]"; (parent, "x", None) → "$.x"."""
    if len(where) == 1:
        return where[0]
    parent, name, index = where
    return f"{_where(parent)}.{name}" + (f"[{index}]" if index is not None else "")


def _refuse(code: str, value: str, where: tuple, name: str, limit: int = 0):
    raise RuleError.of(code, value=value, limit=limit, path=f"{_where(where)}.{name}")


# msgspec's refusals whose words we can say in both languages; the rest keep its own words.
_VALIDATION = [(re.compile(r"Object missing required field `(?P<name>[^`]*)`$"), "decode.missing_field"),
               (re.compile(r"Object contains unknown field `(?P<name>[^`]*)`$"), "decode.unknown_field"),
               (re.compile(r"Expected `(?P<expected>\w+)`, got `(?P<found>\w+)`$"), "decode.wrong_type")]


def _invalid(message: str, path: str) -> RuleError:
    for pattern, code in _VALIDATION:
        found = pattern.match(message)
        if found:
            return RuleError.of(code, path=path, **found.groupdict())
    return RuleError.of("decode.invalid", detail=message, path=path)


def _malformed(data: bytes | str, err: Exception) -> RuleError:
    """decode.malformed, placed at the line and column of the byte msgspec names (if any)."""
    found = re.search(r"\(byte (\d+)\)", str(err))
    byte = int(found.group(1)) if found else 0
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    before = raw[:byte].decode("utf-8", "replace")
    line, column = before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1
    return RuleError.of("decode.malformed", detail=str(err), byte=byte).at("<body>", line, column)


def _converter(obj: _Object, limit_vouched: bool = False):
    """The function (struct, where) → facts for one Struct type, generated, with the items of
    its lists of objects converted inline: a call and a loop per field would cost more than
    msgspec's whole decoding.  `limit_vouched`: its Decimals came from _vouched, so a number
    field with no bounds of its own needs no check that they are within MAX_NUMBER."""
    env: dict[str, Any] = {"__builtins__": {"enumerate": enumerate, "repr": repr, "str": str},
                           "astuple": msgspec.structs.astuple,
                           "UNSET": msgspec.UNSET, "D": Decimal, "int": int, "refuse": _refuse,
                           "is_date": _is_date, "places": _places}
    body = _fields_code(obj, "s", "d", "where", env, "", limit_vouched)
    lines = ["def convert(s, where):"] + [f"    {line}" for line in body] + ["    return d"]
    exec("\n".join(lines) + "\n", env)          # generated from our templates only
    return env["convert"]


def _fields_code(obj: _Object, struct: str, out: str, where: str, env: dict, pfx: str,
                 vouched: bool) -> list[str]:
    """Lines that fill the dict `out` from the Struct `struct`; `where` is an expression of
    the JSON path (evaluated only to say where a refusal is).  `pfx` keeps the names of
    nested levels apart."""
    position = {name: i for i, name in enumerate(obj.type.__struct_fields__)}
    t, v = f"t{pfx}", f"v{pfx}"
    lines = [f"{t} = astuple({struct})", f"{out} = {{}}"]
    for n, field in enumerate(obj.fields):
        name = f"N{pfx}_{n}"
        env[name] = field.name
        lines += [f"{v} = {t}[{position[field.name]}]", f"if {v} is not UNSET:"]
        if field.decimals is not None:
            lines += [f"    {line}" for line in _number_lines(field, f"{pfx}_{n}", v, where, env,
                                                                vouched)]
        elif field.date:
            lines.append(f"    if not is_date({v}): refuse('decode.not_a_date', repr({v}), {where}, {name})")
        elif field.item is not None:
            inner = f"{pfx}{n}i"
            lines += [f"    l{inner} = []", f"    for i{inner}, x{inner} in enumerate({v}):"]
            lines += [f"        {line}" for line in _fields_code(
                field.item, f"x{inner}", f"d{inner}", f"({where}, {name}, i{inner})", env, inner,
                vouched)]
            lines += [f"        l{inner}.append(d{inner})", f"    {v} = l{inner}"]
        elif field.object is not None:
            inner = f"{pfx}{n}o"
            lines += [f"    {line}" for line in _fields_code(
                field.object, v, f"d{inner}", f"({where}, {name}, None)", env, inner, vouched)]
            lines.append(f"    {v} = d{inner}")
        lines.append(f"    {out}[{name}] = {v}")
    return lines


_OPS = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}
_LIMIT_BOUNDS = {"gt": -MAX_NUMBER, "lt": MAX_NUMBER}     # a number field's own bounds: none


def _number_lines(field: _Field, key: str, v: str, where: str, env: dict,
                  vouched: bool = False) -> list[str]:
    """A number field's value: an int or a Decimal, within its bounds and decimal places."""
    bounds = field.bounds or {}
    for k, value in bounds.items():
        env[f"I{key}{k}"], env[f"D{key}{k}"] = value, Decimal(value)     # Decimal beside Decimal
    within = " and ".join(f"{v} {_OPS[k]} {{p}}{key}{k}" for k in bounds) or "True"
    outside = f"refuse('decode.out_of_bounds', str({v}), {where}, N{key})"
    decimal_check = f"    if not ({within.format(p='D')}): {outside}"
    if vouched and bounds == _LIMIT_BOUNDS:
        decimal_check = "    pass"               # _vouched keeps every Decimal within them
    lines = [f"c = {v}.__class__",
             "if c is int:", f"    if not ({within.format(p='I')}): {outside}",
             "elif c is D:", decimal_check]
    if (field.decimals or 0) < MAX_DECIMALS:        # x-decimals: the places of this field
        lines.append(f"    if places({v}) > {field.decimals}: "
                     f"refuse('decode.too_many_decimals', str({v}), {where}, N{key}, {field.decimals})")
    lines += ["else:", f"    refuse('decode.not_a_number', repr({v}), {where}, N{key})"]
    return lines


def _is_date(text: str) -> bool:
    """jsonschema's `date` format: a full-date of RFC 3339 (YYYY-MM-DD), a real day."""
    import datetime as dt
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text, flags=re.ASCII):
        return False
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True
