"""The facts decoder (dsl/decode.py) refuses exactly what the server's intake refuses, and
gives the same facts for what it accepts.

The intake's three passes — server/domain/validation.py's parse_json (JSON with exact decimals,
no NaN, depth, the value limits) then its validate (fastjsonschema, jsonschema, x-decimals) —
are the reference.  For every shipped form schema, seeded bodies: valid ones, ones with a
field replaced by an edge value, removed or added (at the top and inside list items), and
byte-level damage.  Equal facts means equal types too (an int stays an int, Decimal('3.0')
stays Decimal('3.0'))."""
from __future__ import annotations

import json
import random

import pytest

from bodygen import spec_example
from conftest import SCHEMAS
from trimtab.dsl.decode import FactsDecoder
from trimtab.dsl.diagnostics import RuleError
from trimtab.dsl.schemas import load_schemas
from trimtab.server.core.errors import DomainError
from trimtab.server.domain.validation import parse_json, validate

FORMS = sorted(p.stem for p in SCHEMAS.glob("*.json"))

# JSON texts that sit on the edges where the passes could differ.
EDGES = ["null", "true", "false", "0", "-0", "-1", "1", "1.0", "1.50", "0.5", "-0.01", "1e3", "1E+2",
         "1e999999", "-1e-999999", "1e-40", "0." + "0" * 29 + "1", "0." + "0" * 30 + "1",
         "12.12345", "12.1234", "12.12340", "0.1234567890123456789012345678901234",
         "999999999999999", "1000000000000000",
         "-999999999999999", "-1000000000000000", "999999999999999.5", "1" * 40, "3e0", "NaN",
         "Infinity", '""', '" "', '"' + "x" * 300 + '"', '"' + "x" * 4001 + '"', '"2026-13-45"',
         '"2026-02-30"', '"2026-07-06"', '"20260706"', '"2026-07-06T09:00:00"', '"2026-7"',
         '"2026-Q5"', '"2026-Q3\\n"', '"2026-07\\n"', '"2026-07-06\\n"', '"中文"', '"a\\u0000b"',
         '"\\ud800"', '"2026-13"', '"2026-00"', '"0000-Q1"', '"2026-Q3"', '"2026-07"',
         '"' + "r" * 129 + '"', "[]", '[1, "a"]', '["证据"]', '[""]', "{}", '{"a": 1}',
         '"complete"', '"partial"', '"negotiation"']


def _bodies(schema: dict, rng):
    """Valid bodies and broken ones, as bytes."""
    for _ in range(40):
        valid = spec_example(schema, rng)
        yield valid.encode()
        facts = json.loads(valid)
        keys = list(facts)
        for _ in range(12):
            key = rng.choice(keys) if keys else "x"
            action = rng.randrange(5)
            parts = {k: json.dumps(v, ensure_ascii=False) for k, v in facts.items()}
            if action == 0:
                parts[key] = rng.choice(EDGES)
            elif action == 1:
                parts.pop(key, None)
            elif action == 2:
                parts[f"extra_{rng.randint(0, 3)}"] = rng.choice(EDGES)
            elif action == 3 and isinstance(facts.get(key), list) and facts[key] \
                    and isinstance(facts[key][0], dict):
                inner = {k: json.dumps(v, ensure_ascii=False) for k, v in facts[key][0].items()}
                inner[rng.choice(list(inner) or ["x"])] = rng.choice(EDGES)
                parts[key] = "[" + "{" + ", ".join(f'"{k}": {v}' for k, v in inner.items()) + "}]"
            else:
                parts[key] = rng.choice(EDGES)
                parts[rng.choice(keys) if keys else "y"] = rng.choice(EDGES)
            yield ("{" + ", ".join(f'"{k}": {v}' for k, v in parts.items()) + "}").encode()
    for damaged in (b"", b"{", b"[]", b"null", b"1", b'"x"', b"{}", b"\xef\xbb\xbf{}", b"{\"a\": 1,}",
                    b"\xff\xfe{\x00}\x00", b"{} {}", b"{\"a\": NaN}"):
        yield damaged


def _reference(schema, body: bytes):
    """What the intake accepts: the facts, or None when it refuses."""
    try:
        facts = parse_json(body)
        if not isinstance(facts, dict):
            return None
        validate(schema, facts)
    except DomainError:
        return None
    return facts


def _typed(value):
    """A value with its types spelled out, for an exact comparison."""
    if isinstance(value, dict):
        return {k: _typed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_typed(v) for v in value]
    return (type(value).__name__, repr(value))


@pytest.mark.parametrize("form", FORMS)
def test_the_decoder_accepts_and_refuses_what_the_intake_does(form):
    schema = load_schemas(SCHEMAS)[form]
    decoder = FactsDecoder(schema.raw)
    rng = random.Random(f"decode-{form}")
    accepted = refused = 0
    for body in _bodies(schema.raw, rng):
        want = _reference(schema, body)
        try:
            got = decoder.decode(body)
        except RuleError as err:
            assert want is None, (form, body, err.details.get("path"), err.message())
            refused += 1
            continue
        assert want is not None, (form, body, got)
        assert _typed(got) == _typed(want), (form, body)
        accepted += 1
    assert accepted > 30 and refused > 30, (accepted, refused)      # both sides exercised


@pytest.mark.parametrize("text, refused", [
    ("0.1234567890123456789012345678901234", True),     # 34 places: more than the 30 allowed
    ("0.123456789012345678901234567890", False),        # 30
    ("1.5000000000000000000000000000000000", False),    # trailing zeros are not places
])
def test_decimal_places_are_counted_past_the_context_precision(text, refused):
    """Both passes counted places after normalize(), which rounds to 28 digits: 34 places
    passed as 28.  Found by the speed work on the decoder."""
    body = ('{"region": "east", "month": "2026-07", "closed_amount": 100, "region_factor": 1, '
            '"industry_growth": %s}' % text).encode()
    decoder = FactsDecoder(load_schemas(SCHEMAS)["region_monthly"].raw)
    if refused:
        with pytest.raises(RuleError):
            decoder.decode(body)
        with pytest.raises(DomainError):
            validate("region_monthly", parse_json(body))
    else:
        decoder.decode(body)


def test_a_refusal_names_the_path():
    schema = load_schemas(SCHEMAS)["target_plan"]
    decoder = FactsDecoder(schema.raw)
    body = (b'{"region": "east", "quarter": "2026-Q3", "total_target": 100, "provinces": '
            b'[{"name": "a", "market_potential": 1, "staffing_strength": 1, '
            b'"strategic_priority": "x"}]}')
    with pytest.raises(RuleError) as info:
        decoder.decode(body)
    assert info.value.details["path"] == "$.provinces[0].strategic_priority"
    assert info.value.code == "decode.not_a_number"
    with pytest.raises(RuleError) as info:
        decoder.decode(b'{"region": ')
    assert info.value.code == "decode.malformed"


def test_a_schema_with_keywords_it_cannot_state_is_refused_when_built():
    with pytest.raises(ValueError):
        FactsDecoder({"type": "object", "additionalProperties": False,
                      "properties": {"a": {"type": "number", "multipleOf": 3}}})
    with pytest.raises(ValueError):
        FactsDecoder({"type": "object", "properties": {"a": {"type": "number"}}})
