"""Meetings, their briefs and the scheduled reports (server/web/meetings.py,
server/domain/reports.py)."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from trimtab.server.web.api_models.common import Answer, Page, Request, text

WHEN = ("ISO 8601, from 1900-01-01 to 9998-12-31 (UTC); without an offset, local to the "
        "configured timezone")
Number = int | float            # a ratio or an amount as a report writes it: int when whole
Lang = Literal["zh", "en"]


class NewMeeting(Request):
    """A meeting to schedule: its brief goes to the attendees when its schedule's lead time
    begins."""
    kind: text(4000, description="an event some schedule runs before") = "calibration_meeting"  # type: ignore[valid-type]
    title: text(4000)                                       # type: ignore[valid-type]
    starts_at: str = Field(description=WHEN, json_schema_extra={"format": "date-time"})
    region: text(4000, description="admins may leave it out; an HRBP names a region they cover") = None  # type: ignore[valid-type]
    attendees: list[text(4000)] = Field(min_length=1, description="person ids (the org chart's `id`)")  # type: ignore[valid-type]


class MeetingsQuery(Page):
    kind: text(4000, 0, description="only meetings of this kind (empty: all)") = None  # type: ignore[valid-type]


class LangQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    lang: Lang = Field(None,  # type: ignore[assignment]
                       description="the markdown's language (default: the request's)")


class ReportQuery(LangQuery):
    region: text(4000, 0, description="weekly_actions: only this region (empty: all)") = None  # type: ignore[valid-type]
    to: str = Field(None,  # type: ignore[assignment]
                    description=WHEN + "; default now: the report covers the 7 days before",
                           json_schema_extra={"format": "date-time"})


class ReportPath(BaseModel):
    name: Literal["weekly_actions", "resource_hints"] = Field(description="the report")


class MeetingOut(Answer):
    id: int
    kind: str
    title: str
    starts_at: str = Field(description="UTC, ending in Z")
    region: str | None
    attendees: list[str]
    briefed_at: str | None = Field(description="when its brief went out (UTC); null: not yet")


class MeetingPage(Answer):
    items: list[MeetingOut]
    next: int | None = Field(description="`after` for the next page; null: this is the last")


# ---------------------------------------------------------------------- the brief
class BriefMeeting(Answer):
    id: int
    title: str
    region: str | None
    starts_at: str
    attendees: list[str]
    local_time: str = Field(description="2026-08-14 10:00 (Asia/Shanghai)")


class Progress(Answer):
    """A rep's target in the cycle: actuals so far, the pace's projection and a suggested
    change when the projection is off the target by more than 5%."""
    rep: str
    name: str
    metric: str
    target: Number
    actual: Number | None
    completion: Number | None = Field(description="actual ÷ target, 3 decimal places")
    projected: Number | None
    suggested_target: Number | None
    suggested_change: Number | None = Field(description="a fraction, within the rules' band")


class RiskAlert(Answer):
    rule: str
    level: str | None
    period: str


class PendingChange(Answer):
    approval: int
    metric: str | None
    before: Number | None
    after: Number | None


class Risk(Answer):
    rep: str
    name: str
    alerts: list[RiskAlert]
    pending_changes: list[PendingChange]


class CalibrationBrief(Answer):
    report: Literal["calibration_brief"]
    meeting: BriefMeeting
    cycle: str = Field(description="the quarter: 2026-Q3")
    elapsed: Number = Field(description="the share of the cycle gone by the meeting")
    band: Number | None = Field(description="how far the rules let a meeting move a target")
    progress: list[Progress]
    risks: list[Risk]


class Brief(Answer):
    title: str
    markdown: str
    report: CalibrationBrief


# ---------------------------------------------------------------------- the reports
class RepAlert(Answer):
    rule: str
    level: str | None
    message: str | None


class RepActions(Answer):
    rep: str
    name: str
    alerts: list[RepAlert]


class WeeklyActions(Answer):
    """Per rep: the alerts fired in the window and what to do about them."""
    report: Literal["weekly_actions"]
    region: str | None
    from_: str = Field(alias="from")
    to: str
    reps: list[RepActions]


class RegionAlerts(Answer):
    region: str
    alerts: dict[str, int] = Field(description="level → alerts fired")


class ResourceHints(Answer):
    """Alerts per region by level; the regions under most pressure first."""
    report: Literal["resource_hints"]
    from_: str = Field(alias="from")
    to: str
    regions: list[RegionAlerts]


class Report(Answer):
    title: str
    markdown: str
    report: WeeklyActions | ResourceHints = Field(discriminator="report")


