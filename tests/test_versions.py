"""Rule sets from git: versions, all-or-nothing loading, plain-words diff."""
from __future__ import annotations

import pytest

from gitrepo import RulesRepo
from clikit import trimtab
from trimtab.dsl.diagnostics import RuleError
from trimtab.dsl.diff import diff
from trimtab.dsl.versions import WORKTREE, ActiveRuleSet, load_revision

FACTS = {"account": "a", "rep": "r", "date": "2026-07-01", "amount": 1, "days_outstanding": 75}


@pytest.fixture
def repo(tmp_path):
    return RulesRepo(tmp_path / "rules-repo")


def test_version_is_the_commit_id(repo):
    head = repo.git("rev-parse", "HEAD")
    assert load_revision(repo.rules, "HEAD").version == head
    assert load_revision(repo.rules, WORKTREE).version == head


def test_a_dirty_tree_adds_a_content_hash(repo):
    head = repo.git("rev-parse", "HEAD")
    repo.edit("rules/alerts.rules", "days_outstanding > 60 days", "days_outstanding > 45 days")
    version = load_revision(repo.rules, WORKTREE).version
    assert version.startswith(head + "+dirty.") and len(version) == 40 + 7 + 12
    assert load_revision(repo.rules, "HEAD").version == head      # the commit is untouched
    r = trimtab("check", str(repo.rules), "--rev", "WORKTREE", "--lang", "en")
    assert r.returncode == 0 and "has uncommitted changes; loaded as version" in r.stderr


def test_a_breaking_commit_is_refused_and_the_previous_set_keeps_serving(repo):
    active = ActiveRuleSet()
    good = active.activate(repo.rules, "HEAD")
    repo.edit("rules/alerts.rules", "when days_outstanding > 60 days", "when days_outstandng > 60 days")
    bad_commit = repo.commit("typo")
    with pytest.raises(RuleError) as info:
        active.activate(repo.rules, "HEAD")
    diag = info.value.diagnostics[0]
    assert diag.code == "check.unknown_field" and diag.file == "rules/alerts.rules"
    assert diag.args["suggestion"] == "days_outstanding"
    assert active.current is good and active.current.version != bad_commit
    decision = {d.rule: d for d in active.current.evaluate("receivables", FACTS)}["应收超期"]
    assert decision.value is True


def test_bad_revisions_and_places(repo, tmp_path):
    with pytest.raises(RuleError) as info:
        load_revision(repo.rules, "no-such-branch")
    assert info.value.code == "git.unknown_revision"
    (tmp_path / "plain" / "rules").mkdir(parents=True)
    with pytest.raises(RuleError) as info:
        load_revision(tmp_path / "plain" / "rules", "HEAD")
    assert info.value.code == "git.not_a_repository"


def test_cli_reports_bad_revisions_with_exit_1(repo, tmp_path):
    r = trimtab("check", str(repo.rules), "--rev", "nope")
    assert r.returncode == 1 and "unknown revision `nope`" in r.stderr
    (tmp_path / "plain").mkdir()
    r = trimtab("diff", "HEAD~1", "HEAD", str(tmp_path / "plain"))
    assert r.returncode == 1 and "not inside a git repository" in r.stderr
    repo.edit("rules/health.rules", "pipeline_coverage < 75%", "pipeline_coverage << 75%")
    repo.commit("syntax error")
    r = trimtab("check", str(repo.rules), "--rev", "HEAD", "--lang", "en")
    assert r.returncode == 1
    assert "revision HEAD does not load" in r.stderr and "rules/health.rules:16:" in r.stderr
    assert "Traceback" not in r.stderr


def test_diff_speaks_plain_words(repo):
    first = repo.git("rev-parse", "HEAD")
    repo.edit("rules/health.rules", "pipeline_coverage < 75%", "pipeline_coverage < 70%")
    repo.edit("rules/approvals.rules", "    step sales_director when abs(change) > 15%\n", "")
    repo.edit("rules/targets.rules", "weight market_potential 50%\n    weight staffing_strength 30%",
              "weight market_potential 40%\n    weight staffing_strength 40%")
    second = repo.commit("calibration")
    changes = [c.words("en") for c in diff(load_revision(repo.rules, first),
                                           load_revision(repo.rules, second))]
    assert "健康度黄灯: threshold of `pipeline_coverage < 75%` 75% → 70%" in changes
    assert "目标变更: step removed: sales_director (when `abs(change) > 15%`)" in changes
    assert "区域目标拆分: weight market_potential 50% → market_potential 40%" in changes
    assert len(changes) == 4
    r = trimtab("diff", first, second, str(repo.rules), "--lang", "zh")
    assert r.returncode == 0
    assert "健康度黄灯：`pipeline_coverage < 75%` 的阈值 75% → 70%" in r.stdout
    back = trimtab("diff", second, first, str(repo.rules), "--lang", "en")
    assert "目标变更: step added: sales_director (when `abs(change) > 15%`)" in back.stdout


