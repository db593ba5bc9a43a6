"""Plugin manifests, one per platform, generated from the rule set and the form schemas.

A manifest tells a platform's administrator (or its plugin installer) what trimtab is, how a
push is authenticated, which URL each form's push goes to, which actions the plugin offers
(request a target change, approve, reject) and where the data sources are.  Its shape is
`plugin_manifests/manifest.schema.json`.  Like every generated file it holds no time or rule
version, so `trimtab build --check` tells stale from fresh.
"""
from __future__ import annotations

from trimtab.server.plugin.fields import field_kind, widget_id

PLUGIN = {"id": "trimtab", "version": "0.1.0",
          "name": {"zh": "trimtab 目标动态校准", "en": "trimtab dynamic target calibration"},
          "description": {"zh": "按规则文件计算目标、预警、评分与审批链；每个决定都有解释。",
                          "en": "Targets, alerts, scores and approval chains from rule files; "
                                "every decision explained."}}

# How each platform pushes a form submission and how trimtab checks it.
PLATFORMS = {
    "generic": {
        "name": {"zh": "通用平台", "en": "Generic platform"},
        "hook": "/hooks/{form}",
        "auth": {"type": "hmac-sha256", "secret_env": "TRIMTAB_CLIENTS",
                 "signed": "timestamp + '.' + raw body", "tolerance_s": 300,
                 "headers": {"client": "X-Trimtab-Client", "timestamp": "X-Trimtab-Timestamp",
                             "signature": "X-Trimtab-Signature", "delivery": "X-Trimtab-Delivery"}},
        "body": "the form's fields as JSON (GET /v1/forms/{form})",
    },
    "jiandaoyun": {
        "name": {"zh": "简道云", "en": "Jiandaoyun"},
        "hook": "/platforms/jiandaoyun/hooks/{form}",
        "auth": {"type": "jdy-sha1", "secret_env": "TRIMTAB_JDY_SECRET",
                 "signed": "hex sha1 of nonce + ':' + raw body + ':' + secret + ':' + timestamp",
                 "query": ["timestamp", "nonce"],
                 "headers": {"signature": "X-JDY-Signature", "delivery": "X-JDY-DeliverId"}},
        "body": "data push {op, data, opTime}; fields by alias or _widget_ key (mapping file)",
        "events": ["data_create", "data_update"],
        "mapping": True,
    },
    "mingdao": {
        "name": {"zh": "明道云", "en": "Mingdao"},
        "hook": "/platforms/mingdao/hooks/{form}/{token}",
        "auth": {"type": "url-token", "secret_env": "TRIMTAB_MINGDAO_TOKEN",
                 "signed": "none: the secret token is the last part of the URL"},
        "body": "{delivery_id, data}: the workflow's 'send API request' node, fields by name",
    },
    "yida": {
        "name": {"zh": "宜搭", "en": "Yida"},
        "hook": "/platforms/yida/hooks/{form}",
        "auth": {"type": "api-key", "secret_env": "TRIMTAB_YIDA_API_KEY",
                 "headers": {"key": "X-Api-Key", "delivery": "X-Yida-Request-Id"}},
        "body": "HTTP connector: {formInstId, formData}, fields by name",
    },
    "feishu": {
        "name": {"zh": "飞书多维表格", "en": "Feishu Bitable"},
        # 飞书 sends every event of an app to the one request URL its console holds: the
        # table id in the event picks the form (the mapping file's `table_id`).
        "hook": "/platforms/feishu/events",
        "auth": {"type": "lark-event", "secret_env": "TRIMTAB_FEISHU_ENCRYPT_KEY",
                 "signed": "hex sha256 of timestamp + nonce + encrypt key + raw body",
                 "headers": {"signature": "X-Lark-Signature", "timestamp": "X-Lark-Request-Timestamp",
                             "nonce": "X-Lark-Request-Nonce"},
                 "encryption": "{\"encrypt\": base64(iv + AES-256-CBC(body))}, key = sha256(encrypt key)"},
        "body": "event v2 drive.file.bitable_record_changed_v1 {header{event_id}, event{table_id, "
                "action_list[{record_id, action, after_value[{field_id, field_value}]}]}}; "
                "table and field ids via the mapping file",
        "events": ["drive.file.bitable_record_changed_v1", "url_verification"],
        "mapping": True,
    },
}

DATA_SOURCES = [
    ("forms", "/v1/forms", "表单（含规则约束）", "form schemas with rule constraints"),
    ("workflows", "/v1/workflows", "审批流与定时任务", "approval chains and schedules"),
    ("health_radar", "/v1/dashboards/health-radar", "健康度雷达", "health radar per rep"),
    ("funnel", "/v1/dashboards/funnel", "团队漏斗", "funnel per team"),
    ("traffic_lights", "/v1/dashboards/traffic-lights", "月度红绿灯", "traffic lights per month"),
    ("account_heat", "/v1/dashboards/account-heat", "客户热力图", "account heat map"),
    ("target_adjustments", "/v1/dashboards/target-adjustments", "季度目标调整", "target adjustments per quarter"),
    ("completion_range", "/v1/dashboards/completion-range", "区域完成率分布", "completion rates across regions"),
    ("decisions", "/v1/decisions", "决策记录", "decisions with explanations"),
    ("meetings", "/v1/meetings", "校准会", "calibration meetings"),
]


