"""Approval chains as definitions a platform's workflow engine can run: each step's condition in
the platform's own condition form where it has one (dsl/branch_conditions.py translates), and a
call to the server (POST /v1/workflows/<name>/evaluate) where it has none.

Where each shape comes from (docs/plugin.md says the same):
- 钉钉: the OA approval's form, as the body of "创建或更新审批表单模板" (POST
  /v1.0/workflow/forms: name, formComponents [{componentType, props{componentId, label,
  required, options}}]), and its process as the process designer's node tree: start → approver
  nodes → `route` nodes whose `conditionNodes` carry `properties.conditions` (groups OR-ed,
  tests inside a group AND-ed): `dingtalk_actioner_range_condition` for numbers (lowerBound ≥,
  lowerBoundNotEqual >, upperBoundEqual ≤, upperBound <, boundEqual =),
  `dingtalk_actioner_value_condition` for a single select (paramValues: any of),
  `dingtalk_actioner_boolean_condition` for a connector's boolean answer (the callback), and a
  last branch `isdefault` with `[[]]`.  Component and role ids are stand-ins until imported.
- 飞书: the body of "创建审批定义" (POST /open-apis/approval/v4/approvals: approval_name,
  viewers, form.form_content as a JSON string, node_list START … END, i18n_resources).  飞书
  documents that its API "不支持设置条件分支", so every conditional step is decided by the
  server; every node is 发起人自选 (Free): trimtab, which creates the instance, names each
  step's approvers (node_approver_open_id_list) from the org chart and the callback's answer.
"""
from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from typing import Any

from trimtab.dsl.branch_conditions import OneOf, Range, step_branches
from trimtab.dsl.decision import source_text
from trimtab.server.plugin.fields import field_kind, label

PLATFORMS = ("dingtalk", "feishu")
DINGTALK_COMPONENTS = {"text": "TextField", "multi_text": "TextareaField", "number": "NumberField",
                       "select": "DDSelectField", "date": "DDDateField", "boolean": "DDSelectField",
                       "member": "InnerContactField", "department": "DepartmentField",
                       "attachment": "DDAttachment", "subform": "TableField"}
FEISHU_WIDGETS = {"text": "input", "multi_text": "textarea", "number": "number", "select": "radioV2",
                  "date": "date", "boolean": "radioV2", "member": "contact", "department": "department",
                  "attachment": "attachmentV2", "subform": "fieldList"}
CALLBACK_NODE = "trimtab_evaluate"     # the connector whose answer the boolean conditions read
# Names shown on the platform for the built-in roles (declared roles carry their own label).
BUILTIN_ROLE_NAMES = {"direct_manager": "直属上级", "hrbp": "HRBP", "regional_manager": "区域经理",
                      "headquarters": "总部", "attendees": "参会人"}


def evaluate_path(name: str) -> str:
    return f"/v1/workflows/{name}/evaluate"


def platform_workflows(ruleset) -> dict:
    """{(platform, workflow name): definition} for every approval rule."""
    from trimtab.dsl.derive import derived_form
    out = {}
    roles = {**BUILTIN_ROLE_NAMES, **{k: v for k, v in ruleset.checked.roles.items() if v}}
    for r in ruleset.rules:
        if r.kind != "approval":
            continue
        branches = step_branches(r, source_text)
        schema = derived_form(ruleset, r.form.name)       # the rule's required fields included
        out[("dingtalk", r.name)] = dingtalk(r, schema, branches, roles)
        out[("feishu", r.name)] = feishu(r, schema, branches, roles)
    return out


def _callback(compiled, branches, decided: list) -> dict:
    return {"method": "POST", "path": evaluate_path(compiled.name),
            "authentication": "a webhook client's signature (X-Trimtab-Client, -Timestamp, "
                              "-Signature v2, -Delivery), as for POST /hooks/<form>",
            "body": {"facts": "the form's values by field name, as POST /hooks/<form> takes them"},
            "answer": {"steps": {b.id: "true when the step applies" for b in branches if b.id in decided}}}


