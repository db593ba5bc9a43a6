"""What a webhook answers: the submission's decisions (POST /hooks/<form> and every platform
adapter), a platform record's retraction, a push acknowledged and ignored.  The answers are
written once, as JSON text, by the writers (server/domain/plan.py `Plan.body`,
server/domain/retraction.py); these models describe that text, they do not build it."""
from __future__ import annotations

from typing import Any, Literal, Union

from pydantic import Field, RootModel

from trimtab.server.web.api_models.approvals import ApprovalOut
from trimtab.server.web.api_models.common import Answer


class RuleProblem(Answer):
    """A rule that could not decide on these facts: the language's error (its code, e.g.
    `eval.division_by_zero`, the message in the request's language, a hint, and where in the
    rules it is)."""
    code: str
    message: str
    hint: str | None = None
    file: str | None = None
    line: int | None = None
    column: int | None = None


class DecisionOut(Answer):
    """One rule's decision on the submission.  `value` is the kind's result (an alert: fired or
    not; a status: its colour; an approval: allowed…); the other fields are the kind's details
    that the answer carries.  A rule that failed has `error` and no value."""
    rule: str = Field(description="the rule's name")
    kind: str = Field(description="the rule's kind: alert, status, approval, split, score…")
    value: Any = Field(None, description="the decision; numbers exact (an int, a float a double "
                                         "holds exactly, else a decimal string)")
    explanation: str | None = Field(None, description="the decision in a sentence, in the request's language")
    error: RuleProblem | None = None
    notify: list[str] | None = Field(None, description="an alert's roles to notify")
    message: str | None = Field(None, description="an alert's message, its placeholders filled")
    level: str | None = Field(None, description="an alert's level (red, orange, yellow…)")
    violations: list[dict[str, Any]] | None = Field(None, description="an approval's broken limits")
    steps: list[dict[str, Any]] | None = Field(None, description="an approval's steps that apply: "
                                                                 "{type, roles}")


class Submitted(Answer):
    """A submission stored with its decisions (or, under the X-Trimtab-Replayed header, the
    earlier answer to the same delivery, byte for byte)."""
    fact_id: int = Field(description="the stored fact")
    period: str = Field(description="the period it is filed in (2026-W31, 2026-08, 2026-Q3…)")
    ruleset_version: str
    decisions: list[DecisionOut]
    approval: ApprovalOut | None = Field(description="the approval the submission opened, if any")
    notifications_queued: int


class PeriodDecided(Answer):
    """A period decided again after a retraction, on the live fact it has left (none: its
    decisions stepped aside)."""
    form: str
    subject: str
    period: str
    fact_id: int | None
    decisions: list[DecisionOut]


class Retracted(Answer):
    """A platform record's deletion: its live facts retracted, their periods decided again."""
    source_record: str = Field(description="platform:table-or-form:record id")
    retracted: list[int] = Field(description="the facts retracted (empty: none were live)")
    periods: list[PeriodDecided]
    notifications_queued: int


class Ignored(Answer):
    """A push that carries no record: acknowledged with 200 so the platform does not retry."""
    ignored: Any = Field(description="what was pushed (the op or event type)")
    reason: str


class HookAnswer(RootModel[Union[Submitted, Retracted, Ignored]]):
    """A submission's decisions, a retraction, or an ignored push."""


class Challenge(Answer):
    """The answer to 飞书's request-URL check (url_verification)."""
    challenge: Any


class FeishuStored(Submitted):
    """A record added or edited: the submission's answer, and which record action it is."""
    record_id: str
    action: Literal["record_added", "record_edited"]


class FeishuRemoved(Retracted):
    """A record deleted: the retraction's answer, and which record action it is."""
    record_id: str
    action: Literal["record_deleted"]


class FeishuEventAnswer(Answer):
    """Each record action of the event as its own delivery (event id, record id, action)."""
    event_id: str
    form: str
    actions: list[Union[FeishuStored, FeishuRemoved]]


class FeishuAnswer(RootModel[Union[FeishuEventAnswer, Submitted, Challenge, Ignored]]):
    """The event's record actions (or a 0.1-shaped event's submission), the URL check's
    challenge, or an event of another type ignored."""
