"""Roles that rules name and nobody holds (issue 17, part 3): `trimtab check --org` warns.

Measured before: the shipped 新客增长乏力 notified `regional_supervisor`, whom no one held in
the shipped org template, and its messages were dead-lettered at once; nothing said so."""
from __future__ import annotations

import json

from clikit import trimtab
from conftest import ROOT
from trimtab.dsl.roles_held import roles_in_org_file, unheld_roles

TEMPLATE = ROOT / "server" / "templates" / "org_chart.csv"


def test_the_shipped_template_holds_every_role_the_shipped_rules_name(shipped):
    assert unheld_roles(shipped, roles_in_org_file(TEMPLATE)) == []
    r = trimtab("check", "--org", str(TEMPLATE), "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["warnings"] == [], r.stderr


def test_a_role_nobody_holds_is_a_warning_at_each_rule_that_names_it(shipped, tmp_path):
    chart = tmp_path / "org.csv"
    chart.write_text("\n".join(line for line in TEMPLATE.read_text(encoding="utf-8").splitlines()
                               if ",regional_supervisor," not in line) + "\n", encoding="utf-8")
    [warning] = unheld_roles(shipped, roles_in_org_file(chart))
    assert warning.code == "warn.role_unheld" and warning.args == {"name": "regional_supervisor"}
    assert warning.file.endswith("alerts.rules") and "notify regional_supervisor" in warning.source_line
    r = trimtab("check", "--org", str(chart), "--lang", "zh")
    assert r.returncode == 0, r.stderr            # a warning: the rules themselves are right
    assert "组织架构中没有人担任角色 `regional_supervisor`" in r.stderr
    assert "alerts.rules:" in r.stderr


def test_people_as_json_and_relational_roles_need_no_holder(shipped, tmp_path):
    people = tmp_path / "people.json"
    people.write_text(json.dumps({"people": [{"id": "a", "role": "rep"}]}))
    named = {w.args["name"] for w in unheld_roles(shipped, roles_in_org_file(people))}
    assert "regional_supervisor" in named and "regional_manager" in named
    assert not named & {"subject", "rep", "direct_manager", "hrbp", "attendees"}


def test_a_chart_without_a_role_column_is_refused_with_its_reason(tmp_path):
    chart = tmp_path / "org.csv"
    chart.write_text("工号,姓名\na,b\n", encoding="utf-8")
    r = trimtab("check", "--org", str(chart), "--lang", "en")
    assert r.returncode == 1 and "load.org_no_role_column" in r.stderr


def test_the_server_says_so_when_an_org_chart_leaves_a_named_role_unheld(app):
    from serverkit import ADMIN_HEADERS, as_admin
    c = as_admin(app.test_client())
    r = c.post("/v1/org/import", data=TEMPLATE.read_bytes(),
               headers={**ADMIN_HEADERS, "Content-Type": "text/csv", "Accept-Language": "en"})
    assert r.status_code == 200 and r.json["warnings"] == []
    r = c.post("/v1/org/people", json={"people": [{"id": "east.sup", "name": "赵主管", "role": "rep",
                                                   "region": "east"}]},
               headers={**ADMIN_HEADERS, "Accept-Language": "zh-CN"})
    assert r.status_code == 200, r.json
    [warning] = r.json["warnings"]
    assert warning["code"] == "warn.role_unheld" and warning["file"].endswith("alerts.rules")
    assert "regional_supervisor" in warning["message"] and "组织架构" in warning["message"]
