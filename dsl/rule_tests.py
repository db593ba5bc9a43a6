"""Reading rule tests from YAML files beside the rules (`rules/tests/*.yaml`).

A file holds `tests:`, a list of cases:

    tests:
      - name: week 5 raises the yellow alert
        form: weekly_metrics
        as_of: "2026-08-03"          # optional: evaluate with the rules in force that day
        facts: {rep: east.li, …}
        history: [{…}, {…}]          # optional: earlier periods, oldest first
        today: "2026-08-05"          # a silence test: the day the scheduler looks; `facts`
                                     # names the person, `history` is what they submitted
        expect:
          健康度黄灯: true             # the decision's value …
          转化率下滑: {value: false}   # … or fields of its JSON (matched, notify, steps, …)

The file's schema is rule_tests.schema.json beside this module (checked on reading); the
language's own cases (tests/cases) are files of the same schema that also carry the rule
`source` and may expect an error instead of decisions.
"""
from __future__ import annotations

import json
from decimal import Decimal
from functools import cache
from pathlib import Path

import jsonschema  # type: ignore[import-untyped]
import yaml  # type: ignore[import-untyped]

from .diagnostics import RuleError, suggest
from .testing import Case


class _Loader(yaml.SafeLoader):
    """YAML with exact decimals, as facts arrive from a webhook."""


_Loader.add_constructor("tag:yaml.org,2002:float",
                        lambda loader, node: Decimal(loader.construct_scalar(node).replace("_", "")))
# Dates stay text (as in JSON facts), not datetime.date.
_Loader.add_constructor("tag:yaml.org,2002:timestamp",
                        lambda loader, node: loader.construct_scalar(node))


def find_test_files(rules_path: Path) -> list[Path]:
    base = rules_path if rules_path.is_dir() else rules_path.parent
    return sorted(p for ext in ("*.yaml", "*.yml") for p in (base / "tests").glob(ext))


SCHEMA = Path(__file__).with_name("rule_tests.schema.json")
LANGUAGE_ONLY = ("source", "expect_error", "expect_eval_error", "expect_explanation")


@cache
def _validator():
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema)


def read_test_file(path: Path) -> list[tuple[str, dict]]:
    """(where, test) for each test of the file, read as YAML and checked against the schema.
    A file that cannot be used is a RuleError with a `test.*` code, placed at the test."""
    return [(f"{path}:{line}", test) for line, test in _read_tests(path)]


def _read_tests(path: Path) -> list[tuple[int, dict]]:
    """(line, test) for each test of the file (read_test_file)."""
    text = path.read_text(encoding="utf-8")
    try:
        doc = yaml.load(text, Loader=_Loader)
        lines = _case_lines(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        raise RuleError.of("test.bad_yaml", detail=str(getattr(err, "problem", None) or err)).at(
            str(path), mark.line + 1 if mark else 0, mark.column + 1 if mark else 0) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("tests"), list):
        raise RuleError.of("test.not_a_list").at(str(path))
    lines = [lines[i] if i < len(lines) else 1 for i in range(len(doc["tests"]))]
    error = jsonschema.exceptions.best_match(_validator().iter_errors(doc))
    if error is not None:
        raise _schema_error(path, doc, lines, error)
    return list(zip(lines, doc["tests"]))


def _schema_error(path: Path, doc: dict, lines: list, error) -> RuleError:
    place = list(error.absolute_path)
    if len(place) < 2 or place[0] != "tests":
        return RuleError.of("test.file_schema", detail=error.message, json_path=error.json_path).at(str(path))
    raw = doc["tests"][place[1]]
    name = str(raw.get("name") or f"test #{place[1] + 1}") if isinstance(raw, dict) else f"test #{place[1] + 1}"
    if error.validator == "oneOf" and len(place) == 2:
        err = RuleError.of("test.needs_expect", test=name)
    elif error.validator == "type" and len(place) == 2:
        err = RuleError.of("test.not_a_mapping", test=name)
    else:
        err = RuleError.of("test.schema", test=name, detail=error.message, json_path=error.json_path)
    return err.at(str(path), lines[place[1]])


def load_test_file(path: Path, ruleset) -> list[Case]:
    rule_names = {r.name for r in ruleset.rules}
    cases = []
    for i, (line, raw) in enumerate(_read_tests(path)):
        name, where = str(raw.get("name") or f"test #{i + 1}"), f"{path}:{line}"
        extra = [key for key in LANGUAGE_ONLY if key in raw]
        if extra:
            raise RuleError.of("test.language_only", test=name, key=extra[0]).at(str(path), line)
        form = raw.get("form")
        if form not in ruleset.by_form:
            raise RuleError.of("test.unknown_form", test=name, name=str(form),
                               suggestion=suggest(str(form), ruleset.by_form)).at(str(path), line)
        expect = raw["expect"]                      # the schema: a non-empty mapping here
        for rule in expect:
            if rule not in rule_names:
                raise RuleError.of("test.unknown_rule", test=name, name=str(rule),
                                   suggestion=suggest(str(rule), rule_names)).at(str(path), line)
        facts, history = raw["facts"], raw.get("history", [])
        as_of, today = raw.get("as_of"), raw.get("today")
        cases.append(Case(name, where, str(form), facts, history, str(as_of) if as_of else None, expect,
                          today=str(today) if today else None))
    return cases


def _case_lines(text: str) -> list[int]:
    """1-based line of each entry of the top-level `tests:` list."""
    node = yaml.compose(text, Loader=_Loader)
    if node is None or not hasattr(node, "value"):
        return []
    for key, value in node.value:
        if getattr(key, "value", None) == "tests" and isinstance(value, yaml.SequenceNode):
            return [item.start_mark.line + 1 for item in value.value]
    return []
