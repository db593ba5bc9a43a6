"""Seeded JSON bodies a form schema accepts, built from its keywords (for the decoder's
parity test and the compact-trace test)."""
from __future__ import annotations

import json
from decimal import Decimal


def spec_example(spec: dict, rng) -> str:
    """JSON text of a value the schema accepts, built from its keywords."""
    if "enum" in spec:
        return json.dumps(rng.choice(spec["enum"]), ensure_ascii=False)
    kind = spec.get("type")
    if kind == "object":
        props = spec.get("properties", {})
        parts = [f'"{k}": {spec_example(v, rng)}' for k, v in props.items()
                 if k in spec.get("required", []) or rng.random() < 0.7]
        return "{" + ", ".join(parts) + "}"
    if kind == "array":
        n = max(spec.get("minItems", 0), rng.randint(0, 3))
        return "[" + ", ".join(spec_example(spec.get("items", {}), rng) for _ in range(n)) + "]"
    if kind == "string":
        pattern = spec.get("pattern", "")
        if spec.get("format") == "date" or "(0[1-9]|[12]" in pattern:
            return '"2026-07-%02d"' % rng.randint(1, 28)
        if "Q[1-4]" in pattern:
            return '"2026-Q%d"' % rng.randint(1, 4)
        if pattern:
            return '"2026-%02d"' % rng.randint(1, 12)
        return json.dumps(rng.choice(["v" * max(spec.get("minLength", 0), 3), "华东", "a b"]),
                          ensure_ascii=False)
    if kind == "integer":
        low = spec.get("minimum", 0)
        return str(rng.randint(int(low), int(min(spec.get("maximum", low + 100), low + 1000))))
    if kind == "number":
        low = spec.get("minimum", 0)
        high = min(spec.get("maximum", low + 100), low + 10 ** 6)
        return rng.choice([str(rng.randint(int(low), int(high))),
                           str(Decimal(str(round(rng.uniform(float(low), float(high)), 2)))),
                           str(Decimal(str(round(rng.uniform(float(low), float(high)), 4))))])
    if kind == "boolean":
        return rng.choice(["true", "false"])
    return '"anything"'
