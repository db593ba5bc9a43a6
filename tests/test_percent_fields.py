"""The percent trap (issue #15): percent fields hold fractions.  `pipeline_coverage: 70` is
refused with the fix on the CLI, `/v1/evaluate` and a signed webhook; `"75%"` is read as 0.75
and stored as the fraction; `pipeline_coverage < 75` in a rule is a check error at the number."""
from __future__ import annotations

import json
from decimal import Decimal

import pytest
from sqlalchemy import select

from clikit import trimtab
from serverkit import week
from trimtab.server.storage.models import Fact


@pytest.fixture
def app_config():
    return {"LANG": "en"}


def _facts_file(tmp_path, coverage) -> str:
    path = tmp_path / "facts.json"
    path.write_text(json.dumps(week(1, 3, 0.9) | {"pipeline_coverage": coverage}), encoding="utf-8")
    return str(path)


# ---------------------------------------------------------------------- CLI
def test_check_refuses_a_plain_number_against_a_percent_field(tmp_path):
    (tmp_path / "cov.rules").write_text(
        "alert 覆盖率低 level yellow\n    on weekly_metrics per rep\n"
        "    when pipeline_coverage < 75\n    notify direct_manager\n", encoding="utf-8")
    schemas = "form_schemas"
    en = trimtab("check", str(tmp_path), "--schemas", schemas, "--lang", "en")
    assert en.returncode == 1
    assert "cov.rules:3:30: check.plain_number_vs_percent" in en.stderr
    assert "this means 7500%; write `75%`" in en.stderr
    zh = trimtab("check", str(tmp_path), "--schemas", schemas, "--lang", "zh")
    assert "请写 `75%`" in zh.stderr and zh.returncode == 1


def test_eval_refuses_70_and_reads_70_percent(tmp_path):
    refused = trimtab("eval", "--form", "weekly_metrics", "--facts", _facts_file(tmp_path, 70),
                      "--lang", "en")
    assert refused.returncode == 1
    assert 'Percent fields are fractions: 0.7 or "70%"' in refused.stderr
    zh = trimtab("eval", "--form", "weekly_metrics", "--facts", _facts_file(tmp_path, 70),
                 "--lang", "zh")
    assert '百分比字段填小数：0.7 或 "70%"' in zh.stderr
    read = trimtab("eval", "--form", "weekly_metrics", "--facts", _facts_file(tmp_path, "70%"),
                   "--lang", "en")
    assert read.returncode == 0, read.stderr
    assert "pipeline_coverage < 75%: 70% < 75% holds" in read.stdout


# ---------------------------------------------------------------------- /v1/evaluate
def test_evaluate_refuses_70_with_the_fix_in_the_request_language(client):
    body = {"form": "weekly_metrics", "facts": week(1, 3, 70)}
    r = client.post("/v1/evaluate", json=body)
    assert r.status_code == 422
    error = r.json["error"]
    assert error["code"] == "eval.percent_not_fraction"
    assert error["path"] == "$.facts.pipeline_coverage"
    assert '0.7 or "70%"' in error["message"]
    r = client.post("/v1/evaluate", json=body, headers={"Accept-Language": "zh-CN"})
    assert '百分比字段填小数：0.7 或 "70%"' in r.json["error"]["message"]


def test_evaluate_reads_percent_texts(client):
    r = client.post("/v1/evaluate", json={"form": "weekly_metrics", "facts": week(1, 3, "70%")})
    assert r.status_code == 200, r.json
    held = {d["rule"]: d["value"] for d in r.json["decisions"]}
    fraction = client.post("/v1/evaluate", json={"form": "weekly_metrics", "facts": week(1, 3, 0.7)})
    assert held == {d["rule"]: d["value"] for d in fraction.json["decisions"]}


# ---------------------------------------------------------------------- signed webhook
def test_webhook_refuses_70_with_a_hint(app, hooks):
    r = hooks.post("weekly_metrics", week(1, 3, 70))
    assert r.status_code == 422
    error = r.json["error"]
    assert (error["code"], error["path"]) == ("eval.percent_not_fraction", "$.pipeline_coverage")
    assert error["hint"] == 'percent fields are fractions: 0.7 or "70%"'
    zh = hooks.post("weekly_metrics", week(1, 3, 70), lang="zh-CN")
    assert zh.json["error"]["hint"] == '百分比字段填小数：0.7 或 "70%"'
    with app.extensions["trimtab.sessions"]() as s:
        assert s.scalars(select(Fact)).all() == []


def test_webhook_stores_a_percent_text_as_its_fraction(app, hooks):
    r = hooks.post("weekly_metrics", week(1, 3, "75%") | {"conversion_rate": "25 ％"})
    assert r.status_code == 200, r.json
    with app.extensions["trimtab.sessions"]() as s:
        [fact] = s.scalars(select(Fact)).all()
    stored = json.loads(fact.payload)
    assert Decimal(str(stored["pipeline_coverage"])) == Decimal("0.75")
    assert Decimal(str(stored["conversion_rate"])) == Decimal("0.25")


def test_webhook_refuses_a_percent_text_out_of_range(hooks):
    r = hooks.post("weekly_metrics", week(1, 3, "2000%"))
    assert r.status_code == 422
    assert r.json["error"]["code"] == "eval.percent_out_of_range"


def test_platform_adapters_read_percent_texts():
    import datetime as dt
    from trimtab.server.plugin.convert import convert
    spec = {"type": "number", "x-unit": "percent", "minimum": 0, "maximum": 10}
    assert convert("75%", "pipeline_coverage", spec, dt.timezone.utc, "$") == Decimal("0.75")
    assert convert("0.75", "pipeline_coverage", spec, dt.timezone.utc, "$") == Decimal("0.75")


def test_a_given_history_reads_percent_texts_and_the_facts_stay_untouched(shipped):
    given = [week(1, 3, "75%"), week(2, 3, 0.8)]
    first, second = shipped.given_history("weekly_metrics", given)
    assert first["pipeline_coverage"] == Decimal("0.75") and second is given[1]
    assert given[0]["pipeline_coverage"] == "75%"          # a copy, not the caller's dict
