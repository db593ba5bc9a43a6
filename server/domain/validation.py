"""A submission's body → facts: JSON with exact decimals, within the limits, and valid against
its form's JSON Schema.  No HTTP and no database here: the webhook route, the platform adapters,
the history check and the Excel import all use it."""
from __future__ import annotations

import fastjsonschema
import jsonschema

from trimtab.dsl.decode import FactsDecoder
from trimtab.dsl.diagnostics import RuleError
from trimtab.dsl.percents import normalise
from trimtab.dsl.values import MAX_JSON_DEPTH, loads_exact
from trimtab.dsl.values import depth_ok as depth

from trimtab.server.core import gate, limits
from trimtab.server.messages import msg
from trimtab.server.domain.schema_problems import problem_message
from trimtab.server.core.errors import DomainError, from_rule_error


def parse_json(raw: bytes):
    """The body as JSON with exact decimals; 400 when it is not JSON, not UTF-8, or nested
    deeper than http.MAX_JSON_DEPTH (deep nesting would exhaust the stack further on); 422
    naming the path of a number or text outside the value limits (dsl/values.py)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise DomainError("malformed_json", msg("the body is not JSON: {err}", err=err), "$") from None
    with gate.turn(len(raw)):          # a large body's decoding takes its turn (server/core/gate.py)
        return parse_text(text)


def parse_text(text: str):
    """parse_json of a text (a decrypted payload, say)."""
    try:
        value = loads_exact(text)
    except ValueError as err:
        raise DomainError("malformed_json", msg("the body is not JSON: {err}", err=err), "$") from None
    except RecursionError:
        value = None
    else:
        if depth(value):
            limits.check(value)
            return value
    raise DomainError("too_deep", msg("the JSON is nested deeper than {max_json_depth} levels",
                                      max_json_depth=MAX_JSON_DEPTH), "$")


_VALIDATORS: dict = {}      # id of a schema's dict -> (dict, fast check, full validator)
_FORMATS = jsonschema.FormatChecker()


def validators(schema):
    """(fast check, full validator) of a form schema (a dsl FormSchema), compiled once."""
    key = id(schema.raw)
    found = _VALIDATORS.get(key)
    if found is None or found[0] is not schema.raw:
        if len(_VALIDATORS) > 256:          # reloads replace schemas; keep the cache bounded
            _VALIDATORS.clear()
        # The fast check's formats are jsonschema's own, so both agree on what a date is.
        formats = {name: (lambda value, name=name: _FORMATS.conforms(value, name))
                   for name in _FORMATS.checkers}
        fast = fastjsonschema.compile(schema.raw, formats=formats)
        found = _VALIDATORS[key] = (schema.raw, fast, jsonschema.Draft202012Validator(
            schema.raw, format_checker=_FORMATS))
    return found[1], found[2]


def fractions(schema, facts, lang: str = "en") -> bool:
    """Percent texts in `facts` become fractions, in place ("75%" → 0.75); True when any did.
    A bare number outside a percent field's range (70 for pipeline_coverage) is a 422 with
    the fix, in `lang` (dsl/percents.py states the rule)."""
    try:
        return percent_fractions(schema, facts)
    except RuleError as problem:
        raise from_rule_error(problem, lang, "$") from None


def percent_fractions(schema, facts) -> bool:
    """fractions(), its refusal the language's RuleError (for a caller that words it later)."""
    if not schema.percents or not isinstance(facts, dict):
        return False
    fixed = normalise(schema.percents, facts)
    if fixed is facts:
        return False
    facts.update(fixed)
    return True


def validate(schema, facts, lang: str = "en") -> bool:
    """JSON Schema errors → 422 naming the JSON path of the first problem (all listed); percent
    texts become fractions first (True when any did: the caller stores the facts, not the text).

    fastjsonschema (schemas compiled to Python) answers the common case, a valid submission,
    in a tenth of jsonschema's time; only a submission it refuses goes through jsonschema, which
    lists every problem with its path — and has the last word."""
    changed = fractions(schema, facts, lang)
    fast, full = validators(schema)
    try:
        fast(facts)
        limits.check_decimals(schema.raw, facts)
        return changed
    except fastjsonschema.JsonSchemaException:
        pass
    problems = sorted(full.iter_errors(facts), key=lambda e: list(e.absolute_path))
    if problems:
        first = problems[0]
        raise DomainError("schema_violation", problem_message(first), first.json_path,
                          problems=[{"path": p.json_path, "message": problem_message(p)} for p in problems[:20]])
    return changed


_DECODERS: dict = {}        # id of a schema's dict -> (dict, FactsDecoder or None)


def decoder(schema) -> FactsDecoder | None:
    """The form's one-pass decoder (dsl/decode.py), built once; None when its schema uses a
    keyword the decoder does not support (then only the passes above check it)."""
    key = id(schema.raw)
    found = _DECODERS.get(key)
    if found is None or found[0] is not schema.raw:
        if len(_DECODERS) > 256:            # reloads replace schemas; keep the cache bounded
            _DECODERS.clear()
        try:
            made = FactsDecoder(schema.raw)
        except ValueError:
            made = None
        found = _DECODERS[key] = (schema.raw, made)
    return found[1]


def decode(schema, raw: bytes | str):
    """The facts of a body of `schema`'s form, checked: limits and schema in one pass
    (tests/test_decode.py holds it to refuse exactly what parse_json and validate refuse).
    None when the decoder refuses it or cannot serve the schema: the caller then goes the
    passes' way, which words the refusal as it always has."""
    found = decoder(schema)
    if found is None:
        return None
    with gate.turn(len(raw)):
        try:
            return found.decode(raw)
        except RuleError:            # refused: the passes word it
            return None
