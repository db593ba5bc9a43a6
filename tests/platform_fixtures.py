"""The platforms' documented event examples, copied, and the fintech case's facts put into them.

飞书: "多维表格记录变更" (drive.file.bitable_record_changed_v1), the callback example of
https://open.larksuite.com/document/uAjLw4CM/ukTMukTMukTM/reference/drive-v1/event/list/bitable-record-changed
(the same page on open.feishu.cn; the doc's // comments dropped, as JSON has none).  The newer
revision of the page adds `revision`, `field_identity_value` and `update_time`; FEISHU_V2 is
that one (https://open.feishu.cn/document/server-docs/docs/drive-v1/event/list/bitable-record-changed).

简道云: 数据推送 (https://hc.jiandaoyun.com/open/10732): {op, data, opTime} with op data_create,
data_update, data_remove, data_recover; the record as its webhook sends it, with `_id` and the
sub-form row ids added in 2021 (https://hc.jiandaoyun.com/open/12359)."""
from __future__ import annotations

import copy
import json

FEISHU_RECORD_CHANGED = {
    "schema": "2.0",
    "header": {
        "event_id": "85ec04b2f6cff27a1bf249b26fbabcef",
        "token": "L3bzVf0sz7qb9XoTavpsHe0uJv7abcef",
        "create_time": "1652677457000",
        "event_type": "drive.file.bitable_record_changed_v1",
        "tenant_key": "736588c9260abcef",
        "app_id": "cli_a00c8400a7babcef"
    },
    "event": {
        "action_list": [
            {"action": "record_edited",
             "after_value": [{"field_id": "fld9Eabcef", "field_value": "666"},
                             {"field_id": "fldqaabcef",
                              "field_value": "[{\"type\":\"text\",\"text\":\"变更后的值\"}]"}],
             "before_value": [{"field_id": "fld9Eabcef", "field_value": "123"},
                              {"field_id": "fldqaabcef",
                               "field_value": "[{\"type\":\"text\",\"text\":\"变更前的值\"}]"}],
             "record_id": "rec9sabcef"},
            {"action": "record_added",
             "after_value": [{"field_id": "fld9Eabcef", "field_value": "666"},
                             {"field_id": "fldqaabcef",
                              "field_value": "[{\"type\":\"text\",\"text\":\"新增记录字段值\"}]"}],
             "record_id": "rec9sabcef"},
            {"action": "record_deleted",
             "before_value": [{"field_id": "fld9Eabcef", "field_value": "666"},
                              {"field_id": "fldqaabcef",
                               "field_value": "[{\"type\":\"text\",\"text\":\"删除记录前字段值\"}]"}],
             "record_id": "rec9sabcef"}
        ],
        "file_token": "bascnItn6oHUSEL8RDUdF6abcef",
        "file_type": "bitable",
        "operator_id": {"open_id": "ou_9bc587355789fc049904ae7c736abcef",
                        "union_id": "on_8f71e0224c012a0365ad4e3c733abcef", "user_id": "638abcef"},
        "subscriber_id_list": [{"open_id": "ou_9bc587355789fc049904ae7c736abcef",
                                "union_id": "on_8f71e0224c012a0365ad4e3c733abcef", "user_id": "638abcef"}],
        "table_id": "tblOaqBWfGeabcef"
    }
}

FEISHU_V2 = {
    "schema": "2.0",
    "header": {"event_id": "5e3702a84e847582be8db7fb73283c02",
               "event_type": "drive.file.bitable_record_changed_v1", "create_time": "1608725989000",
               "token": "rvaYgkND1GOiu5MM0E1rncYC6PLtF7JV", "app_id": "cli_9f5343c580712544",
               "tenant_key": "2ca1d211f64f6438"},
    "event": {
        "file_type": "bitable", "file_token": "bascnItn6oHUSEL8RDUdF6abcef", "table_id": "tblOaqBWfGeabcef",
        "revision": 41,
        "operator_id": {"union_id": "on_8ed6aa67826108097d9ee143816345", "user_id": "e33ggbyz",
                        "open_id": "ou_84aad35d084aa403a838cf73ee18467"},
        "action_list": [{
            "record_id": "rec9sabcef", "action": "record_edited",
            "before_value": [{"field_id": "fld9Eabcef", "field_value": "666", "field_identity_value": {"users": [{
                "user_id": {"union_id": "on_8ed6aa67826108097d9ee143816345", "user_id": "e33ggbyz",
                            "open_id": "ou_84aad35d084aa403a838cf73ee18467"},
                "name": "张敏", "en_name": "Zhangmin", "avatar_url": "https://internal-api-lark-file.feishu.cn/a"}]}}],
            "after_value": [{"field_id": "fld9Eabcef", "field_value": "666", "field_identity_value": {"users": [{
                "user_id": {"union_id": "on_8ed6aa67826108097d9ee143816345", "user_id": "e33ggbyz",
                            "open_id": "ou_84aad35d084aa403a838cf73ee18467"},
                "name": "张敏", "en_name": "Zhangmin", "avatar_url": "https://internal-api-lark-file.feishu.cn/a"}]}}]}],
        "subscriber_id_list": [{"union_id": "on_876b570a984d02ab1c0906a49e4a9d04", "user_id": "638474b8",
                                "open_id": "ou_9bc587355789fc049904ae7c73619b89"}],
        "update_time": 1717040601
    }
}

JDY_PUSH = {
    "op": "data_create",
    "data": {"_id": "605b5f68255d4845a73d3c0a", "appId": "5b6d4f3f1f3e4a0b7c2d9e10",
             "entryId": "5b6d4f3f1f3e4a0b7c2d9e11", "creator": {"name": "小云", "username": "jiandaoyun"},
             "updater": {"name": "小云", "username": "jiandaoyun"}, "deleter": None,
             "createTime": "2026-08-03T02:00:00.000Z", "updateTime": "2026-08-03T02:00:00.000Z",
             "deleteTime": None},
    "opTime": 1785722400000
}


def feishu_event(template: dict, table_id: str, event_id: str, actions: list) -> dict:
    """`template` (a documented example) with our table, event id and record actions:
    (action, record_id, {field id: Bitable value}) each, values JSON-serialised as 飞书 does."""
    event = copy.deepcopy(template)
    event["header"]["event_id"] = event_id
    event["event"]["table_id"] = table_id
    listed = []
    for action, record_id, values in actions:
        cells = [{"field_id": k, "field_value": json.dumps(v, ensure_ascii=False)} for k, v in values.items()]
        listed.append({"action": action, "record_id": record_id,
                       ("before_value" if action == "record_deleted" else "after_value"): cells})
    event["event"]["action_list"] = listed
    return event


def jdy_push(op: str, record_id: str, values: dict) -> dict:
    """JDY_PUSH as `op` of record `record_id` holding `values` (widget key → value)."""
    push = copy.deepcopy(JDY_PUSH)
    push["op"] = op
    push["data"].update(_id=record_id, **values)
    return push