def _conditions(branches, platform_decides) -> list:
    """Each conditional step: who decides it (the platform or the server) and why."""
    out = []
    for b in branches:
        if b.when is None:
            continue
        entry: dict[str, Any] = {"step": b.id, "when": b.when}
        if platform_decides(b):
            entry["decided_by"] = "platform"
        else:
            entry["decided_by"] = "server"
            entry["reason"] = b.callback or "the platform's API takes no condition branches"
        out.append(entry)
    return out


# ---------------------------------------------------------------------- 钉钉
def _node_id(*parts: str) -> str:
    h = hashlib.sha256("/".join(parts).encode()).hexdigest()
    return f"{h[:4]}_{h[4:8]}"


def dingtalk_component_id(kind: str, field: str) -> str:
    return f"{DINGTALK_COMPONENTS[kind]}-{field}"


def dingtalk(compiled, schema: dict, branches, roles: dict) -> dict:
    props = schema.get("properties", {})
    ids = {name: dingtalk_component_id(field_kind(name, spec), name) for name, spec in props.items()}
    decided = [b.id for b in branches if b.when is not None and b.groups is None]
    start: dict[str, Any] = {"name": "发起人", "type": "start", "nodeId": "sid-startevent", "properties": {}}
    tail, prev = start, "sid-startevent"
    for b in branches:
        approver = _approver(compiled.name, b, roles)
        if b.when is None:
            node = approver
        else:
            node = _route(compiled.name, b, approver, ids, props)
        node["prevId"] = prev
        tail["childNode"] = node
        tail, prev = node, node["nodeId"]
    doc: dict[str, Any] = {
        "platform": "dingtalk", "workflow": compiled.name,
        "source": {"file": compiled.rule.loc.file, "line": compiled.rule.loc.line},
        "form": {"name": schema.get("x-title-zh") or compiled.form.name,
                 "description": schema.get("title", ""),
                 "formComponents": [_component(name, spec, ids[name], schema)
                                    for name, spec in props.items()]},
        "process": start,
        "x-trimtab": {"form": compiled.form.name, "fields": {cid: name for name, cid in ids.items()},
                      "numbers": "percent fields hold fractions (0.15 is 15%), as every intake takes them",
                      "conditions": _conditions(branches, lambda b: b.groups is not None)}}
    if decided:
        doc["x-trimtab"]["callback"] = {**_callback(compiled, branches, decided),
                                        "connector": CALLBACK_NODE}
    return doc


def _component(name: str, spec: dict, cid: str, schema: dict) -> dict:
    kind = field_kind(name, spec)
    p: dict[str, Any] = {"componentId": cid, "label": label(name, spec, "zh"),
                         "required": name in schema.get("required", [])}
    options = [str(o) for o in spec.get("enum", [])] or (["是", "否"] if kind == "boolean" else [])
    if options:
        p["options"] = [{"key": o, "value": o} for o in options]
    if spec.get("x-unit") in ("percent", "ratio"):
        p["placeholder"] = "小数：0.15 即 15%"
    return {"componentType": DINGTALK_COMPONENTS[kind], "props": p}


def _approver(workflow: str, b, roles: dict) -> dict:
    names = [roles.get(r) or r for r in b.roles]
    return {"name": "+".join(names), "type": "approver", "nodeId": _node_id(workflow, b.id),
            "properties": {"activateType": "ALL" if b.countersign else "ONE_BY_ONE",
                           "approvalType": "MANUAL", "agreeAll": b.countersign,
                           "actionerRules": [{"type": "target_label", "labels": r, "labelNames": n,
                                              "actType": "and" if b.countersign else "or"}
                                             for r, n in zip(b.roles, names)]}}


