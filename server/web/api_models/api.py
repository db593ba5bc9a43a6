"""The /v1 API of server/web/api.py: dry runs, the organisation chart, targets, decisions, the
audit log, notifications, forms, workflows and rule sets."""
from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema

from trimtab.dsl.ruleset import MAX_HISTORY
from trimtab.dsl.values import MAX_ID_TEXT, MAX_TEXT
from trimtab.server.messages import msg
from trimtab.server.web.api_models.common import (MAX_DECISION_ID, Answer, OpenAnswer, Page, PersonId, Request,
                                                  query_int, text)

# ---------------------------------------------------------------------- shared pieces
Timestamp = Annotated[str, WithJsonSchema({"type": "string", "format": "date-time",
                                           "description": "UTC, ISO 8601 with `Z`"})]
# A filter of a list route: left out or empty, no filter.
Filter = text(MAX_TEXT, 0)
PersonFilter = text(MAX_ID_TEXT, 0, description="a person id (the org chart's `id`)")


class RuleDiagnostic(Answer):
    """A problem (or a warning) the rules language reports, with its place in the rule files
    (`<input>` and line 0 when it has none)."""
    code: str = Field(description="namespaced by the stage that found it: `eval.missing_field`, "
                                  "`warn.role_unheld` …")
    message: str = Field(description="in the request's language")
    hint: str | None = Field(description="a suggestion (\"did you mean …\"), or null")
    file: str
    line: int = Field(ge=0)
    column: int = Field(ge=0)


# ---------------------------------------------------------------------- POST /v1/evaluate
def _date(value: str) -> str:
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(msg("`{value}` is not a date of the calendar", value=value)) from None
    return value