def test_diff_of_a_reward_and_a_dated_weight_names_only_them(repo):
    first = repo.git("rev-parse", "HEAD")
    repo.edit("rules/targets.rules", "reward 10% of closed_amount above range",
              "reward 12% of closed_amount above range")
    repo.edit("rules/targets.rules", "× factor, range ±10%\n",
              "× factor, range ±10%\n    reward 5% of closed_amount above range\n")
    repo.edit("rules/rating.rules", "part contract_points 50% from 2026-08-05\n",
              "part contract_points 45% from 2026-08-05\n")
    repo.edit("rules/rating.rules", "part customer_points 10% from 2026-08-05\n",
              "part customer_points 15% from 2026-08-05\n")
    second = repo.commit("reward and weights")
    changes = [c.words("en") for c in diff(load_revision(repo.rules, first),
                                           load_revision(repo.rules, second))]
    assert sorted(changes) == sorted([
        "季度评级: rating part contract_points 50% → contract_points 45%",
        "季度评级: rating part customer_points 10% → customer_points 15%",
        "动态目标池: reward above range - → 5% closed_amount",
        "滚动预测: reward above range 10% closed_amount → 12% closed_amount"]), changes


@pytest.mark.parametrize("rev", ["--output=/tmp/x", "-h", "a\x00b", "main branch", ""])
def test_revision_names_that_are_not_revisions(repo, rev):
    with pytest.raises(RuleError) as info:
        load_revision(repo.rules, rev) if rev else load_revision(repo.rules, "\n")
    assert info.value.code == "git.bad_revision"


def test_diff_keeps_the_sign_of_a_negative_threshold(repo):
    """`< -20%` → `< -25%` was told as "20% → 25%": the minus sits on a Neg around the number."""
    first = repo.git("rev-parse", "HEAD")
    repo.edit("rules/alerts.rules", "growth(contract_amount) < -20%", "growth(contract_amount) < -25%")
    second = repo.commit("a deeper fall")
    changes = [c.words("en") for c in diff(load_revision(repo.rules, first),
                                           load_revision(repo.rules, second))]
    assert changes == ["合同额下滑: threshold of `growth(contract_amount) < -20% or negative_feedback >= 3`"
                       " -20% → -25%"]
    repo.edit("rules/alerts.rules", "growth(contract_amount) < -25%", "growth(contract_amount) < 25%")
    third = repo.commit("sign flipped")
    changes = [c.words("en") for c in diff(load_revision(repo.rules, second),
                                           load_revision(repo.rules, third))]
    assert len(changes) == 1 and "-25%" in changes[0] and "→ `growth(contract_amount) < 25%" in changes[0]


def test_the_same_files_are_compiled_once_and_each_caller_gets_its_own_version(repo, monkeypatch):
    """A reload with nothing changed, or the same commit asked for twice, reuses the set built
    for those texts; a changed file is loaded anew, and a bad set is refused every time."""
    import trimtab.dsl.versions as versions
    built = []
    real = versions.load_sources
    monkeypatch.setattr(versions, "load_sources", lambda *a, **k: built.append(1) or real(*a, **k))
    monkeypatch.setattr(versions, "_LOADED", type(versions._LOADED)(versions.KEEP_LOADED))
    head = repo.git("rev-parse", "HEAD")
    first, again = load_revision(repo.rules, WORKTREE), load_revision(repo.rules, WORKTREE)
    assert len(built) == 1 and first is not again and first.rules is again.rules
    by_commit = [load_revision(repo.rules, head) for _ in range(2)]     # schemas named as in git
    assert len(built) == 2 and by_commit[0].rules is by_commit[1].rules
    assert first.version == again.version == by_commit[1].version == head
    repo.edit("rules/alerts.rules", "days_outstanding > 60 days", "days_outstanding > 45 days")
    dirty = load_revision(repo.rules, WORKTREE)
    assert len(built) == 3 and dirty.version.startswith(head + "+dirty.")
    assert first.version == head                     # a copy's version is its own
    repo.edit("rules/alerts.rules", "days_outstanding > 45 days", "days_outstandng > 45 days")
    for _ in range(2):
        with pytest.raises(RuleError):
            load_revision(repo.rules, WORKTREE)
    assert len(built) == 5


def test_every_clause_of_the_shipped_rules_is_named_in_both_languages(shipped):
    """A clause's name in `trimtab diff` comes from the clauses every declaration has or from
    its kind's `clause_names`: none of the shipped rules' clauses is shown by its raw key."""
    from trimtab.dsl.catalogs import tr
    from trimtab.dsl.diff import _LABELS, _clauses, _decls
    labels = {c.label for decl, lines in _decls(shipped).values() for c in _clauses(decl, lines)}
    assert len(labels) > 20 and labels <= set(_LABELS), labels - set(_LABELS)
    assert [x for x in labels if tr("zh", _LABELS[x]) == _LABELS[x]] == []
