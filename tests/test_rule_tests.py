"""`trimtab test`: rule tests beside the rules, inline examples, coverage."""
from __future__ import annotations

import json
import re
import shutil

import pytest

from conftest import RULES, SCHEMAS
from clikit import trimtab


def test_shipped_rules_pass_with_full_rule_coverage():
    r = trimtab("test", "rules", "--min-coverage", "100", "--coverage")
    assert r.returncode == 0, r.stdout + r.stderr
    hit, total = re.search(r"coverage: rules +(\d+)/(\d+) \(100.0%\)", r.stdout).groups()
    assert hit == total and int(total) >= 17
    # a points line's condition counts as seen both ways even when it is not a plain comparison
    # (`+20 when not (stage_advances = 0 for 2 consecutive weeks)`, the health score)
    hit, total = re.search(r"conditions seen true and false +(\d+)/(\d+)", r.stdout).groups()
    assert hit == total, r.stdout
    assert r.stdout.strip().endswith("0 failed")


@pytest.fixture
def rules_copy(tmp_path):
    target = tmp_path / "rules"
    shutil.copytree(RULES, target)
    return target


def run_test(path, *args):
    return trimtab("test", str(path), "--schemas", str(SCHEMAS), "--lang", "en", *args)


def test_a_wrong_expectation_fails_with_a_readable_diff(rules_copy):
    f = rules_copy / "tests" / "monthly.yaml"
    f.write_text(f.read_text(encoding="utf-8").replace("行为分: {value: 50, weighted: 20}",
                                                      "行为分: {value: 60, weighted: 20}"),
                 encoding="utf-8")
    r = run_test(rules_copy)
    assert r.returncode == 1
    assert "FAIL " in r.stdout and "monthly.yaml:" in r.stdout
    assert 'expected {"value": 60}, got {"value": 50}' in r.stdout
    assert "行为分 = 50 points" in r.stdout          # the actual decision, explained
    assert "1 failed" in r.stdout


def test_a_failing_inline_example_names_its_line(rules_copy):
    f = rules_copy / "scoring.rules"
    f.write_text(f.read_text(encoding="utf-8").replace("→ 50", "→ 70"), encoding="utf-8")
    r = run_test(rules_copy)
    assert r.returncode == 1
    assert "scoring.rules:12 › 行为分 example “seed 002”" in r.stdout


@pytest.mark.parametrize("old,new,message", [
    ("健康度黄灯: false", "健康度黄灯灯: false", "names unknown rule `健康度黄灯灯` — did you mean `健康度黄灯`?"),
    ("form: kr_progress\n    facts: *kr\n", "form: kr_progres\n    facts: *kr\n",
     "names unknown form `kr_progres` — did you mean `kr_progress`?"),
])
def test_unknown_rule_or_form_in_a_test_file(rules_copy, old, new, message):
    name = "weekly.yaml" if "健康度黄灯" in old else "monthly.yaml"
    f = rules_copy / "tests" / name
    text = f.read_text(encoding="utf-8")
    assert old in text
    f.write_text(text.replace(old, new, 1), encoding="utf-8")
    r = run_test(rules_copy)
    assert r.returncode == 1
    assert message in r.stderr and f"{name}:" in r.stderr


def test_broken_yaml_is_a_located_error(rules_copy):
    (rules_copy / "tests" / "broken.yaml").write_text("tests:\n  - name: x\n   form: [\n",
                                                      encoding="utf-8")
    r = run_test(rules_copy)
    assert r.returncode == 1 and "broken.yaml:" in r.stderr and "not valid YAML" in r.stderr
    assert "Traceback" not in r.stderr


def test_min_coverage_fails_when_rules_are_untested(rules_copy):
    shutil.rmtree(rules_copy / "tests")
    r = run_test(rules_copy, "--min-coverage", "100")
    assert r.returncode == 1
    assert "below --min-coverage 100" in r.stderr


def test_json_output(rules_copy):
    r = run_test(rules_copy, "--json")
    doc = json.loads(r.stdout)
    assert doc["failed"] == 0 and doc["passed"] >= 30
    assert doc["coverage"]["rules"]["percent"] == 100.0


def test_one_schema_for_every_test_file():
    """rules/tests and the language's cases (tests/cases) are read by one reader against one
    JSON Schema; the schema is itself valid."""
    from jsonschema import Draft202012Validator

    from trimtab.dsl.rule_tests import SCHEMA, read_test_file
    Draft202012Validator.check_schema(json.loads(SCHEMA.read_text(encoding="utf-8")))
    files = sorted((RULES / "tests").glob("*.yaml")) + sorted((RULES.parent / "tests" / "cases").glob("*/*.yaml"))
    assert len(files) >= 20
    counts = {f: len(read_test_file(f)) for f in files}
    assert all(counts.values()), counts


@pytest.mark.parametrize("old,new,message", [
    ("    expect:\n      健康度黄灯: false", "    expcet:\n      健康度黄灯: false",
     "Additional properties are not allowed ('expcet' was unexpected) (at $.tests[0])"),
    ("    facts: *healthy\n", "    facts: [1, 2]\n", "[1, 2] is not of type 'object' (at $.tests[0].facts)"),
    ("    facts: *healthy\n", "    facts: *healthy\n    source: alert x\n",
     "`source` belongs to the language's own cases (tests/cases)"),
], ids=["misspelt key", "facts not a mapping", "a language case's source"])
def test_a_test_file_outside_the_schema_is_a_located_error(rules_copy, old, new, message):
    f = rules_copy / "tests" / "weekly.yaml"
    text = f.read_text(encoding="utf-8")
    assert old in text
    f.write_text(text.replace(old, new, 1), encoding="utf-8")
    r = run_test(rules_copy)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert message in r.stderr and "weekly.yaml:22: test." in r.stderr
    assert ": test “a healthy week raises nothing”: " in r.stderr, r.stderr


def test_a_new_rule_no_test_names_is_not_covered(rules_copy):
    """Issue #15: a rule added beside the shipped ones is evaluated by every case on its form,
    but no case checks it, so it is not covered and --min-coverage 100 fails."""
    with (rules_copy / "alerts.rules").open("a", encoding="utf-8") as f:
        f.write("\nalert 新规则无测试 level yellow\n    on weekly_metrics per rep\n"
                "    when effective_visits < 3\n    notify hrbp\n")
    r = run_test(rules_copy, "--coverage", "--min-coverage", "100")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "below --min-coverage 100" in r.stderr
    assert "新规则无测试" in r.stdout


def test_the_runner_reports_in_chinese_with_lang_zh():
    r = trimtab("test", "rules", "--coverage", "--lang", "zh")
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.strip().endswith("个通过，0 个失败"), r.stdout[-200:]
    assert re.search(r"覆盖率：规则 +(\d+)/\1（100.0%）", r.stdout), r.stdout
