"""The `trimtab` command as a user runs it: exit codes, stdout and stderr."""
from __future__ import annotations

import json
import shutil

import pytest

from clikit import trimtab
from conftest import RULES, SCHEMAS


def test_check_shipped_rules_exits_0():
    r = trimtab("check", "rules")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("ok: ")


@pytest.mark.slow
def test_misspelt_field_in_a_copy_exits_1_with_location_and_suggestion(tmp_path):
    for name in ("roles.rules", "references.rules"):
        shutil.copy(RULES / name, tmp_path / name)
    text = (RULES / "health.rules").read_text(encoding="utf-8")
    (tmp_path / "health.rules").write_text(text.replace("effective_visits <", "efective_visits <"),
                                           encoding="utf-8")
    r = trimtab("check", str(tmp_path), "--schemas", str(SCHEMAS), "--lang", "en")
    assert r.returncode == 1
    first = r.stderr.splitlines()[0]
    assert f"{tmp_path / 'health.rules'}:10:9: check.unknown_field:" in first
    assert "did you mean `effective_visits`?" in first
    assert "^^^^^^^^^^^^^^^" in r.stderr
    zh = trimtab("check", str(tmp_path), "--schemas", str(SCHEMAS), "--lang", "zh")
    assert "是否想写 `effective_visits`" in zh.stderr


@pytest.mark.slow
def test_eval_behaviour_example_prints_50_with_trace(tmp_path):
    spec = json.loads((RULES / "demo" / "behavior_scoring.json").read_text(encoding="utf-8"))
    facts = tmp_path / "facts.json"
    facts.write_text(json.dumps(spec["facts"]), encoding="utf-8")
    r = trimtab("eval", "--form", "behavior_log", "--facts", str(facts), "--rule", "行为分",
                "--lang", "en")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("行为分 = 50 points")
    assert "(scoring.rules:8)" in r.stdout       # the trace names the source line
    j = trimtab("eval", "--form", "behavior_log", "--facts", str(facts), "--json", "--lang", "zh")
    decisions = {d["rule"]: d for d in json.loads(j.stdout)["decisions"]}
    assert decisions["行为分"]["value"] == 50
    assert decisions["行为分"]["trace"]


def test_check_and_eval_read_names_written_as_labels(tmp_path):
    """Issue 15: `当 有效拜访数 < 8` and `通知 销售总监` name the field and the declared role."""
    shutil.copy(RULES / "roles.rules", tmp_path / "roles.rules")
    (tmp_path / "a.rules").write_text("预警 拜访不足 级别 yellow\n    针对 weekly_metrics 按 rep\n"
                                      "    当 有效拜访数 < 8\n    通知 销售总监\n", encoding="utf-8")
    r = trimtab("check", str(tmp_path), "--schemas", str(SCHEMAS), "--lang", "en")
    assert r.returncode == 0, r.stderr
    facts = json.loads((RULES / "demo" / "fintech_week5.json").read_text(encoding="utf-8"))["facts"]
    (tmp_path / "facts.json").write_text(json.dumps(dict(facts, effective_visits=5)), encoding="utf-8")
    e = trimtab("eval", str(tmp_path), "--schemas", str(SCHEMAS), "--form", "weekly_metrics",
                "--facts", str(tmp_path / "facts.json"), "--json", "--lang", "zh")
    assert e.returncode == 0, e.stderr
    decision = json.loads(e.stdout)["decisions"][0]
    assert (decision["value"], decision["notify"]) == (True, ["sales_director"])
    assert decision["trace"] == ["✓ 有效拜访数 < 8: 5 < 8 成立 (a.rules:3)"]


def test_eval_reads_stdin_and_reports_missing_field():
    r = trimtab("eval", "--form", "behavior_log", "--facts", "-", "--lang", "en",
                stdin='{"rep": "r1", "month": "2026-07", "needs_report": "none", "leads": []}')
    assert r.returncode == 1
    assert "rule `行为分` needs field `effective_visits`" in r.stderr
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize("args", [
    ["eval", "--form", "nope", "--facts", "-"],
    ["eval", "--form", "behavior_log", "--facts", "/no/such/file.json"],
])
def test_eval_bad_input_exits_1_without_traceback(args):
    r = trimtab(*args, "--lang", "en", stdin="{}")
    assert r.returncode == 1
    assert r.stderr and "Traceback" not in r.stderr


def test_eval_malformed_json_exits_1():
    r = trimtab("eval", "--form", "behavior_log", "--facts", "-", stdin="{not json")
    assert r.returncode == 1 and "cannot read facts" in r.stderr


@pytest.mark.parametrize("literal,path", [("1e999999", "$.effective_visits"),
                                          ("9" * 5000, "$.effective_visits"),
                                          ('"\\ud800"', "$.rep")])
def test_eval_facts_outside_the_limits_exit_1_at_once(literal, path):
    facts = '{"rep": "r1", "month": "2026-07", "needs_report": "none", "leads": [], ' \
            '"effective_visits": 3}'.replace('"r1"' if path == "$.rep" else "3", literal)
    r = trimtab("eval", "--form", "behavior_log", "--facts", "-", "--lang", "en", stdin=facts)
    assert r.returncode == 1 and "cannot read facts" in r.stderr and path in r.stderr, r.stderr
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize("args", [[], ["frobnicate"], ["eval"], ["fmt", "--lang", "fr"]])
def test_usage_errors_exit_2(args):
    r = trimtab(*args)
    assert r.returncode == 2
    assert "usage:" in r.stderr


@pytest.mark.parametrize("cmd", ["check", "fmt", "eval", "demo"])
def test_every_command_has_help(cmd):
    r = trimtab(cmd, "--help")
    assert r.returncode == 0 and "usage: trimtab" in r.stdout


def test_fmt_check_passes_on_shipped_rules():
    r = trimtab("fmt", "--check", "rules")
    assert r.returncode == 0, r.stderr


@pytest.mark.slow
def test_fmt_check_fails_on_unformatted_file(tmp_path):
    f = tmp_path / "x.rules"
    f.write_text("role   sales_director\n", encoding="utf-8")
    r = trimtab("fmt", "--check", str(f))
    assert r.returncode == 1 and "not formatted" in r.stderr
    assert trimtab("fmt", "--write", str(f)).returncode == 0
    assert f.read_text(encoding="utf-8") == "role sales_director\n"


def test_check_broken_file_exits_1_no_traceback(tmp_path):
    (tmp_path / "x.rules").write_bytes(b"\xff\xfe alert")
    r = trimtab("check", str(tmp_path), "--schemas", str(SCHEMAS))
    assert r.returncode == 1 and "Traceback" not in r.stderr


def test_check_empty_directory_exits_1(tmp_path):
    r = trimtab("check", str(tmp_path), "--schemas", str(SCHEMAS), "--lang", "en")
    assert r.returncode == 1 and "no rule files" in r.stderr


@pytest.mark.slow
def test_demo_runs():
    r = trimtab("demo", "--lang", "en")
    assert r.returncode == 0, r.stderr
    assert "健康度黄灯 (yellow) fired" in r.stdout