def _route(workflow: str, b, approver: dict, ids: dict, props: dict) -> dict:
    """A route whose branches lead to the step, and a default branch that skips it."""
    route_id = _node_id(workflow, b.id, "route")
    if b.groups is not None:
        groups = [[_dingtalk_test(t, ids, props) for t in g] for g in b.groups]
    else:
        groups = [[{"type": "dingtalk_actioner_boolean_condition", "paramKey": f"{CALLBACK_NODE}.{b.id}",
                    "paramLabel": f"trimtab: {b.when}", "isEmpty": False, "boundEqual": "true"}]]
    branch_id = _node_id(workflow, b.id, "when")
    approver["prevId"] = branch_id
    return {"type": "route", "nodeId": route_id, "properties": {}, "conditionNodes": [
        {"name": b.when, "type": "condition", "nodeId": branch_id, "prevId": route_id,
         "properties": {"conditions": groups}, "childNode": approver},
        {"name": "默认条件", "type": "condition", "nodeId": _node_id(workflow, b.id, "else"),
         "prevId": route_id, "properties": {"conditions": [[]]}, "isdefault": True}]}


def _dingtalk_test(t, ids: dict, props: dict) -> dict:
    base = {"paramKey": ids[t.field], "paramLabel": label(t.field, props[t.field], "zh"), "isEmpty": False}
    if isinstance(t, OneOf):
        return {**base, "type": "dingtalk_actioner_value_condition", "paramValues": list(t.values),
                "oriValue": [str(o) for o in props[t.field].get("enum", [])]}
    assert isinstance(t, Range)
    test = {**base, "type": "dingtalk_actioner_range_condition"}
    if t.low is not None and t.low == t.high:
        test["boundEqual"] = _num(t.low)
        return test
    if t.low is not None:
        test["lowerBound" if t.low_closed else "lowerBoundNotEqual"] = _num(t.low)
    if t.high is not None:
        test["upperBoundEqual" if t.high_closed else "upperBound"] = _num(t.high)
    return test


def _num(v: Decimal) -> str:
    """Bounds as the designer writes them: decimal text."""
    return format(v.normalize(), "f")


# ---------------------------------------------------------------------- 飞书
def feishu(compiled, schema: dict, branches, roles: dict) -> dict:
    props = schema.get("properties", {})
    texts = {"@i18n@approval_name": compiled.name, "@i18n@description": schema.get("title", "")}
    widgets = []
    for name, spec in props.items():
        kind = field_kind(name, spec)
        key = f"@i18n@field_{name}"
        texts[key] = label(name, spec, "zh")
        w: dict[str, Any] = {"id": name, "type": FEISHU_WIDGETS[kind], "name": key,
                             "required": name in schema.get("required", [])}
        options = [str(o) for o in spec.get("enum", [])] or (["是", "否"] if kind == "boolean" else [])
        if options:
            w["option"] = []
            for o in options:
                texts[f"@i18n@option_{name}_{o}"] = o
                w["option"].append({"value": o, "text": f"@i18n@option_{name}_{o}"})
        widgets.append(w)
    nodes: list = [{"id": "START"}]
    for b in branches:
        key = f"@i18n@node_{b.id}"
        texts[key] = "+".join(roles.get(r) or r for r in b.roles)
        nodes.append({"id": b.id, "name": key, "node_type": "AND" if b.countersign else "OR",
                      "approver": [{"type": "Free"}]})
    nodes.append({"id": "END"})
    decided = [b.id for b in branches if b.when is not None]
    body = {"approval_name": "@i18n@approval_name", "description": "@i18n@description",
            "viewers": [{"viewer_type": "TENANT"}],
            "form": {"form_content": json.dumps(widgets, ensure_ascii=False)},
            "node_list": nodes,
            "i18n_resources": [{"locale": "zh-CN", "is_default": True,
                                "texts": [{"key": k, "value": v} for k, v in texts.items()]}]}
    doc: dict[str, Any] = {
        "platform": "feishu", "workflow": compiled.name,
        "source": {"file": compiled.rule.loc.file, "line": compiled.rule.loc.line},
        "approval": body,
        "x-trimtab": {"form": compiled.form.name,
                      "numbers": "percent fields hold fractions (0.15 is 15%), as every intake takes them",
                      "approvers": "every node is Free: trimtab names its approvers when it creates "
                                   "the instance (node_approver_open_id_list, key = the node id)",
                      "conditions": _conditions(branches, lambda b: False)}}
    if decided:
        doc["x-trimtab"]["callback"] = _callback(compiled, branches, decided)
    return doc
