"""/v1/meetings: the dated events schedules run before (calibration meetings), and the brief
each one gets 48 hours ahead; /v1/reports/<name>: the scheduled reports as they stand now,
as JSON for the platform and markdown for people."""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, current_app, jsonify
from sqlalchemy import select

from trimtab.server.domain import reports
from trimtab.server.messages import msg
from trimtab.server.web.http import sessions, visible_or_refused
from trimtab.server.web.api_models.meetings import (Brief, LangQuery, MeetingOut, MeetingPage, MeetingsQuery,
                                                    NewMeeting, Report, ReportPath, ReportQuery)
from trimtab.server.web.contract import body_as, contract, query_as
from trimtab.server.auth import current_principal, requires, scope
from trimtab.server.core.errors import DomainError, request_lang
from trimtab.server.storage.models import Meeting, Person
from trimtab.server.domain.rulesets import active

bp = Blueprint("meetings", __name__, url_prefix="/v1")


def meeting_json(m: Meeting) -> dict:
    return {"id": m.id, "kind": m.kind, "title": m.title, "starts_at": m.starts_at.isoformat() + "Z",
            "region": m.region, "attendees": m.attendees,
            "briefed_at": m.briefed_at.isoformat() + "Z" if m.briefed_at else None}


def _events() -> set[str]:
    """Event kinds the rule set's schedules run before."""
    return {s.timing.event for s in active().schedules if s.timing.kind == "before_event"}


# Meeting and report times, naive UTC, [EARLIEST, LATEST): a week before (a report's span), the
# local date in any timezone and the end of its quarter (a brief) stay on the calendar.
EARLIEST, LATEST = dt.datetime(1900, 1, 1), dt.datetime(9999, 1, 1)


def _starts_at(value, path: str = "$.starts_at") -> dt.datetime:
    """An ISO 8601 time → naive UTC; without an offset it is local to the configured timezone."""
    if not isinstance(value, str):
        raise DomainError("schema_violation", msg("`{path}` must be an ISO 8601 date-time", path=path[2:]), path)
    try:
        stamp = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise DomainError("schema_violation", msg("`{value}` is not an ISO 8601 date-time", value=value),
                          path) from None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=current_app.config["TZ"])
    try:
        utc = stamp.astimezone(dt.timezone.utc).replace(tzinfo=None)
    except OverflowError:           # 0001-01-01T00:00+01:00: before the calendar's first day in UTC
        utc = None
    if utc is None or not EARLIEST <= utc < LATEST:
        raise DomainError("schema_violation", msg("`{value}` is outside 1900-01-01 to 9998-12-31 (UTC)", value=value),
                          path)
    return utc


def _may_see(m: Meeting) -> bool:
    seen = scope()
    return seen.everything or current_principal().person_id in (m.attendees or []) or \
        (m.region is not None and m.region in seen.regions)


@bp.post("/meetings")
@requires("person")
@contract("Schedule a meeting; its brief goes to the attendees when its schedule's lead time begins (48 hours "
          "before a calibration meeting)", body=NewMeeting, answers={201: MeetingOut}, errors=(403, 422),
          description="Admins, or an HRBP for the meeting's region.")
def create_meeting():
    """Admins, or an HRBP for a region they cover."""
    principal = current_principal()
    data = body_as(NewMeeting)
    kind = data.kind
    events = _events()
    if kind not in events:
        raise DomainError("unknown_event",
                          msg("no schedule runs before `{kind}` (known: {arg})",
                              kind=kind, arg=', '.join(sorted(events)) or msg("none")),
                          "$.kind")
    title, region, attendees = data.title, data.region, list(data.attendees)
    if not principal.is_admin and not (principal.is_hrbp and region in principal.covers):
        raise DomainError("out_of_scope", msg("meetings are set by admins, or by the HRBP of the meeting's "
                                              "region"), "$.region")
    starts_at = _starts_at(data.starts_at)
    with sessions() as session, session.begin():
        known = set(session.scalars(select(Person.id).where(Person.id.in_(attendees))))
        for i, person in enumerate(attendees):
            if person not in known:
                raise DomainError("unknown_subject",
                                  msg("`{person}` is not in the organisation chart", person=person),
                                  f"$.attendees[{i}]")
        meeting = Meeting(kind=kind, title=title, starts_at=starts_at, region=region,
                          attendees=list(dict.fromkeys(attendees)))
        session.add(meeting)
        session.flush()
        out = meeting_json(meeting)
    return jsonify(out), 201


@bp.get("/meetings")
@requires("person")
@contract("Meetings (calibration meetings and other dated events), paginated", query=MeetingsQuery,
          answers={200: MeetingPage}, description="Those the caller attends or whose region they see "
                                                  "(admin: all).")
def list_meetings():
    """Meetings the caller attends or whose region they see (admin: all)."""
    asked = query_as(MeetingsQuery)
    limit, after = asked.limit, asked.after
    q = select(Meeting).where(Meeting.id > after).order_by(Meeting.id)
    if asked.kind:
        q = q.where(Meeting.kind == asked.kind)
    with sessions() as session:
        items = []
        for m in session.scalars(q):
            if _may_see(m):
                items.append(meeting_json(m))
                if len(items) == limit:
                    break
    return jsonify({"items": items, "next": items[-1]["id"] if len(items) == limit else None})


@bp.get("/meetings/<id:meeting_id>/brief")
@requires("person")
@contract("The pre-meeting brief as it stands: progress, risks, suggested adjustment (JSON and markdown)",
          query=LangQuery, answers={200: Brief}, errors=(403, 404))
def brief(meeting_id: int):
    """The pre-meeting brief as it stands now: JSON for the platform, markdown for people."""
    lang = query_as(LangQuery).lang or request_lang()
    with sessions() as session:
        meeting = visible_or_refused(session, Meeting, meeting_id, msg("meeting"), _may_see)
        report = reports.calibration_brief(session, meeting, active(),
                                           current_app.config["TZ"])
    title, markdown = reports.render(report, lang)
    return jsonify({"title": title, "markdown": markdown, "report": report})


@bp.get("/reports/<name>")
@requires("person")
@contract("A scheduled report as it stands: weekly_actions (per region) or resource_hints, over the 7 days "
          "before `to`; JSON and markdown", path=ReportPath, query=ReportQuery, answers={200: Report},
          errors=(404, 422))
def report(name: str):
    """weekly_actions (?region=), resource_hints, over the 7 days before `to` (default now)."""
    asked = query_as(ReportQuery)
    lang = asked.lang or request_lang()
    end = _starts_at(asked.to, "$.to") if asked.to is not None else \
        dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    start = end - dt.timedelta(days=7)
    with sessions() as session:
        if name == "weekly_actions":
            doc = reports.weekly_actions(session, asked.region or None, start, end,
                                         scope())
        elif name == "resource_hints":
            doc = reports.resource_hints(session, start, end, scope())
        else:
            raise DomainError("not_found", msg("no report `{name}` (weekly_actions, resource_hints; briefs "
                                               "are at /v1/meetings/<id>/brief)",
                                               name=name), "$.name")
    title, markdown = reports.render(doc, lang)
    return jsonify({"title": title, "markdown": markdown, "report": doc})
