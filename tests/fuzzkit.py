"""Hypothesis strategies for the language fuzz (tests/test_fuzz.py, scripts/fuzz.sh).

- facts and history drawn from a form's JSON Schema (types, enums, formats, patterns, bounds,
  list items), with exact decimals as a webhook parses them;
- rule files generated from the grammar's shapes with keywords from dsl/keywords.py, in either
  language, with expressions over the form's real fields (so many of them load and evaluate);
- token-level mutations of the shipped rule files.
"""
from __future__ import annotations

import re
from decimal import Decimal

from hypothesis import strategies as st

from trimtab.dsl.keywords import FUNCTIONS, KEYWORDS

# ---------------------------------------------------------------------- facts
BIG = Decimal(10) ** 15


def _decimal(low, high, integer: bool):
    low = Decimal(str(low)) if low is not None else -BIG + 1
    high = Decimal(str(high)) if high is not None else BIG - 1
    if integer:
        return st.integers(int(low), int(high))
    return st.one_of(
        st.integers(int(low.to_integral_value(rounding="ROUND_CEILING")),
                     int(high.to_integral_value(rounding="ROUND_FLOOR"))),
        st.decimals(low, high, places=6, allow_nan=False, allow_infinity=False),
        st.sampled_from([x for x in (Decimal(0), Decimal("0.5"), Decimal(1), high, low)
                         if low <= x <= high]))


_PATTERNS = {
    r"^\d{4}-\d{2}$": st.builds(lambda y, m: f"{y:04d}-{m:02d}", st.integers(2000, 2100),
                                st.integers(1, 12)),
    r"^\d{4}-Q[1-4]$": st.builds(lambda y, q: f"{y:04d}-Q{q}", st.integers(2000, 2100),
                                 st.integers(1, 4)),
}


def value_of(spec: dict):
    kind = spec.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if "enum" in spec:
        return st.sampled_from(spec["enum"])
    if kind in ("integer", "number"):
        low = spec.get("minimum", spec.get("exclusiveMinimum"))
        high = spec.get("maximum", spec.get("exclusiveMaximum"))
        strat = _decimal(low, high, kind == "integer")
        if "exclusiveMinimum" in spec or "exclusiveMaximum" in spec:
            strat = strat.filter(lambda v: v != low and v != high)
        return strat
    if kind == "boolean":
        return st.booleans()
    if kind == "array":
        items = spec.get("items", {})
        return st.lists(value_of(items), min_size=spec.get("minItems", 0),
                        max_size=max(spec.get("minItems", 0), 4))
    if kind == "object":
        return object_of(spec)
    if spec.get("format") == "date":
        return st.dates().map(lambda d: d.isoformat())
    pattern = spec.get("pattern")
    if pattern in _PATTERNS:
        return _PATTERNS[pattern]
    if pattern:
        return st.from_regex(pattern, fullmatch=True)
    return st.text(min_size=max(spec.get("minLength", 0), 1), max_size=12)


def object_of(spec: dict):
    props = spec.get("properties", {})
    required = set(spec.get("required", ()))
    return st.fixed_dictionaries(
        {k: value_of(v) for k, v in props.items() if k in required},
        optional={k: value_of(v) for k, v in props.items() if k not in required})


def submissions(schema):
    """(facts, history): facts of the form and 0–6 earlier submissions of the same subject."""
    facts = object_of(schema.raw)
    subjects = [s for s in schema.subjects if s in schema.fields]

    def same_subject(pair):
        current, history = pair
        for entry in history:
            for s in subjects:
                if s in current:
                    entry[s] = current[s]
        return current, history
    return st.tuples(facts, st.lists(facts, max_size=6)).map(same_subject)


# ---------------------------------------------------------------------- rule files
def _kw(term: str):
    return st.sampled_from(KEYWORDS[term][:2])


