"""The platforms' pushes as they document them (tests/platform_fixtures.py holds copies of their
examples), and what trimtab answers them.

The envelopes are documentation: the routes check a push's proof first (a 401 before anything
is read) and read the envelope by hand, on the webhook's hot path, without a model.  What a
route refuses the model says; what it acknowledges and ignores (another op, another event
type) the model admits."""
from __future__ import annotations

from typing import Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, RootModel

from trimtab.server.web.api_models.common import Answer, Request
from trimtab.server.web.api_models.intake import ApprovalOut, Challenge

OPEN = ConfigDict(extra="allow", frozen=True)


# ---------------------------------------------------------------------- 简道云
class JdyUser(Request):
    """A 简道云 member as a record names it."""
    model_config = OPEN
    name: str | None = None
    username: str | None = Field(None, description="the member's 简道云 username (people's jiandaoyun_username)")


class JdyRecord(Request):
    """The record: its system fields and the form's widgets by alias (or `_widget_…` key)."""
    model_config = OPEN
    id: str | None = Field(None, alias="_id", description="the record's id: a data_remove must name it")
    appId: str | None = None
    entryId: str | None = None
    creator: JdyUser | None = None
    updater: JdyUser | None = None
    deleter: JdyUser | None = None
    createTime: str | None = None
    updateTime: str | None = None
    deleteTime: str | None = None


class JdyPush(Request):
    """简道云 数据推送 (hc.jiandaoyun.com/open/10732): data_create, data_update and data_recover
    are stored, data_remove retracts the record; other ops (form changes…) are acknowledged."""
    model_config = OPEN
    op: str = Field(description="data_create, data_update, data_remove, data_recover, or another op (ignored)")
    data: JdyRecord
    opTime: int | None = Field(None, description="milliseconds since 1970")


class JdyApprovalRecord(JdyRecord):
    """The approval form's record: `_id` is the linked instance; `trimtab_decision` the verdict."""
    trimtab_decision: str | None = Field(None, description="同意/通过/approve or 拒绝/驳回/reject; "
                                                            "absent: the push decides nothing")
    trimtab_comment: str | None = None


class JdyApprovalPush(JdyPush):
    """简道云 数据推送 of the approval form: a data_update decides; other ops are acknowledged."""
    data: JdyApprovalRecord


# ---------------------------------------------------------------------- 明道云, 宜搭
class MingdaoPush(Request):
    """明道云's webhook body: the delivery id it retries with and the record's fields by name."""
    model_config = OPEN
    delivery_id: str | int = Field(description="unique per delivery; a retry repeats it")
    data: dict[str, Any] = Field(description="the form's fields by name, as POST /hooks/{form} takes them")


class YidaPush(Request):
    """宜搭's HTTP connector body."""
    model_config = OPEN
    formInstId: str | int | None = Field(None, description="the form instance: the delivery id "
                                                           "when X-Yida-Request-Id is not sent")
    formData: dict[str, Any] = Field(description="the form's fields by name")


# ---------------------------------------------------------------------- 飞书
class Encrypted(Request):
    """An encrypted push: {"encrypt": base64(iv + AES-256-CBC(the event))}."""
    model_config = OPEN
    encrypt: str


class LarkUrlCheck(Request):
    """飞书's request-URL check: answered with its challenge."""
    model_config = OPEN
    type: Literal["url_verification"]
    challenge: Any = None
    token: str | None = None


class LarkHeader(Request):
    """The 2.0 envelope's header."""
    model_config = OPEN
    event_id: str | int | None = Field(None, description="the delivery id 飞书 retries with")
    event_type: Any = None
    create_time: str | None = None
    token: str | None = None
    app_id: str | None = None
    tenant_key: str | None = None


class LarkUserIds(Request):
    model_config = OPEN
    open_id: str | None = None
    union_id: str | None = None
    user_id: str | None = None


class BitableCell(Request):
    """A field's value: `field_value` is the Bitable value serialised as JSON text."""
    model_config = OPEN
    field_id: str
    field_value: str | None = None


class BitableAction(Request):
    """One record's change."""
    model_config = OPEN
    record_id: str
    action: Literal["record_added", "record_edited", "record_deleted"]
    before_value: list[BitableCell] | None = None
    after_value: list[BitableCell] | None = None


