"""No-code parameters (issue 16, deliverable 3; dsl/parameters.py): every tunable number of
every shipped rule file round-trips through set_parameter, edits touch only the number's own
characters, out-of-range values are refused with `param.out_of_range`, and the tricky texts of
tests/param_cases.yaml (Chinese keywords, full-width digits, comments after the number, two
numbers on a line, dated versions) come out as written."""
from __future__ import annotations

import random
from decimal import Decimal

import pytest

from conftest import RULES, ROOT, load_yaml
from trimtab.dsl.diagnostics import RuleError
from trimtab.dsl.parameters import parameters, set_parameter, set_parameters
from trimtab.dsl.ruleset import read_rule_files

SOURCES = read_rule_files(RULES)
SHIPPED = [(name, text) for name, text in SOURCES if name.endswith(".rules")]
CASES = load_yaml(ROOT / "tests" / "param_cases.yaml")


def _shipped_params(schemas):
    return [(name, text, p) for name, text in SHIPPED for p in parameters(text, schemas, name)]


def _set(text, name, changes, schemas):
    return set_parameters(text, changes, schemas, filename=name, sources=SOURCES)


def _only_span_changed(old: str, new: str, p, chars: int) -> None:
    assert new[:p.start] == old[:p.start]
    assert new[p.start + chars:] == old[p.end:]


def _other_values(p, params):
    """New values the rule set may accept: one step away; a weight that must add up to 100%
    with others takes the step from one or two of its group (a rating's undated weight is in
    force on the later dates too)."""
    from itertools import combinations
    step = Decimal(1)
    value = p.value + step if p.allows(p.value + step) else p.value - step
    if not p.group:
        yield {p.id: value}
        return
    group = [q for q in params if q.group == p.group and q.id != p.id]
    for n in (1, 2):
        for partners in combinations(group, n):
            changes = {p.id: value}
            changes.update({q.id: q.value - (value - p.value) for q in partners})
            yield changes


def _set_somehow(text, name, p, params, schemas):
    for changes in _other_values(p, params):
        try:
            return changes, _set(text, name, changes, schemas)
        except RuleError as err:
            if not p.group:
                raise
            last = err
    raise last


def test_every_shipped_file_has_parameters(schemas):
    found = _shipped_params(schemas)
    files = {name.rsplit("/", 1)[-1] for name, _t, _p in found}
    assert files >= {"alerts.rules", "health.rules", "scoring.rules", "targets.rules",
                     "approvals.rules", "cadence.rules", "rating.rules", "references.rules"}
    assert len({p.id for _n, _t, p in found}) == len(found)        # ids are unique per set


def test_each_kind_names_its_own_numbers(schemas, monkeypatch):
    """The walk asks each rule's kind module (its `params` hook, through the registry) for the
    rule's numbers: a kind added as a module brings its tunable numbers with it."""
    import dataclasses
    from trimtab.dsl import kinds
    asked: list[tuple[str, str]] = []
    for name, kind in list(kinds.KINDS.items()):
        assert kind.params is not None, name
        def recorder(c, rule, _kind=kind):
            asked.append((_kind.name, rule.kind))
            _kind.params(c, rule)
        monkeypatch.setitem(kinds.KINDS, name, dataclasses.replace(kind, params=recorder))
    _shipped_params(schemas)
    assert all(mine == theirs for mine, theirs in asked)
    assert {mine for mine, _ in asked} == set(kinds.KINDS)


@pytest.mark.parametrize("name,text", SHIPPED, ids=[n.rsplit("/", 1)[-1] for n, _t in SHIPPED])
def test_each_parameter_round_trips(schemas, name, text):
    params = parameters(text, schemas, name)
    for p in params:
        assert text[p.start:p.end].lstrip("+-−").rstrip("stndrh") == format(abs(p.value), "f"), p.id
        assert set_parameter(text, p.id, p.value, schemas, filename=name, sources=SOURCES) == text
        changes, new = _set_somehow(text, name, p, params, schemas)
        after = {q.id: q for q in parameters(new, schemas, name)}
        assert [q.id for q in params] == list(after), "ids survive an edit"
        for pid, value in changes.items():
            assert after[pid].value == value, pid
        if len(changes) == 1:
            _only_span_changed(text, new, p, after[p.id].end - after[p.id].start)


