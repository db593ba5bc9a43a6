"""The webhook's fast schema check (fastjsonschema) accepts what jsonschema accepts.

validation.validate trusts the fast check when it accepts, so for every shipped form and thousands
of seeded valid and broken submissions, what the fast check accepts jsonschema accepts too; and
what it refuses jsonschema refuses, but for one difference named below."""
from __future__ import annotations

import json
import random
from decimal import Decimal

import fastjsonschema
import pytest

from conftest import SCHEMAS
from trimtab.server.domain.validation import validators

FORMS = sorted(p.stem for p in SCHEMAS.glob("*.json"))
PATTERN_EXAMPLES = {r"^(19|2[01])\d{2}-(0[1-9]|1[0-2])$": "2026-07", r"^(19|2[01])\d{2}-Q[1-4]$": "2026-Q3"}
# Values that sit on the edges where two validators could differ.
EDGES = [None, True, False, 0, -1, 1, Decimal("1.0"), Decimal("0.5"), Decimal("-0.01"), 1e308,
         10**20, "", " ", "x" * 300, "2026-13-45", "2026-02-30", "2026-07-06", "20260706",
         "2026-07-06T09:00:00", "2026-7", "2026-Q5", "2026-Q3\n", "2026-07\n", "中文", "\u0000",
         "2026-13", "2026-00", "0000-Q1", "0000-01", "9999-12-31", 10**15, -(10**15), "r" * 129,
         [], [1, "a"], ["证据"], {}, {"a": 1}]


def example(schema: dict, rng):
    """A value the schema accepts, built from its keywords."""
    if "enum" in schema:
        return rng.choice(schema["enum"])
    kind = schema.get("type")
    if kind == "object":
        props = schema.get("properties", {})
        return {k: example(v, rng) for k, v in props.items()
                if k in schema.get("required", []) or rng.random() < 0.7}
    if kind == "array":
        return [example(schema.get("items", {}), rng) for _ in range(max(schema.get("minItems", 0), rng.randint(0, 2)))]
    if kind == "string":
        if schema.get("format") == "date":
            return "2026-07-06"
        if "pattern" in schema:
            return PATTERN_EXAMPLES[schema["pattern"]]
        return "v" * max(schema.get("minLength", 0), 3)
    if kind in ("integer", "number"):
        low = schema.get("minimum", 0)
        high = schema.get("maximum", low + 100)
        value = rng.randint(int(low), int(high)) if kind == "integer" else \
            Decimal(str(round(rng.uniform(float(low), float(high)), 2)))
        return value
    if kind == "boolean":
        return rng.random() < 0.5
    return "anything"


def mutations(value, rng, depth=0):
    """Broken variants: a field replaced by an edge value, removed, or added."""
    if not isinstance(value, dict) or not value:
        return
    for _ in range(25):
        out = json.loads(json.dumps(value, default=str), parse_float=Decimal) if depth else dict(value)
        key = rng.choice(list(out))
        action = rng.randrange(4)
        if action == 0:
            out[key] = rng.choice(EDGES)
        elif action == 1:
            out.pop(key)
        elif action == 2:
            out[f"extra_{rng.randint(0, 3)}"] = rng.choice(EDGES)
        elif isinstance(out[key], list) and out[key] and isinstance(out[key][0], dict):
            inner = dict(out[key][0])
            inner[rng.choice(list(inner) or ["x"])] = rng.choice(EDGES)
            out[key] = [inner]
        yield out


@pytest.mark.parametrize("form", FORMS)
def test_fast_check_accepts_exactly_what_jsonschema_accepts(form, schemas):
    schema = schemas[form]
    fast, full = validators(schema)
    rng = random.Random(form)
    checked = accepted = newline_only = 0
    for _ in range(60):
        valid = example(schema.raw, rng)
        for facts in [valid, *mutations(valid, rng)]:
            try:
                fast(facts)
                fast_ok = True
            except fastjsonschema.JsonSchemaException:     # anything else fails the test
                fast_ok = False
            full_ok = not any(True for _ in full.iter_errors(facts))
            # The fast check accepting what jsonschema refuses would let bad data in.
            assert full_ok or not fast_ok, (form, facts)
            if fast_ok != full_ok:
                # The one difference allowed: a pattern's `$` before a final newline.  JSON
                # Schema patterns are ECMA-262, where `$` ends the text, as in fastjsonschema;
                # jsonschema (Python's re.search) also matches before a final "\n".  Without the
                # newlines the fast check must accept.
                assert _final_newlines(facts) and _accepts(fast, _strip_final_newlines(facts)), \
                    (form, facts)
                newline_only += 1
            checked += 1
            accepted += full_ok
    # The corpus exercises both sides: valid submissions and broken ones.
    assert 0 < accepted < checked, (accepted, checked)
    assert newline_only < checked // 20, (newline_only, checked)


def _accepts(fast, facts) -> bool:
    try:
        fast(facts)
    except fastjsonschema.JsonSchemaException:
        return False
    return True


def _final_newlines(facts) -> bool:
    return any(isinstance(v, str) and v.endswith("\n") for v in facts.values())


def _strip_final_newlines(facts) -> dict:
    return {k: v[:-1] if isinstance(v, str) and v.endswith("\n") else v for k, v in facts.items()}
