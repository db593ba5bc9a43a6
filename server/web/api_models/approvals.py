"""Approvals, delegations and targets (server/web/approvals.py, server/web/targets.py): the
bodies they take, the queries of their lists and what they answer."""
from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, WithJsonSchema

from trimtab.dsl.values import MAX_ID_TEXT, MAX_NUMBER
from trimtab.server.messages import msg
from trimtab.server.web.api_models.common import (Answer, OpenAnswer, Page, PersonId, Request, Text,
                                                  number, text)

# A value the server writes through dsl.words.plain: a JSON number, or the exact decimal as a
# text when a double cannot hold it as written (docs/language.md, "Numbers in JSON").
Plain = Annotated[Decimal | str, WithJsonSchema({
    "anyOf": [{"type": "number"}, {"type": "string"}],
    "description": "a number; a decimal text when a double cannot hold it exactly"})]
Day = Annotated[str, Field(description="a date, YYYY-MM-DD", json_schema_extra={"format": "date"})]
ApprovalStatus = Literal["pending", "approved", "rejected"]


def _texts(value):
    """Evidence that is not a list of texts is refused as a whole, at `$.evidence`."""
    if value is None or (isinstance(value, list) and all(isinstance(e, str) for e in value)):
        return value
    raise ValueError(msg("evidence is a list of texts"))


Evidence = Annotated[list[text(min_length=0)] | None, BeforeValidator(_texts)]  # type: ignore[valid-type]


# ---------------------------------------------------------------------- approvals
class ApprovalsQuery(Page):
    """Filters of GET /v1/approvals."""
    status: ApprovalStatus = Field(None, description="only approvals in this state")   # type: ignore[assignment]
    subject: text(MAX_ID_TEXT, 0, description="only this subject's approvals (empty: all)") = None  # type: ignore[valid-type]
    pending_for: Literal["me"] = Field(None, description="`me`: the steps waiting for you now (yours, or "  # type: ignore[assignment]
                                                         "delegated to you today)")


class ApprovalStep(Answer):
    """One approver's part: a step, or one signer of a countersign group (same position)."""
    position: int = Field(description="the step's place in the chain, from 0")
    kind: str = Field(description="`step`, or `countersign` (every signer of the position decides)")
    role: str = Field(description="the role of the chain the approver holds")
    approver: str = Field(description="the person the step waits for")
    status: Literal["waiting", "approved", "rejected"]
    comment: str | None
    acted_by: str | None = Field(description="the delegate who decided for the approver, if one did")
    substitutes_for: str | None = Field(description="the person the chart named, when they requested the "
                                                    "change or it concerns them")
    substitution: str | None = Field(description="why the step went to the next person up")


class ApprovalOut(Answer):
    """A target change on its way through the approval chain."""
    id: int
    status: ApprovalStatus
    subject: str = Field(description="the person whose target changes")
    metric: str
    before: Plain = Field(description="the current target")
    after: Plain = Field(description="the proposed target")
    reason: str
    evidence: list[Any] = Field(description="the requester's evidence (as the form gave it)")
    position: int = Field(description="the position of the step now waiting")
    ruleset_version: str
    requested_by: str | None
    steps: list[ApprovalStep]
    waiting_for: list[str] = Field(description="who the approval waits for now (empty once decided)")


class ApprovalPage(Answer):
    items: list[ApprovalOut]
    next: int | None = Field(description="the `after` of the next page; null on the last")


class DecisionBody(Request):
    """The signed-in person's verdict on the step waiting for them."""
    decision: Literal["approve", "reject"]
    comment: text(min_length=0) | None = None           # type: ignore[valid-type]
    evidence: Evidence = Field(None, description="links or notes backing the verdict")
    actor: PersonId = Field(None, description="if given, the person signed in (else 403 actor_mismatch)")  # type: ignore[assignment]


class LinkBody(Request):
    """Which platform approval instance is this approval."""
    platform: Literal["dingtalk", "feishu", "jiandaoyun"]
    external_id: text(200) = Field(description="钉钉 processInstanceId, 飞书 instance_code or 简道云 record _id")  # type: ignore[valid-type]


class LinkOut(Answer):
    approval_id: int
    platform: Literal["dingtalk", "feishu", "jiandaoyun"]
    external_id: str


# ---------------------------------------------------------------------- delegations
class DelegationBody(Request):
    """Your approval steps go to `delegate` from `starts_on` to `ends_on` (at most a year)."""
    delegate: PersonId
    delegator: PersonId = Field(None, description="admin token only: whose steps")  # type: ignore[assignment]
    starts_on: Day                                      # type: ignore[valid-type]
    ends_on: Day = Field(description="on or after starts_on, within a year")  # type: ignore[valid-type]
    reason: Text                                        # type: ignore[valid-type]


class DelegationOut(Answer):
    id: int
    delegator: str = Field(description="whose steps")
    delegate: str = Field(description="who decides them")
    starts_on: str = Field(description="the first day, YYYY-MM-DD", json_schema_extra={"format": "date"})
    ends_on: str = Field(description="the last day, YYYY-MM-DD", json_schema_extra={"format": "date"})
    reason: str
    created_by: str = Field(description="who recorded it (a person id, or admin-token)")
    revoked: bool


class DelegationList(Answer):
    items: list[DelegationOut]


# ---------------------------------------------------------------------- targets
class TargetBody(Request):
    """A subject's first target for a metric."""
    subject: PersonId
    metric: text(64)                                    # type: ignore[valid-type]
    value: number(0, MAX_NUMBER - 1)                    # type: ignore[valid-type]


class TargetSet(Answer):
    subject: str
    metric: str
    value: Plain
    set_by: str = Field(description="who set it (a person id, or admin-token)")
    ruleset_version: str


class SuggestBody(Request):
    """Facts of a form for its target rules."""
    form: Text = Field("region_monthly", description="the form whose target rules answer")  # type: ignore[valid-type]
    rule: Text = Field(None, description="only this rule (default: every target rule of the form)")  # type: ignore[valid-type]
    facts: dict[str, Any] = Field(description="this period's facts, valid against the form's schema")
    history: list[dict[str, Any]] | None = Field(
        None, description="earlier periods' facts, oldest first (default: the ones the server holds)")


class SplitBody(Request):
    """Facts of a target plan for its split rule."""
    form: Text = Field("target_plan", description="the form whose split rule answers")  # type: ignore[valid-type]
    rule: Text = Field(None, description="the split rule (default: the form's first)")  # type: ignore[valid-type]
    facts: dict[str, Any] = Field(description="the plan: the parent target and its children")


class TargetSuggestions(Answer):
    ruleset_version: str
    history_periods: int = Field(description="how many earlier periods the rules saw")
    suggestions: list[dict[str, Any]] = Field(description="each target rule's decision (its suggestion and range)")


class SplitOut(Answer):
    ruleset_version: str
    split: dict[str, Any] = Field(description="the split rule's decision: the shares, the band, the explanation")


class TargetChange(OpenAnswer):
    """An entry of the audit about the subject; the entry's details follow these fields."""
    at: str = Field(description="when, UTC (ISO 8601, `Z`)")
    action: str = Field(description="target_set, target_changed, target_change_rejected, …")
    ruleset_version: str


class TargetHistory(Answer):
    subject: str
    changes: list[TargetChange] = Field(description="newest first, at most 200")


class SubjectPath(Request):
    subject: PersonId
