"""Each form in the shape a platform's import or API takes (fields, types, required, bounds,
options), from the derived form schema (rule constraints merged in).

Where each shape comes from (docs/plugin.md says the same):
- 飞书多维表格: the body of the Bitable open API "新增数据表"
  (POST /open-apis/bitable/v1/apps/:app_token/tables): {table: {name, default_view_name,
  fields: [{field_name, type, property}]}}, types 1 text, 2 number, 3 single select,
  5 date, 7 checkbox, 11 person, 17 attachment.
- 简道云: the widget list its open API returns for a form ({widgets: [{label, name, type}]}),
  types text, number, datetime, combo, user, dept, upload, subform — 简道云 has no API that
  creates a form, so this is the builder's checklist and the alias list for the mapping.
- 明道云: the worksheet controls of its open API ({name, controls: [{controlName, alias,
  type, required}]}), types 2 text, 6 number, 15 date, 11 options, 26 member,
  27 department, 14 attachment, 34 sub-table, 36 checkbox.
- 宜搭: the form designer's components ({formTitle, components: [{componentName, label,
  fieldId, required}]}): TextField, NumberField, DateField, SelectField, EmployeeField,
  DepartmentSelectField, AttachmentField, TableField, RadioField.
- generic: the derived JSON Schema itself (GET /v1/forms/<form>).
"""
from __future__ import annotations

from trimtab.server.plugin.fields import field_kind, label

TYPES = {
    "feishu": {"text": 1, "multi_text": 1, "number": 2, "select": 3, "date": 5,
                       "boolean": 7, "member": 11, "department": 1, "attachment": 17, "subform": 1},
    "jiandaoyun": {"text": "text", "multi_text": "textarea", "number": "number", "select": "combo",
                   "date": "datetime", "boolean": "radiogroup", "member": "user", "department": "dept",
                   "attachment": "upload", "subform": "subform"},
    "mingdao": {"text": 2, "multi_text": 2, "number": 6, "select": 11, "date": 15, "boolean": 36,
                "member": 26, "department": 27, "attachment": 14, "subform": 34},
    "yida": {"text": "TextField", "multi_text": "TextareaField", "number": "NumberField",
             "select": "SelectField", "date": "DateField", "boolean": "RadioField",
             "member": "EmployeeField", "department": "DepartmentSelectField",
             "attachment": "AttachmentField", "subform": "TableField"},
}


def export_form(platform: str, form: str, schema: dict) -> dict:
    if platform == "generic":
        return schema
    title = schema.get("x-title-zh") or schema.get("title") or form
    fields = _fields(platform, schema)
    if platform == "feishu":
        return {"table": {"name": title, "default_view_name": "表格视图", "fields": fields}}
    if platform == "jiandaoyun":
        return {"name": title, "alias": form, "widgets": fields}
    if platform == "mingdao":
        return {"name": title, "alias": form, "controls": fields}
    if platform == "yida":
        return {"formTitle": title, "formCode": form, "components": fields}
    raise KeyError(platform)


def _fields(platform: str, schema: dict) -> list:
    props, required = schema.get("properties", {}), set(schema.get("required", []))
    out = []
    for name, spec in props.items():
        kind = field_kind(name, spec)
        t = TYPES[platform][kind]
        zh = label(name, spec, "zh")
        rules = _bounds(spec)
        options = [str(o) for o in spec.get("enum", [])] or (["是", "否"] if kind == "boolean" else [])
        if platform == "feishu":
            field = {"field_name": zh, "type": t, "description": {"text": f"{name}: {spec.get('description', '')}"}}
            if options:
                field["property"] = {"options": [{"name": o} for o in options]}
            elif kind == "number":
                field["property"] = {"formatter": "0.00" if spec.get("type") == "number" else "0"}
            elif kind == "date":
                field["property"] = {"date_formatter": "yyyy-MM-dd"}
        elif platform == "jiandaoyun":
            field = {"label": zh, "name": name, "type": t, "required": name in required, **rules}
            if options:
                field["items"] = options
        elif platform == "mingdao":
            field = {"controlName": zh, "alias": name, "type": t, "required": name in required, **rules}
            if options:
                field["options"] = [{"value": o, "index": i + 1} for i, o in enumerate(options)]
        else:
            field = {"componentName": t, "label": zh, "fieldId": name, "required": name in required,
                     **rules}
            if options:
                field["dataSource"] = [{"text": o, "value": o} for o in options]
        if kind == "subform" and platform == "feishu":
            field["description"]["text"] += " (Bitable has no sub-table: a JSON list of records)"
        elif kind == "subform":
            item = spec.get("items") or {}
            sub = _fields(platform, {"properties": item.get("properties", {}), "required": item.get("required", [])})
            key = {"jiandaoyun": "items", "mingdao": "relationControls", "yida": "children"}[platform]
            field[key] = sub
        out.append(field)
    return out


def _bounds(spec: dict) -> dict:
    rules = {}
    for key, name in (("minimum", "min"), ("maximum", "max"), ("minLength", "minLength"),
                      ("maxLength", "maxLength"), ("minItems", "minItems"),
                      ("maxItems", "maxItems"), ("pattern", "pattern"), ("x-decimals", "precision")):
        if key in spec:
            rules[name] = spec[key]
    return rules