class BitableRecordChanged(Request):
    """drive.file.bitable_record_changed_v1's event."""
    model_config = OPEN
    file_token: str | None = None
    file_type: str | None = None
    table_id: str = Field(min_length=1, description="picks the form (the mapping files' table_id)")
    revision: int | None = None
    operator_id: LarkUserIds | None = None
    action_list: list[BitableAction] = Field(min_length=1)
    subscriber_id_list: list[LarkUserIds] | None = None
    update_time: int | None = None


class RecordHeader(LarkHeader):
    event_id: str | int = Field(description="the delivery id 飞书 retries with")
    event_type: Literal["drive.file.bitable_record_changed_v1"]


class LarkRecordEvent(Request):
    """飞书多维表格记录变更 (schema 2.0): each record action is stored or retracted."""
    model_config = OPEN
    schema_: str | None = Field(None, alias="schema")
    header: RecordHeader
    event: BitableRecordChanged


class LarkOtherEvent(Request):
    """Another event (2.0 envelope): acknowledged as {ignored}; to /platforms/feishu/hooks/{form},
    an event whose `event.fields` is an object is the 0.1 shape, stored as the form's fields."""
    model_config = OPEN
    schema_: str | None = Field(None, alias="schema")
    header: LarkHeader
    event: dict[str, Any]


class FeishuPush(RootModel[Union[Encrypted, LarkUrlCheck, LarkRecordEvent, LarkOtherEvent]]):
    """A 飞书 event: encrypted when an encrypt key is set, else in clear."""


class ApprovalTask(Request):
    """飞书's approval_task event (审批任务状态变更)."""
    model_config = OPEN
    type: Any = Field(None, description="approval_task (or the 2.0 header's event_type says so)")
    instance_code: str | None = Field(None, description="the linked approval instance")
    status: Any = Field(None, description="APPROVED or REJECTED decide; other statuses are acknowledged")
    open_id: str | None = Field(None, description="the operator (people's feishu_open_id)")
    union_id: str | None = Field(None, description="else this (people's feishu_union_id)")
    user_id: str | None = None


class LarkApprovalPush(Request):
    """The 1.0 envelope 飞书 documents for approval_task ({uuid, token, ts, type, event}), or the
    same event under a 2.0 header."""
    model_config = OPEN
    type: Any = None
    event: ApprovalTask | None = None
    header: dict[str, Any] | None = None


class FeishuApprovalPush(RootModel[Union[Encrypted, LarkUrlCheck, LarkApprovalPush]]):
    """A 飞书 approval event, encrypted or in clear."""


# ---------------------------------------------------------------------- answers
class Decided(Answer):
    """The linked approval after the platform's verdict; `replayed` when this person's same
    verdict was already recorded (nothing changed)."""
    approval: ApprovalOut
    replayed: bool


class NothingDecided(Answer):
    """An event that decides nothing: acknowledged so the platform does not retry it."""
    ignored: Any


class ApprovalEventAnswer(RootModel[Union[Decided, NothingDecided, Challenge]]):
    """The decision taken, or the event acknowledged."""


class DingtalkSuccess(Answer):
    """The encrypted "success" 钉钉 waits for, signed as it signs its pushes."""
    msg_signature: str
    timeStamp: str
    nonce: str
    encrypt: str


# ---------------------------------------------------------------------- workflows
class StepsAsked(Request):
    """A form's values, asked of an approval workflow."""
    facts: dict[str, Any] = Field(description="the form's values, as POST /hooks/{form} takes them "
                                              "(the same schema and limits); body at most 1 MB")


class Violation(Answer):
    """A limit the request breaks (`limit`: changes this cycle) or a field it lacks (`required`)."""
    code: Literal["limit", "required"]
    count: int | None = Field(None, description="limit: the changes this cycle, this one included")
    limit: int | None = Field(None, description="limit: the most the rule allows")
    message: str | None = Field(None, description="limit: the rule's own message, if it has one")
    field: str | None = Field(None, description="required: the field")


class StepsAnswer(Answer):
    """Each step's id (step1 … in the rule's order) and whether it applies."""
    workflow: str
    ruleset_version: str
    allowed: bool = Field(description="false when the request breaks a limit of the rule")
    violations: list[Violation]
    steps: dict[str, bool]


class MingdaoToken(BaseModel):
    form: str = Field(min_length=1, max_length=200, description="the form")
    token: str = Field(min_length=1, max_length=200, description="this server's 明道云 token "
                                                                  "(TRIMTAB_MINGDAO_TOKEN)")