def manifest(platform: str, ruleset) -> dict:
    spec = PLATFORMS[platform]
    hooks = []
    for form in sorted(ruleset.schemas):
        schema = ruleset.schemas[form].raw
        hook = {"form": form,
                "title": {"zh": schema.get("x-title-zh") or form, "en": schema.get("title") or form},
                "method": "POST", "url": spec["hook"].format(form=form, token="{token}"),
                "schema": f"/v1/forms/{form}",
                "rules": sorted(r.name for r in ruleset.by_form.get(form, []))}
        if platform == "feishu":
            hook["table_id"] = table_id(form)
        if spec.get("mapping"):
            hook["mapping"] = f"mappings/{platform}/{form}.json"
        if spec.get("events"):
            hook["events"] = spec["events"]
        hooks.append(hook)
    change = spec["hook"].format(form="target_change", token="{token}")
    return {
        "$schema": "./manifest.schema.json",
        "platform": {"id": platform, "name": spec["name"]},
        "plugin": PLUGIN,
        "server": {"base_url_env": "TRIMTAB_BASE_URL", "errors": "{error: {code, message, path}}"},
        "auth": spec["auth"],
        "body": spec["body"],
        "webhooks": hooks,
        "actions": [
            {"id": "request_target_change", "title": {"zh": "申请目标调整", "en": "Request a target change"},
             "method": "POST", "url": change, "form": "target_change",
             "answers": "decisions and, when the rules allow it, the approval it opened"},
            {"id": "approve", "title": {"zh": "同意", "en": "Approve"}, "method": "POST",
             "url": "/v1/approvals/{approval_id}/decision",
             "credentials": "the approver's own: a personal token or their signed-in session",
             "body": {"decision": "approve", "comment": "{comment}", "evidence": []}},
            {"id": "reject", "title": {"zh": "驳回", "en": "Reject"}, "method": "POST",
             "url": "/v1/approvals/{approval_id}/decision",
             "credentials": "the approver's own: a personal token or their signed-in session",
             "body": {"decision": "reject", "comment": "{comment}", "evidence": []}},
        ],
        "data_sources": [{"id": i, "method": "GET", "url": url, "title": {"zh": zh, "en": en}}
                         for i, url, zh, en in DATA_SOURCES],
    }


def mapping(platform: str, form: str, schema: dict) -> dict:
    """Keys a platform's push may use for each field → the field: the field's name, its
    Chinese label, and a stand-in widget id (replace with the platform's own after import,
    in a copy under TRIMTAB_MAPPINGS)."""
    def keys(props: dict, prefix: str) -> dict:
        out = {}
        for name, spec in props.items():
            out[name] = name
            if spec.get("x-label-zh"):
                out[spec["x-label-zh"]] = name
            out[_platform_id(platform, form, prefix + name)] = name
        return out
    props = schema.get("properties", {})
    doc = {"platform": platform, "form": form, "fields": keys(props, ""), "subforms": {}}
    if platform == "feishu":            # the table whose record events are this form's
        doc = {"platform": platform, "form": form, "table_id": table_id(form), **doc}
    for name, spec in props.items():
        if field_kind(name, spec) == "subform":
            doc["subforms"][name] = keys(spec["items"].get("properties", {}), name + ".")
    return doc


def table_id(form: str) -> str:
    """A stand-in 飞书 table id for `form` (replace with the table's own, like the field ids)."""
    return "tbl" + widget_id(form, "")[-13:]


def _platform_id(platform: str, form: str, path: str) -> str:
    wid = widget_id(form, path)
    return wid if platform == "jiandaoyun" else "fld" + wid[-10:]


def plugin_outputs(ruleset, root) -> dict:
    """Generated files under plugin_manifests/: {path: document}."""
    from trimtab.dsl.derive import derived_form
    from trimtab.server.plugin.export import export_form
    out = {}
    for form in sorted(ruleset.schemas):
        derived = derived_form(ruleset, form)
        for platform in PLATFORMS:
            if platform != "generic":          # the generic shape is form_schemas/derived
                out[root / "plugin_manifests" / "exports" / platform / f"{form}.json"] = \
                    export_form(platform, form, derived)
    for platform, spec in PLATFORMS.items():
        out[root / "plugin_manifests" / f"{platform}.json"] = manifest(platform, ruleset)
        if spec.get("mapping"):
            for form in sorted(ruleset.schemas):
                out[root / "plugin_manifests" / "mappings" / platform / f"{form}.json"] = \
                    mapping(platform, form, ruleset.schemas[form].raw)
    return out
