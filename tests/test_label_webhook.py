"""Names may be labels, through the server (issue 15): a rule set written with the forms' and
roles' Chinese labels is loaded by the server, decides a signed webhook and /v1/evaluate, and
notifies the role its label names."""
from __future__ import annotations

import shutil

import pytest

from conftest import ROOT, RULES, SCHEMAS
from serverkit import week

LABELLED = """预警 拜访不足 级别 yellow
    针对 周度销售指标 按 销售代表
    当 有效拜访数 < 8
    通知 销售总监
    提示 "{销售代表}：本周有效拜访 {有效拜访数} 次"
"""


@pytest.fixture
def db_kind() -> str:
    return "sqlite"             # the names are resolved when the rules load: one database is enough


@pytest.fixture
def app_config(tmp_path, monkeypatch) -> dict:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "channels.yaml").write_text("channels:\n  dingtalk: {type: dingtalk, url_env: T_DT_URL}\n"
                                         "routes:\n  sales_director: dingtalk\n", encoding="utf-8")
    monkeypatch.setenv("T_DT_URL", "http://127.0.0.1:9/robot")     # queued here, never sent
    for name in ("roles.rules", "references.rules"):       # 销售总监 is declared in roles.rules
        shutil.copy(RULES / name, rules / name)
    (rules / "labels.rules").write_text(LABELLED, encoding="utf-8")
    return {"RULES_PATH": str(rules), "SCHEMAS_PATH": str(SCHEMAS),
            "PLUGIN_PATH": str(ROOT / "plugin_manifests"), "LANG": "zh"}


def test_a_rule_written_with_labels_fires_on_a_webhook_and_notifies_the_labelled_role(hooks, client):
    facts = dict(week(1, 5, 0.9), effective_visits=5)
    r = hooks.post("weekly_metrics", facts, lang="zh")
    assert r.status_code == 200, r.json
    decision = next(d for d in r.json["decisions"] if d["rule"] == "拜访不足")
    assert decision["value"] is True and decision["notify"] == ["sales_director"]
    assert decision["message"] == "east.li：本周有效拜访 5 次"
    assert r.json["notifications_queued"] == 1              # the sales director of the org chart
    e = client.post("/v1/evaluate", json={"form": "weekly_metrics", "facts": facts, "trace": True})
    assert e.status_code == 200, e.json
    evaluated = next(d for d in e.json["decisions"] if d["rule"] == "拜访不足")
    assert evaluated["value"] is True and evaluated["notify"] == ["sales_director"]