NUMBERS = st.one_of(
    st.integers(0, 200).map(str),
    st.integers(0, 10 ** 20).map(str),
    st.decimals(0, 1000, places=3, allow_nan=False, allow_infinity=False).map(str),
    st.integers(0, 60).map(lambda n: "9" * n + "1"),           # long digit runs
)
UNITS = st.sampled_from(["", "%", "万", "元", " hours", "h", " days", " weeks", "周", " months"])
PERIODS = st.sampled_from(["weeks", "months", "周", "个月", "quarters"])
COMPARE = st.sampled_from(["<", "<=", ">", ">=", "=", "!=", "≥", "≤"])
ARITH = st.sampled_from(["+", "-", "*", "/", "×", "÷"])


def expressions(fields: list[str], depth: int = 3):
    leaf = st.one_of(st.sampled_from(fields or ["x"]),
                     st.tuples(NUMBERS, UNITS).map("".join),
                     st.sampled_from(["industry.effective_visits", "industry.growth", "complete",
                                      "true", '"text"']))
    return st.recursive(leaf, lambda inner: st.one_of(
        st.tuples(inner, ARITH, inner).map(" ".join),
        st.tuples(inner, COMPARE, inner).map(" ".join),
        st.tuples(inner, st.sampled_from(["and", "or", "且", "或"]), inner).map(" ".join),
        inner.map(lambda e: f"({e})"),
        inner.map(lambda e: f"not {e}"),
        st.tuples(st.integers(1, 150).map(str), inner).map(lambda t: f"{t[0]}% of {t[1]}"),
        st.tuples(st.sampled_from([s for v in FUNCTIONS.values() for s in v[:2]]), inner,
                  st.one_of(st.just(""), st.tuples(NUMBERS, PERIODS).map(
                      lambda t: f", last {t[0]} {t[1]}"))).map(lambda t: f"{t[0]}({t[1]}{t[2]})"),
        st.tuples(inner, NUMBERS, PERIODS).map(lambda t: f"{t[0]} for {t[1]} consecutive {t[2]}"),
    ), max_leaves=depth * 4)


def rule_files(schemas: dict):
    """A rule file of one to three declarations over a real form, keywords in either language."""
    return st.sampled_from(sorted(schemas)).flatmap(lambda form: st.lists(
        declaration(form, sorted(schemas[form].fields)), min_size=1, max_size=3)
        .map("\n".join))


def declaration(form: str, fields: list[str]):
    expr = expressions(fields)
    name = st.sampled_from(["r1", "规则", "r2", "预警一"])
    on = st.tuples(_kw("ON"), _kw("PER"), st.sampled_from(["rep", "region", "account", "rep"])).map(
        lambda t: f"    {t[0]} {form} {t[1]} {t[2]}\n")
    alert = st.tuples(_kw("ALERT"), name, _kw("LEVEL"), on, _kw("WHEN"), expr, _kw("NOTIFY")).map(
        lambda t: f"{t[0]} {t[1]} {t[2]} yellow\n{t[3]}    {t[4]} {t[5]}\n    {t[6]} hrbp\n")
    score_line = st.one_of(
        st.tuples(st.sampled_from("+-"), NUMBERS, expr).map(lambda t: f"    {t[0]}{t[1]} when {t[2]}\n"),
        st.tuples(st.sampled_from("+-"), NUMBERS, NUMBERS, st.sampled_from(fields or ["x"])).map(
            lambda t: f"    {t[0]}{t[1]} for every {t[2]} {t[3]}\n"),
        st.tuples(NUMBERS, expr, NUMBERS).map(lambda t: f"    +{t[0]} when {t[1]}, at most {t[2]}\n"))
    score = st.tuples(_kw("SCORE"), name, on, st.lists(score_line, min_size=1, max_size=3)).map(
        lambda t: f"{t[0]} {t[1]}\n{t[2]}{''.join(t[3])}")
    status = st.tuples(_kw("STATUS"), name, on, expr, expr, _kw("OTHERWISE")).map(
        lambda t: f"{t[0]} {t[1]}\n{t[2]}    green when {t[3]}\n    yellow when {t[4]}\n    red {t[5]}\n")
    target = st.tuples(_kw("TARGET"), name, on, expr, expr).map(
        lambda t: f"{t[0]} {t[1]}\n{t[2]}    base = {t[3]}\n    suggest {t[4]}\n")
    approval = st.tuples(name, on, NUMBERS, NUMBERS, st.sampled_from(["weeks", "months", "days"]),
                         expr).map(
        lambda t: f"approval {t[0]}\n{t[1]}    at most {t[2]} change per cycle\n"
                  f"    cycle every {t[3]} {t[4]}\n    step direct_manager\n    step hrbp when {t[5]}\n")
    schedule = st.one_of(
        st.tuples(NUMBERS, st.sampled_from(["hours", "days", "weeks"])).map(
            lambda t: f"schedule s {t[0]} {t[1]} before calibration_meeting\n"
                      f"    report calibration_brief to attendees\n"),
        st.tuples(NUMBERS, st.sampled_from(["monday", "friday", "周三", "someday"]),
                  st.integers(0, 30), st.integers(0, 70)).map(
            lambda t: f"schedule s every {t[0]} weeks on {t[1]} at {t[2]:02d}:{t[3]:02d}\n"
                      f"    remind rep to submit goal_snapshot\n"))
    reference = st.tuples(NUMBERS, UNITS).map(lambda t: f"reference ref:\n    x = {t[0]}{t[1]}\n")
    return st.one_of(alert, score, status, target, approval, schedule, reference)