IsoDate = Annotated[str, Field(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"), AfterValidator(_date),
                    WithJsonSchema({"type": "string", "format": "date", "pattern": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"})]


class EvaluateBody(Request):
    """Facts to evaluate against the live rule set; nothing is stored."""
    form: text(MAX_TEXT) = Field(description="a form some rules listen to (GET /v1/forms)")   # type: ignore[valid-type]
    facts: dict[str, Any] = Field(description=(
        "the form's facts; every number |x| < 10^15 with at most 30 decimal places, texts without "
        "NUL or lone surrogates (server/core/limits.py); percent fields (x-unit: percent) take "
        "fractions (0.75 is 75%) or texts like \"75%\", read as 0.75; a bare number outside the "
        "field's minimum/maximum (70 for pipeline_coverage) is 422 eval.percent_not_fraction with a hint"))
    history: list[dict[str, Any]] = Field(
        default=[], json_schema_extra={"maxItems": MAX_HISTORY},
        description=f"earlier periods' facts of the same subject, oldest first (at most {MAX_HISTORY}: "
                    "more is 422 eval.history_too_long)")
    as_of: IsoDate = Field(default=None, description="evaluate with the rule versions in force on this "  # type: ignore[assignment]
                                                     "date (default: today)")


class EvaluatedDecision(OpenAnswer):
    """One rule's decision.  An evaluation that failed has `error` and none of `value`,
    `explanation` and `trace`; a decision's details (its kind's own fields: level, status,
    allocations …) are further fields beside these."""
    rule: str
    kind: str = Field(description="the rule's kind: alert, score, approval, rating, split …")
    form: str
    file: str = Field(description="the rule's file")
    line: int = Field(description="the rule's line in its file")
    error: RuleDiagnostic = Field(default=None, description="why the rule could not decide")  # type: ignore[assignment]
    value: Any = Field(default=None, description="what the rule decided (fired, a score, …)")
    explanation: str = Field(default=None, description="the decision in one sentence")  # type: ignore[assignment]
    trace: list[str] = Field(default=None, description="how the values came about, a line each")  # type: ignore[assignment]


class Evaluation(Answer):
    ruleset_version: str = Field(description="the rule set that decided")
    decisions: list[EvaluatedDecision]


# ---------------------------------------------------------------------- the organisation chart
def _an_object(value):
    if not isinstance(value, dict):
        raise ValueError(msg("each person is an object"))
    return value


def _field(max_length: int, description: str) -> Any:
    """An optional text of a person: empty or null is none."""
    return Annotated[str | None, Field(max_length=max_length, description=description)]


class PersonIn(Request):
    """A person as the org chart holds them; a person given again is replaced (a field left out
    is emptied)."""
    id: PersonId
    role: text(64, description="rep, direct_manager, hrbp, regional_manager, sales_director …")  # type: ignore[valid-type]
    name: _field(200, "shown in messages and pages (default: the id)") = None     # type: ignore[valid-type]
    region: _field(64, "none for roles over every region") = None                  # type: ignore[valid-type]
    manager: _field(MAX_ID_TEXT, "the direct manager's id") = None                 # type: ignore[valid-type]
    hrbp: _field(MAX_ID_TEXT, "the HRBP's id") = None                              # type: ignore[valid-type]
    email: _field(254, "for the e-mail channel and sign-in") = None                # type: ignore[valid-type]
    mobile: _field(32, "a mobile number (identifies the person to platforms)") = None   # type: ignore[valid-type]
    lang: _field(35, "the language of the person's messages: zh or en (zh-CN, en_US, 中文 … "
                     "are read as those)") = None                                  # type: ignore[valid-type]
    grants: _field(64, "`admin`, `it`, comma-separated") = None                   # type: ignore[valid-type]
    covers: _field(512, "further regions an HRBP covers, comma-separated") = None  # type: ignore[valid-type]
    dingtalk_userid: _field(254, "the person's DingTalk userid") = None           # type: ignore[valid-type]
    feishu_open_id: _field(254, "the person's Feishu open_id") = None             # type: ignore[valid-type]
    feishu_union_id: _field(254, "the person's Feishu union_id") = None           # type: ignore[valid-type]
    jiandaoyun_username: _field(254, "the person's 简道云 username") = None       # type: ignore[valid-type]


class PeopleBody(Request):
    people: list[Annotated[PersonIn, BeforeValidator(_an_object)]] = Field(
        description="people to add or replace, all or none")


class StoredPeople(Answer):
    """How many people were stored, and where the active rules name a role nobody now holds
    (their messages would reach no one)."""
    stored: int = Field(ge=0)
    warnings: list[RuleDiagnostic] = Field(description="`warn.role_unheld` at each place a rule "
                                                       "names a role no one holds")


class Person(Answer):
    id: str
    name: str
    role: str
    region: str | None
    manager: str | None = Field(description="the direct manager's id")
    hrbp: str | None = Field(description="the HRBP's id")
    email: str | None
    lang: str | None = Field(description="zh or en; null: the deployment's language")


class People(Answer):
    people: list[Person] = Field(description="the people the caller may see (admin: everyone), by id")


# ---------------------------------------------------------------------- GET /v1/targets
class TargetsQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    subject: PersonFilter = Field(default=None, description="filter by subject")  # type: ignore[assignment]


TargetValue = Annotated[Any, WithJsonSchema({
    "type": ["number", "string"],
    "description": "a number; its exact decimal text where a double would not hold it (over 15 digits)"})]


class Target(Answer):
    subject: str = Field(description="whose target (a person id, or a region)")
    metric: str
    value: TargetValue
    updated_at: Timestamp
    source: str | None = Field(description="how it was set: approval, import or api")
    set_by: str | None = Field(description="who set it (the last approver, or who imported or entered it)")
    ruleset_version: str | None = Field(description="the rule set in force when it was set")


class Targets(Answer):
    targets: list[Target] = Field(description="by subject and metric")


# ---------------------------------------------------------------------- lists with a cursor
Next = Annotated[int | None, Field(description="the last id of this page when the page is full "
                                               "(pass it as `after`); null at the end")]


class DecisionsQuery(Page):
    after: query_int(0, MAX_DECISION_ID, "the last id of the page before (default 0)") = 0   # type: ignore[valid-type]
    form: Filter = None                                              # type: ignore[valid-type]
    rule: Filter = None                                              # type: ignore[valid-type]
    subject: PersonFilter = None                                     # type: ignore[valid-type]
    version: Filter = Field(default=None, description="rule-set version")  # type: ignore[valid-type]
    fired: Literal["true", "false"] = Field(default=None, description="only the decisions that fired "  # type: ignore[assignment]
                                                                      "(true) or did not (false)")
    current: Literal["true", "false"] = Field(default=None, description=(  # type: ignore[assignment]
        "true: each rule's current decision per subject and period; false: the superseded ones (history)"))


class StoredDecision(Answer):
    id: int
    fact_id: int | None = Field(description="the fact decided on; null for a silence alert "
                                            "(about a form that did not arrive)")
    form: str
    subject: str
    period: str = Field(description="the fact's period key")
    rule: str
    kind: str
    fired: bool = Field(description="an alert fired, a change was refused …")
    error: str | None = Field(description="the error's code when the rule could not decide")
    ruleset_version: str
    at: Timestamp
    current: bool = Field(description="the period's current decision (false: superseded by a resubmission)")
    superseded_at: Timestamp | None
    result: dict[str, Any] = Field(description="the decision as POST /v1/evaluate gives it (value, details, "
                                               "explanation, trace), its explanation and trace rendered in "
                                               "the reader's language (stored before traces were kept "
                                               "compact: as stored, in its submitter's); no trace when "
                                               "`trace_unavailable`")
    trace_unavailable: str | None = Field(description="why `result` has no trace though the rule had one (the "
                                                      "version that decided cannot be loaded any more); null "
                                                      "when the trace is shown")


class Decisions(Answer):
    items: list[StoredDecision]
    next: Next


class AuditQuery(Page):
    subject: PersonFilter = None                                     # type: ignore[valid-type]
    action: Filter = Field(default=None, description="target_changed, approval_rejected, "  # type: ignore[valid-type]
                                                     "ruleset.activate …")


class AuditItem(OpenAnswer):
    """One entry of the append-only log; the entry's details (metric, before, after, reason,
    approvers …) are further fields beside these."""
    id: int
    at: Timestamp
    action: str
    subject: str
    actor: str
    ruleset_version: str


class AuditPage(Answer):
    items: list[AuditItem]
    next: Next


Status = Literal["pending", "sending", "sent", "dead"]


class NotificationsQuery(Page):
    status: Status = Field(default=None, description="only the messages in this state")  # type: ignore[assignment]


class Notification(Answer):
    id: int
    message_id: str = Field(description="stable across retries: receivers de-duplicate by it")
    rule: str
    role: str = Field(description="the role it was sent to")
    recipient: str | None = Field(description="the person's id; null for a group")
    channel: str
    status: Status
    attempts: int = Field(ge=0)
    last_error: str | None
    next_attempt_at: Timestamp
    sent_at: Timestamp | None


class Notifications(Answer):
    items: list[Notification]
    next: Next


class Requeued(Answer):
    id: int
    status: Literal["pending"]


# ---------------------------------------------------------------------- forms and workflows
class Form(Answer):
    name: str
    title: str | None
    title_zh: str | None
    rules: list[str] = Field(description="the rules listening to it, in file order")


class Forms(Answer):
    forms: list[Form] = Field(description="by name")


class Constraint(Answer):
    rule: str
    field: str = Field(description="`field`, or `list[].field` inside a list")
    constraint: str = Field(description="in words: `within ±15%`, `required` …")


class FormSchema(OpenAnswer):
    """A JSON Schema (2020-12): the form's own, with the bounds, required fields and
    enumerations its rules impose merged into `properties` and `required`."""
    type: Literal["object"]
    properties: dict[str, Any]
    required: list[str]
    constraints: list[Constraint] = Field(default=None, alias="x-trimtab-constraints",  # type: ignore[assignment]
                                          description="what the rules added, and which rule")


class WorkflowSource(Answer):
    file: str
    line: int = Field(ge=1)


class WorkflowStep(Answer):
    id: str
    type: Literal["approve", "countersign"]
    roles: list[str] = Field(min_length=1)
    when: str = Field(default=None, description="the step's condition, as the rule writes it")  # type: ignore[assignment]


class WorkflowCycle(Answer):
    every: int = Field(ge=1)
    unit: Literal["week", "month"]
    anchor: str | None = Field(json_schema_extra={"format": "date"})


class WorkflowLimit(Answer):
    changes_per_cycle: int = Field(ge=1)
    cycle: WorkflowCycle
    message: str | None


class WorkflowAction(Answer):
    type: Literal["report", "remind"]
    report: str = Field(default=None, description="the report to send")  # type: ignore[assignment]
    form: str = Field(default=None, description="the form to remind of")  # type: ignore[assignment]
    to: list[str] = Field(description="roles")


class Workflow(Answer):
    """A workflow definition (workflows/workflow.schema.json): an approval chain (`steps`) or a
    schedule (`actions`)."""
    name: str
    kind: Literal["approval", "schedule"]
    trigger: dict[str, Any] = Field(description="approval: the form and its subject field; schedule: "
                                                "type, weekday, time, timezone …")
    source: WorkflowSource
    require: list[str] = Field(default=None, description="fields a change must give")  # type: ignore[assignment]
    steps: list[WorkflowStep] = Field(default=None, min_length=1)  # type: ignore[assignment]
    formulas: dict[str, str] = Field(default=None, description="names the conditions use")  # type: ignore[assignment]
    limit: WorkflowLimit = Field(default=None, description="how often a target may change")  # type: ignore[assignment]
    effective: str = Field(default=None, json_schema_extra={"format": "date"})  # type: ignore[assignment]
    actions: list[WorkflowAction] = Field(default=None)  # type: ignore[assignment]


class Workflows(Answer):
    workflows: list[Workflow] = Field(description="approval chains, then schedules")


# ---------------------------------------------------------------------- rule sets
class LiveRule(Answer):
    name: str
    kind: str
    form: str
    effective: str | None = Field(description="the date this version is in force from; null: always")
    file: str
    line: int


class LiveRuleset(Answer):
    version: str
    rules: list[LiveRule]
    schedules: list[str] = Field(description="the schedules' names")


class ReloadBody(Request):
    rev: text(MAX_TEXT) = Field(default=None, description="a git revision of the rules (default: "  # type: ignore[valid-type]
                                                          "as configured)")
    allow_removals: bool = Field(default=False, description=(
        "confirm a reload that drops rules, schedules or files (else 409 removals_need_confirmation "
        "listing them)"))


class Reloaded(Answer):
    version: str = Field(description="the version now served (every process within RULES_CHECK_S)")
    rules: int = Field(ge=0, description="how many rules it holds")
