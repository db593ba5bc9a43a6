"""Rule sets that cannot go live broken (issue 13, part 4): the limits of dsl/limits.py, a
load bounded in time, and no traceback from `trimtab check` whatever the input.

The literal and duration limits themselves are case files (tests/cases/limits/)."""
from __future__ import annotations

import time

import pytest

from conftest import RULES, SCHEMAS, shared_sources
from trimtab.dsl import limits
from trimtab.dsl.diagnostics import RuleError
from trimtab.dsl.ruleset import load_sources
from trimtab.server.cli import main as cli

ALERT = "alert a level yellow\n    on weekly_metrics per rep\n    when {expr}\n    notify hrbp\n"


def _codes(sources, schemas):
    with pytest.raises(RuleError) as info:
        load_sources(shared_sources() + sources, schemas)
    return [d.code for d in info.value.diagnostics]


@pytest.mark.parametrize("depth", [10, 11, 12, 50])
def test_nested_windows_are_refused_quickly(schemas, depth):
    # Measured before: 11 deep took 18 s to load, 12 deep 68 s, 50 deep never ended.
    expr = "average(" * depth + "effective_visits" + ", last 2 weeks)" * depth + " < 3"
    started = time.monotonic()
    codes = _codes([("deep.rules", ALERT.format(expr=expr))], schemas)
    assert time.monotonic() - started < 1.0
    assert codes == ["check.too_complex"]


def test_a_load_over_its_time_budget_stops_with_a_diagnostic(schemas, monkeypatch):
    monkeypatch.setattr(limits, "LOAD_BUDGET_S", 0.0)
    codes = _codes([("a.rules", ALERT.format(expr="effective_visits < 3"))], schemas)
    assert codes == ["load.over_budget"]


def test_a_file_over_the_size_limit_is_refused(schemas):
    text = ALERT.format(expr="effective_visits < 3") + "#" * limits.MAX_FILE_CHARS
    assert _codes([("big.rules", text)], schemas) == ["parse.file_too_large"]


def test_more_rules_on_one_form_than_a_stored_set_holds_are_refused(schemas):
    """A submission's decisions are stored as one set of at most MAX_RULES_PER_FORM ids
    (server/domain/period_decisions.py): one rule more is refused at the first rule over, a
    rule's dated versions counting once; as many on another form are fine."""
    def rules(n, form="weekly_metrics", dated=False):
        one = "alert r{i} level yellow\n    on " + form + " per rep\n    when effective_visits < 3\n    notify hrbp\n"
        out = [one.format(i=i) for i in range(n)]
        if dated:                       # a second version of r0 from a date: still one rule
            out.append(one.format(i=0).replace("level yellow\n", "level yellow\n    effective 2026-09-01\n"))
        return "\n".join(out)
    limit = limits.MAX_RULES_PER_FORM
    load_sources(shared_sources() + [("many.rules", rules(limit, dated=True))], schemas)
    with pytest.raises(RuleError) as info:
        load_sources(shared_sources() + [("many.rules", rules(limit + 1))], schemas)
    [d] = info.value.diagnostics
    assert (d.code, d.file, d.line) == ("check.too_many_rules", "many.rules", 5 * limit + 1)
    assert f"at most {limit}" in d.message("en") and f"最多 {limit}" in d.message("zh")


def test_an_unexpected_error_is_an_internal_diagnostic_with_its_file(schemas, monkeypatch):
    import dataclasses

    from trimtab.dsl.kinds import KINDS

    def broken(checker, rule, scope):
        raise ZeroDivisionError("a bug")
    monkeypatch.setitem(KINDS, "alert", dataclasses.replace(KINDS["alert"], check=broken))
    with pytest.raises(RuleError) as info:
        load_sources(shared_sources() + [("a.rules", ALERT.format(expr="effective_visits < 3"))],
                     schemas)
    [d] = info.value.diagnostics
    assert (d.code, d.file, d.line) == ("internal.error", "a.rules", 1)
    assert "ZeroDivisionError" in d.message("en") and "内部错误" in d.message("zh")


@pytest.mark.parametrize("as_json", [False, True])
def test_check_prints_no_traceback_on_an_internal_error(monkeypatch, capsys, as_json):
    import trimtab.dsl.ruleset

    def broken(*args, **kwargs):
        raise RuntimeError("outside every stage")
    monkeypatch.setattr(trimtab.dsl.ruleset, "load_sources", broken)
    args = ["check", str(RULES), "--schemas", str(SCHEMAS), "--lang", "en"]
    assert cli.main(args + (["--json"] if as_json else [])) == 1
    out, err = capsys.readouterr()
    assert "internal.error" in err and "Traceback" not in err + out
    assert str(RULES) in err


@pytest.mark.parametrize("line", [
    "    at most {big} change per cycle",
    "    +{big} when change > 0",
    "    step hrbp when change > {big}",
])
def test_check_on_huge_numbers_prints_diagnostics_not_tracebacks(tmp_path, line):
    # Measured before: a >4,300-digit number here made `trimtab check` print a traceback.
    from clikit import trimtab
    for name in ("roles.rules", "references.rules"):
        (tmp_path / name).write_text((RULES / name).read_text(encoding="utf-8"), encoding="utf-8")
    body = line.format(big="9" * 4301)
    (tmp_path / "x.rules").write_text(
        "approval x\n    on target_change per rep\n    change = proposed_target - current_target\n"
        f"{body}\n    cycle every 6 weeks\n    step direct_manager\n", encoding="utf-8")
    r = trimtab("check", str(tmp_path), "--schemas", str(SCHEMAS), "--lang", "en")
    assert r.returncode == 1
    assert "Traceback" not in r.stderr
    assert f"{tmp_path / 'x.rules'}:4:" in r.stderr