# ---------------------------------------------------------------------- mutations
_TOKEN = re.compile(r"\s+|\w+|[^\w\s]")
VOCABULARY = sorted({w for spellings in KEYWORDS.values() for w in spellings[:2]} | {
    "(", ")", ":", ",", "%", "万", "\n", "\n    ", "\n        ", "#", '"', "=", "<", "+", "-",
    "×", "÷", "last 3 weeks", "for 2 consecutive weeks", "at least 2 of:", "9" * 50, "0",
    "1e5", "average(", "baseline(", "-1", "±15%", "2026-13-45", "25:99", "\t"})


def mutated(texts: list[str]):
    """One shipped file with one to four token edits: drop, repeat, swap, or insert a word."""
    def apply(args):
        text, edits = args
        tokens = _TOKEN.findall(text)
        for kind, where, word in edits:
            if not tokens:
                break
            i = where % len(tokens)
            if kind == 0:
                del tokens[i]
            elif kind == 1:
                tokens.insert(i, tokens[i])
            elif kind == 2:
                j = (where * 7 + 3) % len(tokens)
                tokens[i], tokens[j] = tokens[j], tokens[i]
            else:
                tokens.insert(i, word)
        return "".join(tokens)
    edit = st.tuples(st.integers(0, 3), st.integers(0, 10 ** 6), st.sampled_from(VOCABULARY))
    return st.tuples(st.sampled_from(texts), st.lists(edit, min_size=1, max_size=4)).map(apply)


# ---------------------------------------------------------------------- out-of-contract values
JUNK = [None, "x", "", True, [], {}, -1, 10 ** 30, 1.5, float("nan"), float("inf"),
        Decimal("1E+600000"), Decimal("-1E+600000"), Decimal("1E-600000"), Decimal("NaN"),
        "2026-13-45", "0000-Q1", [{"a": 1}], [1, 2], [None], {"x": []}]


def spoiled(pair):
    """Edits that put values no schema allows into facts or history (the evaluator must stay
    total on them too: decisions or `eval.*`, never a Python exception)."""
    edit = st.tuples(st.integers(-1, 6), st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", max_size=3),
                     st.sampled_from(range(len(JUNK))))

    def apply(args):
        (facts, history), edits = args
        entries = [facts, *history]
        for which, salt, junk in edits:
            entry = entries[which % len(entries)]
            keys = sorted(entry) or ["x"]
            key = keys[(len(salt) * 7 + junk) % len(keys)]
            entry[key] = JUNK[junk]
            if isinstance(entry.get(key), list) and entry[key] == [] and salt:
                entry[key] = [JUNK[(junk + len(salt)) % len(JUNK)]]
        return facts, history
    return st.tuples(pair, st.lists(edit, min_size=1, max_size=4)).map(apply)
