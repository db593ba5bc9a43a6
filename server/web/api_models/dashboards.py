"""What the dashboards answer (server/web/dashboards.py): numbers for charts, read from the
stored facts and decisions the caller may see."""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from trimtab.server.web.api_models.common import Answer, text

# A value as the server writes numbers (dsl/words.py `plain`): an int when whole, a float when a
# double holds it exactly as written, else its exact decimal text.
Plain = int | float | str


class RepQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    rep: text(128, description="the rep")        # type: ignore[valid-type]


class RuleQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    rule: text(4000, 0, description="only this status rule (empty: all)") = None        # type: ignore[valid-type]


class TeamQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    team: text(4000, 0, description="only this team (empty: all)") = None        # type: ignore[valid-type]


class Axis(Answer):
    """One axis of the radar: the rep's value, the industry reference and their ratio (1.0 = the
    reference); axes without a reference have neither."""
    axis: str
    value: Any = Field(description="the rep's value that week (null: not given)")
    reference: Plain | None
    ratio: Plain | None = Field(description="value ÷ reference, 4 decimal places")


class Radar(Answer):
    rep: str
    period: str = Field(description="the week of the rep's latest weekly_metrics")
    axes: list[Axis]


class LightsMonth(Answer):
    """A status rule's colours in a period: how many reps got each (the period's current
    decision; a resubmitted period counts once)."""
    rule: str
    period: str
    counts: dict[str, int] = Field(description="colour → reps")


class Lights(Answer):
    months: list[LightsMonth]


class QuarterChanges(Answer):
    quarter: str = Field(description="2026-Q3")
    region: str = Field(description="the subjects' region (`-`: none)")
    changes: int = Field(description="approved target changes")
    per_person: float = Field(description="changes ÷ people of the region, 2 decimal places")


class Adjustments(Answer):
    quarters: list[QuarterChanges]


class CompletionMonth(Answer):
    """KR completion (progress ÷ expected) averaged per region, and the spread across regions."""
    period: str
    regions: dict[str, Plain] = Field(description="region → average completion, 4 decimal places")
    min: Plain
    max: Plain
    spread: Plain


class CompletionRange(Answer):
    months: list[CompletionMonth]


class Stage(Answer):
    stage: str = Field(description="leads, quotes, contracts or payments")
    count: Any = Field(description="the count the team reported")
    from_previous: Plain | None = Field(None, description="count ÷ the previous stage's (null: that "
                                                           "was 0); absent on the first stage")


class TeamFunnel(Answer):
    team: str
    period: str
    stages: list[Stage]


class Funnel(Answer):
    teams: list[TeamFunnel]


class Account(Answer):
    account: str
    rule: str = Field(description="the status rule")
    colour: Any = Field(description="its latest colour")
    stage: Any = Field(description="the account's procurement_stage")


class HeatRegion(Answer):
    region: str
    counts: dict[str, int] = Field(description="colour → accounts")
    accounts: list[Account]


class Heat(Answer):
    regions: list[HeatRegion]
