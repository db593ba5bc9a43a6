"""Replay reports exactly the decisions that flip between two versions."""
from __future__ import annotations

import json

import pytest

from factgen import weekly_records
from gitrepo import RulesRepo
from clikit import trimtab
from trimtab.dsl import interpreter
from trimtab.dsl.diagnostics import RuleError
from trimtab.dsl.replay import replay
from trimtab.dsl.versions import load_revision


@pytest.fixture(scope="module")
def two_commits(tmp_path_factory):
    repo = RulesRepo(tmp_path_factory.mktemp("replay") / "repo")
    first = repo.git("rev-parse", "HEAD")
    repo.edit("rules/health.rules", "pipeline_coverage < 75%", "pipeline_coverage < 70%")
    second = repo.commit("lower the pipeline threshold")
    return repo, first, second


def brute_force(old_set, new_set, records):
    """Every (record, rule) whose value differs, by the reference interpreter, with the same
    history the replay gives each record (the earlier records of the same rep)."""
    flips, seen = set(), {}
    for i, rec in enumerate(records):
        facts = rec["facts"]
        history = seen.setdefault(facts["rep"], [])
        values = []
        for rs in (old_set, new_set):
            out = {}
            for r in rs.in_force("weekly_metrics"):
                try:
                    out[r.name] = interpreter.run(r, facts, history[-60:])[0]
                except RuleError as err:
                    out[r.name] = ("error", err.code)
            values.append(out)
        for name in values[0]:
            if values[0][name] != values[1][name]:
                flips.add((i, name))
        history.append(facts)
        del history[:-60]
    return flips


@pytest.mark.slow
def test_replay_reports_exactly_the_flips(two_commits):
    repo, first, second = two_commits
    old_set, new_set = load_revision(repo.rules, first), load_revision(repo.rules, second)
    records = weekly_records(2400, reps=30, seed=11)        # 80 weeks: history gets trimmed
    report = replay(old_set, new_set, records, examples=10 ** 6)
    flipped = {(f.index, f.rule) for f in report.examples}
    assert flipped == brute_force(old_set, new_set, records)
    assert report.changed == len(flipped) > 0
    assert set(report.by_rule) == {"健康度黄灯"}             # only the rule that changed
    for f in report.examples:                               # and only inside the moved band
        assert 0.70 <= f.facts["pipeline_coverage"] < 0.75
        assert (f.old, f.new) == (True, False)
    assert report.records == 2400
    assert sum(report.by_group.values()) == report.changed


def test_replay_cli_text_and_json(two_commits, tmp_path):
    repo, first, second = two_commits
    facts = tmp_path / "facts.jsonl"
    facts.write_text("\n".join(json.dumps(r, default=float) for r in weekly_records(300, reps=20)),
                     encoding="utf-8")
    r = trimtab("replay", first, second, str(repo.rules), "--facts", str(facts), "--lang", "en",
                "--examples", "2", "--no-progress")
    assert r.returncode == 0, r.stderr
    assert "300 records" in r.stdout and "健康度黄灯:" in r.stdout
    assert "example 1:" in r.stdout and "pipeline_coverage < 75%" in r.stdout
    j = trimtab("replay", first, second, str(repo.rules), "--facts", str(facts), "--json",
                "--group-by", "region")
    doc = json.loads(j.stdout)
    assert doc["old_version"] == first and doc["new_version"] == second
    assert doc["decisions_changed"] == sum(doc["by_rule"].values())
    assert set(doc["by_group"]) <= {"east", "south", "north", "west", "central"}
    assert doc["examples"][0]["old_trace"] and doc["examples"][0]["new_trace"]


def test_replay_bad_facts_file(two_commits, tmp_path):
    repo, first, second = two_commits
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"form": "weekly_metrics", "facts": {}}\n{oops\n', encoding="utf-8")
    r = trimtab("replay", first, second, str(repo.rules), "--facts", str(bad))
    assert r.returncode == 1 and "bad.jsonl:2" in r.stderr and "Traceback" not in r.stderr


def test_replay_counts_decisions_that_could_not_be_evaluated(two_commits, tmp_path):
    repo, first, second = two_commits
    facts = tmp_path / "strings.jsonl"
    facts.write_text("\n".join(json.dumps(r, default=str) for r in weekly_records(20, reps=5)),
                     encoding="utf-8")
    r = trimtab("replay", first, second, str(repo.rules), "--facts", str(facts), "--lang", "en")
    assert r.returncode == 0
    assert "could not be evaluated" in r.stderr and "eval.wrong_type" in r.stderr
