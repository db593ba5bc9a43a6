"""`trimtab params` (dsl/commands/params.py): a rule file's parameters listed, and one set in
place with the whole rule set checked first."""
from __future__ import annotations

import json
import shutil

from clikit import trimtab
from conftest import RULES, SCHEMAS


def test_params_lists_a_files_numbers_as_json():
    out = trimtab("params", "rules/health.rules", "--rule", "健康度黄灯", "--json")
    assert out.returncode == 0, out.stderr
    found = {p["id"]: p for p in json.loads(out.stdout)}
    assert found["健康度黄灯/when.5/1"]["text"] == "75%"
    assert found["健康度黄灯/when/at_least"]["maximum"] == 5
    assert {p["rule"] for p in found.values()} == {"健康度黄灯"}


def test_params_set_rewrites_only_that_number(tmp_path):
    shutil.copytree(RULES, tmp_path / "rules")
    shutil.copytree(SCHEMAS, tmp_path / "form_schemas")
    path = tmp_path / "rules" / "alerts.rules"
    before = path.read_text(encoding="utf-8")
    out = trimtab("params", str(path), "--set", "应收超期/when/1=90 days")
    assert out.returncode == 0, out.stderr
    assert path.read_text(encoding="utf-8") == before.replace("when days_outstanding > 60 days",
                                                              "when days_outstanding > 90 days")


def test_params_set_refuses_and_leaves_the_file(tmp_path):
    shutil.copytree(RULES, tmp_path / "rules")
    shutil.copytree(SCHEMAS, tmp_path / "form_schemas")
    path = tmp_path / "rules" / "rating.rules"
    before = path.read_text(encoding="utf-8")
    out = trimtab("params", str(path), "--set", "季度评级/part.customer_points/weight=120",
                  "--lang", "zh")
    assert out.returncode == 1
    assert "param.out_of_range" in out.stderr and "权重：新签客户得分" in out.stderr
    out = trimtab("params", str(path), "--set", "季度评级/part.customer_points/weight=20")
    assert out.returncode == 1 and "check.rating_parts_sum" in out.stderr
    assert path.read_text(encoding="utf-8") == before