def test_out_of_range_values_are_refused(schemas):
    for name, text, p in _shipped_params(schemas):
        bad = [p.maximum + 1] if p.maximum is not None else []
        bad += [p.minimum - 1] if p.minimum is not None else []
        if p.decimals == 0:
            bad.append(p.value + Decimal("0.5"))
        for value in bad:
            with pytest.raises(RuleError) as err:
                set_parameter(text, p.id, value, schemas, filename=name, sources=SOURCES)
            assert err.value.code == "param.out_of_range", (p.id, value)
            assert (err.value.diagnostics[0].line, err.value.diagnostics[0].column) == (p.line, p.column)


def test_refusals_speak_both_languages(schemas):
    name, text = next((n, t) for n, t in SHIPPED if n.endswith("health.rules"))
    with pytest.raises(RuleError) as err:
        set_parameter(text, "健康度黄灯/when/at_least", 6, schemas, filename=name, sources=SOURCES)
    assert "at most 5" in err.value.message("en")
    assert err.value.message("zh") == "需满足的条件数（共 5 项）：6 超出规则允许的范围（整数，不小于 1，不大于 5）"
    with pytest.raises(RuleError) as err:
        set_parameter(text, "健康度黄灯/when.5/1", "seventy", schemas, filename=name, sources=SOURCES)
    assert err.value.code == "param.bad_value"
    with pytest.raises(RuleError) as err:
        set_parameter(text, "健康度黄灯/when.9/1", 70, schemas, filename=name, sources=SOURCES)
    assert err.value.code == "param.unknown"


def test_a_value_the_rule_set_refuses_is_not_returned(schemas):
    """Within the number's own limits but not the set's: one weight alone breaks the 100%."""
    name, text = next((n, t) for n, t in SHIPPED if n.endswith("rating.rules"))
    with pytest.raises(RuleError) as err:
        set_parameter(text, "季度评级/part.customer_points/weight", 20, schemas, filename=name,
                      sources=SOURCES)
    assert err.value.code == "check.rating_parts_sum"


@pytest.mark.parametrize("case", CASES, ids=[c["note"] for c in CASES])
def test_tricky_texts(schemas, case):
    shared = [(n, t) for n, t in SOURCES if n.endswith(("roles.rules", "references.rules"))]
    text, name = case["text"], "case.rules"
    found = {p.id: p.text for p in parameters(text, schemas, name)}
    for pid, written in (case.get("params") or {}).items():
        assert found.get(pid) == written, (pid, found)
    if "want_error" in case:
        with pytest.raises(RuleError) as err:
            set_parameters(text, case["set"], schemas, filename=name, sources=shared)
        assert err.value.code == case["want_error"]
        return
    if "set" in case:
        assert set_parameters(text, case["set"], schemas, filename=name, sources=shared) == case["want"]


def test_random_valid_values_read_back(schemas):
    """A value drawn within a parameter's limits either loads and reads back as written, with
    the rest of the file untouched, or is refused by the rule set's own check (weights that no
    longer add up, a cap below its points) — never a broken file or another error."""
    rng = random.Random(20261130)
    found = _shipped_params(schemas)
    accepted = 0
    for case in range(60):
        name, text, p = rng.choice(found)
        value = _draw(rng, p)
        try:
            new = set_parameter(text, p.id, value, schemas, filename=name, sources=SOURCES)
        except RuleError as err:
            assert err.code.startswith("check."), (case, p.id, value, err)
            continue
        after = next(q for q in parameters(new, schemas, name) if q.id == p.id)
        assert after.value == value, (case, p.id, value)
        _only_span_changed(text, new, p, after.end - after.start)
        accepted += 1
    assert accepted >= 30           # the draws test edits, not mostly refusals


def _draw(rng, p) -> Decimal:
    low = max(p.minimum if p.minimum is not None else Decimal(0), Decimal(-1000))
    high = min(p.maximum if p.maximum is not None else Decimal(10 ** 6), low + 1000)
    places = min(p.decimals, 2) if rng.random() < 0.5 else 0
    while True:
        value = Decimal(rng.randint(int(low * 10 ** places), int(high * 10 ** places))).scaleb(-places)
        if p.allows(value):
            return value
