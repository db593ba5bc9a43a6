"""The submission service (server/domain/submission.py): each webhook is evaluated once and stored by
the one writer its plan calls for; what history a form's rules see follows from the rules, not
from the form's name."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from serverkit import bearer, set_target, week
from trimtab.server.domain import pg_intake, plan, tx_writer
from trimtab.server.domain.history import PERIODS, REQUESTS, kind

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("db_kind", ["sqlite"])
def test_the_history_kind_follows_the_rules(app, hooks):
    rs = app.extensions["trimtab.rules"].current
    assert kind(rs, "target_change") == REQUESTS        # an approval rule listens
    assert kind(rs, "weekly_metrics") == PERIODS
    assert kind(rs, "pipeline_snapshot") is None         # no rule: nothing to read


def renamed_change_form(tmp_path) -> dict:
    """The shipped rules and schemas with the target-change form called `change_request`."""
    rules, schemas = tmp_path / "rules", tmp_path / "schemas"
    shutil.copytree(ROOT / "rules", rules, ignore=shutil.ignore_patterns("tests", "demo"))
    shutil.copytree(ROOT / "form_schemas", schemas, ignore=shutil.ignore_patterns("derived"))
    text = (rules / "approvals.rules").read_text(encoding="utf-8")
    assert "on target_change per rep" in text
    (rules / "approvals.rules").write_text(text.replace("on target_change", "on change_request"),
                                           encoding="utf-8")
    schema = json.loads((schemas / "target_change.json").read_text(encoding="utf-8"))
    schema["$id"] = "trimtab:form/change_request"
    (schemas / "change_request.json").write_text(json.dumps(schema), encoding="utf-8")
    (schemas / "target_change.json").unlink()
    return {"RULES_PATH": str(rules), "SCHEMAS_PATH": str(schemas)}


def test_a_rejected_request_does_not_count_on_any_form_an_approval_rule_reads(fresh_app, tmp_path):
    """`at most 1 change per cycle` counts requests not rejected: a form of another name that
    an approval rule listens to reads that history too (a name test would give it the latest
    submission of each earlier period, the rejected one among them)."""
    app, hooks = fresh_app("server", **renamed_change_form(tmp_path))
    set_target(app, "east.li", "new_customers", 80)
    change = {"rep": "east.li", "date": "2026-08-12", "metric": "new_customers",
              "current_target": 80, "proposed_target": 70, "reason": "竞品低价套餐冲击",
              "meeting": "calibration", "requested_by": "east.li"}
    first = hooks.post("change_request", change)
    assert first.status_code == 200, first.json
    approval = first.json["approval"]
    r = hooks.client.post(f"/v1/approvals/{approval['id']}/decision",
                          json={"decision": "reject", "comment": "不同意"},
                          headers=bearer(app, "east.mgr"))
    assert r.status_code == 200 and r.json["status"] == "rejected", r.json
    again = hooks.post("change_request", dict(change, date="2026-08-20", proposed_target=72))
    assert again.status_code == 200, again.json
    assert again.json["decisions"][0]["value"] is True      # allowed: the first one was rejected
    assert again.json["approval"] is not None


def test_each_webhook_is_evaluated_once_and_written_once(db_kind, fresh_app, tmp_path, monkeypatch):
    """A plan that queues notifications goes to the transactional writer; the rest, on
    PostgreSQL, to the two-statement one — and each webhook's rules run once either way."""
    channels = tmp_path / "channels.yaml"
    channels.write_text("channels:\n  hook: {type: webhook, url: 'http://127.0.0.1:9/'}\n"
                        "routes:\n  default: hook\n", encoding="utf-8")
    evaluated, writers = [], []
    real_evaluate, real_tx, real_direct = plan.evaluate, tx_writer.write, pg_intake.Direct.write
    monkeypatch.setattr(plan, "evaluate", lambda *a: evaluated.append(a[1]) or real_evaluate(*a))
    monkeypatch.setattr(tx_writer, "write", lambda *a, **k: writers.append("tx") or real_tx(*a, **k))
    monkeypatch.setattr(pg_intake.Direct, "write",
                        lambda *a, **k: writers.append("two") or real_direct(*a, **k))
    _app, hooks = fresh_app("server", CHANNELS_PATH=str(channels))
    quiet = hooks.post("weekly_metrics", week(1, 5, 0.9))
    assert quiet.status_code == 200 and quiet.json["notifications_queued"] == 0
    raised = hooks.post("weekly_metrics", dict(week(2, 2, 0.5), contract_amount=100000,
                                               negative_feedback=4))
    assert raised.status_code == 200 and raised.json["notifications_queued"] > 0
    assert evaluated == ["weekly_metrics", "weekly_metrics"]
    assert writers == (["two", "tx"] if db_kind == "postgresql" else ["tx", "tx"])
