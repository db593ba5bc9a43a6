"""Where a submission is filed: the local date it is about, its period, its subject and whose
fact it is — and the organisation chart's word on that owner."""
from __future__ import annotations

import datetime as dt
from typing import NamedTuple
from zoneinfo import ZoneInfo

from trimtab.dsl import periods

from trimtab.server.core.errors import DomainError
from trimtab.server.messages import msg

PERIOD_WORDS = {"month": msg("month"), "quarter": msg("quarter")}     # a period field, in words


class Filing(NamedTuple):
    day: dt.date
    subject: str
    period: str
    owner: dict             # {"rep": …, "region": …} as stored beside the fact


def file(schema, facts: dict, tz: ZoneInfo) -> Filing:
    day = occurred_on(schema, facts, tz)
    return Filing(day, subject_of(schema, facts), period_key(schema, day), owner_of(facts))


def occurred_on(schema, facts: dict, tz: ZoneInfo) -> dt.date:
    """The local date a submission is about: its date field, else its month or quarter."""
    field = schema.date_field
    if field and isinstance(facts.get(field), str):
        text = facts[field]
        try:
            if len(text) > 10:            # a timestamp: bucket it in the configured timezone
                stamp = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
                if stamp.tzinfo is not None:
                    stamp = stamp.astimezone(tz)
                return stamp.date()
            return dt.date.fromisoformat(text)
        except ValueError:
            raise DomainError("invalid_date", msg("`{text}` is not a date", text=text), f"$.{field}") from None
    for field, sep, first_month in (("month", "-", lambda m: m), ("quarter", "-Q", lambda q: 3 * q - 2)):
        text = facts.get(field)
        if isinstance(text, str):
            # The form schema's pattern should have refused a month 13 or a year 0 already; a
            # deployment's own schema may be laxer.
            try:
                y, n = text.split(sep)
                if not (len(y) == 4 and y.isdigit() and n.isdigit() and len(n) <= 2):
                    raise ValueError(text)
                return dt.date(int(y), first_month(int(n)), 1)
            except ValueError:
                raise DomainError("invalid_period",
                                  msg("`{text}` is not a {field}", text=text, field=PERIOD_WORDS[field]),
                                  f"$.{field}") from None
    return dt.datetime.now(tz).date()


def period_key(schema, day: dt.date) -> str:
    """ISO week, two-week block, month or quarter of `day`; the date itself without a period
    (the language's calendar, dsl/periods.py, so stored periods and rules agree)."""
    return periods.period_key(schema.period, day)


def owner_of(facts: dict) -> dict:
    """The fact's `rep` and `region` as stored beside it: who may see it (server/auth/scope.py)."""
    rep, region = facts.get("rep"), facts.get("region")
    return {"rep": str(rep)[:128] if rep not in (None, "") else None,
            "region": str(region)[:64] if region not in (None, "") else None}


def subject_of(schema, facts: dict) -> str:
    for name in schema.subjects:
        if facts.get(name) not in (None, ""):
            return str(facts[name])
    return ""


def check_org_relation(held: tuple | None, rep, region) -> None:
    """The organisation chart owns who a rep is and where they work: an unknown rep is a 422,
    a region that is not theirs a 409 naming the one held.  `held`: (the rep's region,) or None."""
    if held is None:
        raise DomainError("unknown_subject", msg("`{rep}` is not in the organisation chart", rep=rep), "$.rep")
    if region is not None and held[0] is not None and held[0] != region:
        raise DomainError("stale_org_relation", msg("`{rep}` works in region `{held}` by the organisation "
                                                    "chart, not `{region}`",
                                                    rep=rep, held=held[0], region=region), "$.region", stored=held[0])
