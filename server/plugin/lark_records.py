"""飞书多维表格 record events, as 飞书 sends them: `drive.file.bitable_record_changed_v1`.

The documented event (open.feishu.cn / open.larksuite.com, 服务端 API › 云文档 › 事件 ›
多维表格记录变更; tests/fixtures/platforms/feishu_*.json are copies of its examples):
schema 2.0, header{event_id, event_type, …}, event{file_token, table_id, revision,
operator_id, action_list[{record_id, action: record_added | record_edited | record_deleted,
before_value, after_value: [{field_id, field_value}]}], subscriber_id_list, update_time}.
`field_value` is a JSON-serialised string of the Bitable value (text as segments
[{"type": "text", "text": …}], numbers, dates as millisecond stamps, persons as [{id, name, …}]).

An edit carries only the fields it changed: they are laid over what trimtab holds of the
record (its latest live fact), so the submission is whole again."""
from __future__ import annotations

from typing import NamedTuple

from trimtab.server.domain.validation import parse_text
from trimtab.server.plugin.fields import field_kind
from trimtab.server.messages import msg
from trimtab.server.core.errors import DomainError

EVENT_TYPE = "drive.file.bitable_record_changed_v1"
ACTIONS = ("record_added", "record_edited", "record_deleted")


class RecordAction(NamedTuple):
    path: str               # where it is in the event: $.event.action_list[i]
    record_id: str
    action: str             # one of ACTIONS
    values: dict            # field id → the Bitable value, decoded (after_value)


def table_form(mappings, forms, table_id, form: str | None) -> str:
    """The form whose mapping file names `table_id` (or `form`, from the URL, checked against
    the table its mapping names when it names one)."""
    if not isinstance(table_id, str) or not table_id:
        raise DomainError("schema_violation", msg("a 飞书 record event names its table"), "$.event.table_id")
    if form is not None:
        named = mappings.get("feishu", form).get("table_id")
        if named not in (None, table_id):
            raise DomainError("unknown_table", msg("table `{table_id}` is not the table of `{form}` "
                                                   "(its mapping file names `{named}`)",
                                                   table_id=table_id, form=form, named=named), "$.event.table_id")
        return form
    for name in sorted(forms):
        try:
            if mappings.get("feishu", name).get("table_id") == table_id:
                return name
        except DomainError:
            continue                        # a form without a 飞书 mapping file
    raise DomainError("unknown_table", msg("no form's mapping file names table `{table_id}`: put it in the "
                                           "form's TRIMTAB_MAPPINGS/feishu/<form>.json as table_id",
                                           table_id=table_id), "$.event.table_id")


def record_actions(event: dict) -> list[RecordAction]:
    """The event's record actions, in order, their values decoded."""
    listed = event.get("action_list")
    if not isinstance(listed, list) or not listed:
        raise DomainError("schema_violation", msg("a 飞书 record event lists its actions"), "$.event.action_list")
    out = []
    for i, item in enumerate(listed):
        path = f"$.event.action_list[{i}]"
        if not isinstance(item, dict) or not isinstance(item.get("record_id"), str) or not item["record_id"]:
            raise DomainError("schema_violation", msg("an action names its record_id"), f"{path}.record_id")
        if item.get("action") not in ACTIONS:
            raise DomainError("schema_violation", msg("`{action}` is not one of {actions}",
                                                      action=item.get("action"), actions=", ".join(ACTIONS)),
                              f"{path}.action")
        after = item.get("after_value") or []
        if not isinstance(after, list):
            raise DomainError("schema_violation", msg("after_value is a list of {field_id, field_value}"),
                              f"{path}.after_value")
        values = {}
        for j, cell in enumerate(after):
            where = f"{path}.after_value[{j}]"
            if not isinstance(cell, dict) or not isinstance(cell.get("field_id"), str):
                raise DomainError("schema_violation", msg("a changed field is {field_id, field_value}"), where)
            values[cell["field_id"]] = field_value(cell.get("field_value"), f"{where}.field_value")
        out.append(RecordAction(path, item["record_id"], item["action"], values))
    return out


def field_value(raw, where: str):
    """A JSON-serialised Bitable value → the value; a text that is not JSON is taken as text."""
    if not isinstance(raw, str):
        return raw
    try:
        return parse_text(raw)
    except DomainError as err:
        if err.code != "malformed_json":
            raise DomainError(err.code, err.message, where) from None
        return raw


def unpack_subforms(values: dict, keys: dict, props: dict, path: str) -> dict:
    """Bitable has no sub-tables: a sub-form travels as a text field holding a JSON list of
    records (the export says so) → that list."""
    out = dict(values)
    for key, value in values.items():
        name = keys.get(key)
        if name is None or field_kind(name, props.get(name, {})) != "subform":
            continue
        if isinstance(value, list) and all(isinstance(v, dict) and "text" in v for v in value):
            value = "".join(str(v["text"]) for v in value)
        if isinstance(value, str):
            out[key] = field_value(value, f"{path}.{key}")
    return out
