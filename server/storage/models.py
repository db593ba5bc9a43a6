"""Persistence: what the server remembers.  SQLAlchemy 2.0 style; times are UTC.

Exact numbers: a fact's payload is kept as the JSON text that arrived (re-read with
parse_float=Decimal for history); target values are NUMERIC.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Optional

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, Numeric, String, Text, UniqueConstraint, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass


class Person(Base):
    """The organisation chart: who reports to whom, who holds which role where."""
    __tablename__ = "people"
    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(64), index=True)      # rep, direct_manager, hrbp, …
    region: Mapped[Optional[str]] = mapped_column(String(64), index=True)   # none for HQ-wide roles
    manager_id: Mapped[Optional[str]] = mapped_column(String(128))  # no FK: load order is free
    hrbp_id: Mapped[Optional[str]] = mapped_column(String(128))
    email: Mapped[Optional[str]] = mapped_column(String(254))      # for the e-mail channel
    mobile: Mapped[Optional[str]] = mapped_column(String(32))
    # What the person may do beyond their place in the chart: "admin" (org, tokens), "it"
    # (rule sets); comma-separated.  And the regions an HRBP covers besides their own.
    grants: Mapped[Optional[str]] = mapped_column(String(64))
    covers: Mapped[Optional[str]] = mapped_column(String(512))
    # The language of the person's own notifications (zh, en); none: the deployment's LANG.
    lang: Mapped[Optional[str]] = mapped_column(String(8))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # Someone who left the platform's directory (`trimtab sync org`): kept, for the history
    # and audit that name them, but no longer active.
    active: Mapped[bool] = mapped_column(default=True, server_default=text("true"))
    left_at: Mapped[Optional[dt.datetime]]


class ActiveRuleset(Base):
    """The rule-set version every process serves: one row (id 1).  A reload writes it; each web
    worker and `trimtab worker` read it and load `rev` (a commit id, or WORKTREE for the files on
    disk).  `generation` grows by one on every write, so a process notices a change cheaply.
    `configured` is the deployment's own setting (TRIMTAB_RULES_REV, or WORKTREE) when written:
    a server started with another one makes its own active."""
    __tablename__ = "active_ruleset"
    id: Mapped[int] = mapped_column(primary_key=True)
    rev: Mapped[str] = mapped_column(String(64))
    version: Mapped[str] = mapped_column(String(128))
    configured: Mapped[str] = mapped_column(String(256))
    generation: Mapped[int]
    activated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    activated_by: Mapped[str] = mapped_column(String(128))


class PersonIdentity(Base):
    """A person's id on a platform (DingTalk userid, Feishu open_id/union_id, 简道云 username,
    e-mail, mobile): how a platform's callback or sign-in is mapped to the organisation chart."""
    __tablename__ = "person_identities"
    __table_args__ = (UniqueConstraint("kind", "value"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[str] = mapped_column(String(128), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    value: Mapped[str] = mapped_column(String(254))


class ApiToken(Base):
    """A personal API token: only its SHA-256 is stored; the token is shown once."""
    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[str] = mapped_column(String(128), index=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))        # shown in lists: tt_AbC…
    label: Mapped[Optional[str]] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[Optional[dt.datetime]]
    revoked_at: Mapped[Optional[dt.datetime]]
    last_used_at: Mapped[Optional[dt.datetime]]


class Delegation(Base):
    """A person hands their approval steps to another for a period (days, inclusive, in the
    server's timezone), e.g. a manager on leave."""
    __tablename__ = "delegations"
    id: Mapped[int] = mapped_column(primary_key=True)
    delegator_id: Mapped[str] = mapped_column(String(128), index=True)
    delegate_id: Mapped[str] = mapped_column(String(128), index=True)
    starts_on: Mapped[dt.date]
    ends_on: Mapped[dt.date]
    reason: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[Optional[dt.datetime]]


class ApprovalLink(Base):
    """An approval's instance on a platform (DingTalk OA, Feishu approval, 简道云 flow)."""
    __tablename__ = "approval_links"
    __table_args__ = (UniqueConstraint("platform", "external_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    approval_id: Mapped[int] = mapped_column(ForeignKey("approvals.id"), index=True)
    platform: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Delivery(Base):
    """One webhook delivery per (client, delivery id): a retry gets the same answer.  `proof`
    is the request's signature as sent (when the platform signs): a signature is good for one
    delivery id, so a captured request sent again under another id is refused."""
    __tablename__ = "deliveries"
    __table_args__ = (UniqueConstraint("client", "delivery_id"), UniqueConstraint("client", "proof"))
    id: Mapped[int] = mapped_column(primary_key=True)
    client: Mapped[str] = mapped_column(String(64))
    delivery_id: Mapped[str] = mapped_column(String(200))
    body_sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[int]
    response: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    proof: Mapped[Optional[str]] = mapped_column(String(80))


class Fact(Base):
    """A form submission as it arrived.  A platform record's facts name it (`source_record`);
    when the platform deletes the record they are retracted (`retracted_at`), never deleted,
    and history reads live facts only (server/domain/retraction.py)."""
    __tablename__ = "facts"
    __table_args__ = (Index("ix_facts_history", "form", "subject", "period", "id",
                            postgresql_where=text("retracted_at IS NULL"),
                            sqlite_where=text("retracted_at IS NULL")),)
    id: Mapped[int] = mapped_column(primary_key=True)
    form: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(128))
    period: Mapped[str] = mapped_column(String(32))        # 2026-W32, 2026-08, 2026-Q3, or the date
    occurred_on: Mapped[dt.date]
    payload: Mapped[str] = mapped_column(Text)             # the JSON text, exact
    client: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # Whose fact it is, for who may see it: the `rep` and `region` fields as they arrived.
    rep: Mapped[Optional[str]] = mapped_column(String(128), index=True)
    region: Mapped[Optional[str]] = mapped_column(String(64))
    # The platform record it came from (feishu:<table>:<record>, jiandaoyun:<form>:<_id>).
    source_record: Mapped[Optional[str]] = mapped_column(String(200), index=True)
    retracted_at: Mapped[Optional[dt.datetime]]            # the record was deleted


class FactCount(Base):
    """How many live facts a (form, subject) has, its highest fact id and how many of its facts
    were ever retracted: kept by a trigger on facts (migration 0015) and by retractions
    (server/domain/retraction.py), read by the webhook's history check (server/domain/history.py)."""
    __tablename__ = "fact_counts"
    form: Mapped[str] = mapped_column(String(64), primary_key=True)
    subject: Mapped[str] = mapped_column(String(128), primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger)
    top: Mapped[int] = mapped_column(BigInteger)
    retracted: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))   # only grows


class DecisionSet(Base):
    """What a plan decided for one fact, under which rule-set version: one row a fact, its
    decisions a JSON array in the plan's order, each decision's id the set's id plus its place
    (ids come in blocks, BLOCK apart: server/domain/period_decisions.py).  A webhook stores one
    row, with one check of its foreign key and one entry an index, where it stored a row a rule
    (docs/runs/2026-12-02-decision-sets.md has the measurement).

    One set is the period's head (current) per form, subject and period: a resubmission's set
    supersedes the head.  A rule the new set does not decide (one a new rule-set version
    dropped, a silence alert) stays current: its element in the superseded set is marked
    `kept`, and gets its own `superseded_at` when a later set decides that rule.  Sets are
    read as rows through the view `decisions` (Decision)."""
    __tablename__ = "decision_sets"
    __table_args__ = (Index("uq_decision_sets_head", "form", "subject", "period", unique=True,
                            postgresql_where=text("superseded_at IS NULL"),
                            sqlite_where=text("superseded_at IS NULL")),
                      # the period's sets that still hold a current decision besides the head
                      Index("ix_decision_sets_kept", "form", "subject", "period",
                            postgresql_where=text("kept"), sqlite_where=text("kept = 1")),
                      # by subject (reports, dashboards), and a period's sets, superseded too
                      Index("ix_decision_sets_subject_period", "subject", "form", "period"),
                      # a rule's page by id: its form's sets (a rule decides on each of them)
                      Index("ix_decision_sets_form_id", "form", "id"),
                      # the reports' fired alerts by date, and no other set
                      Index("ix_decision_sets_fired_alerts", "created_at",
                            postgresql_where=text("fired_alerts AND superseded_at IS NULL"),
                            sqlite_where=text("fired_alerts = 1 AND superseded_at IS NULL")))
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True,
                                    autoincrement=False)
    # None for a silence alert: it is about a form that did not arrive (server/jobs/silences.py).
    fact_id: Mapped[Optional[int]] = mapped_column(ForeignKey("facts.id"), index=True)
    form: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(128))
    period: Mapped[str] = mapped_column(String(32))        # the fact's period key
    ruleset_version: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    superseded_at: Mapped[Optional[dt.datetime]]           # None: the period's head
    # [{rule, kind, fired, result, error_code[, kept][, superseded_at]}], in the plan's order;
    # compressed with LZ4 on PostgreSQL where it offers it (migration 0024)
    decisions: Mapped[list] = mapped_column(JSON)
    fired_alerts: Mapped[bool] = mapped_column(default=False)   # an alert among them fired
    kept: Mapped[bool] = mapped_column(default=False)           # superseded, a decision still current


class Decision(Base):
    """What a rule decided for a fact, under which rule-set version, and why: a decision set's
    element as a row of the view `decisions` (migration 0022), read only — writers write sets
    (server/domain/period_decisions.py).  One decision per rule, form, subject and period is
    current; a resubmission's decisions supersede the earlier ones of its period, which stay
    as history."""
    __tablename__ = "decisions"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    fact_id: Mapped[Optional[int]] = mapped_column(ForeignKey("facts.id"))   # for joins: a view has no keys
    form: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(128))
    rule: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    fired: Mapped[bool]                                    # an alert fired / a change allowed …
    result: Mapped[dict] = mapped_column(JSON)             # the decision's JSON (value, details, trace)
    error_code: Mapped[Optional[str]] = mapped_column(String(64))
    ruleset_version: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[dt.datetime]
    period: Mapped[str] = mapped_column(String(32))        # the fact's period key
    superseded_at: Mapped[Optional[dt.datetime]]           # None: the period's current decision
    # its set's columns (DecisionSet): a query that names them can use the set's indexes
    set_id: Mapped[int] = mapped_column(BigInteger)
    set_superseded_at: Mapped[Optional[dt.datetime]]
    set_fired_alerts: Mapped[bool]
    set_kept: Mapped[bool]


class Target(Base):
    """A subject's current target for a metric; changed only by a final approval."""
    __tablename__ = "targets"
    __table_args__ = (UniqueConstraint("subject", "metric"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(String(128))
    metric: Mapped[str] = mapped_column(String(64))
    value: Mapped[Decimal] = mapped_column(Numeric(20, 4))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # Who set it and how: "approval" (the last approver), "import" or "api" (the person who
    # imported or entered it), under which rule-set version.
    source: Mapped[Optional[str]] = mapped_column(String(16))
    set_by: Mapped[Optional[str]] = mapped_column(String(128))
    ruleset_version: Mapped[Optional[str]] = mapped_column(String(80))


class Approval(Base):
    """A target change on its way through the approval chain."""
    __tablename__ = "approvals"
    id: Mapped[int] = mapped_column(primary_key=True)
    fact_id: Mapped[int] = mapped_column(ForeignKey("facts.id"), unique=True)
    rule: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(128), index=True)
    metric: Mapped[str] = mapped_column(String(64))
    before: Mapped[Decimal] = mapped_column(Numeric(20, 4))
    after: Mapped[Decimal] = mapped_column(Numeric(20, 4))
    reason: Mapped[str] = mapped_column(Text)
    evidence: Mapped[list] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))        # pending | approved | rejected
    position: Mapped[int]                                  # the step now waiting
    requested_by: Mapped[Optional[str]] = mapped_column(String(128))
    ruleset_version: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[Optional[dt.datetime]]
    steps: Mapped[list["ApprovalStep"]] = relationship(order_by="ApprovalStep.position",
                                                       back_populates="approval")


class ApprovalStep(Base):
    """One approver's part: a step, or one signer of a countersign group (same position)."""
    __tablename__ = "approval_steps"
    id: Mapped[int] = mapped_column(primary_key=True)
    approval_id: Mapped[int] = mapped_column(ForeignKey("approvals.id"), index=True)
    position: Mapped[int]
    kind: Mapped[str] = mapped_column(String(16))          # step | countersign
    role: Mapped[str] = mapped_column(String(64))
    approver_id: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16))        # waiting | approved | rejected
    comment: Mapped[Optional[str]] = mapped_column(Text)
    evidence: Mapped[Optional[list]] = mapped_column(JSON)
    acted_at: Mapped[Optional[dt.datetime]]
    # Separation of duties: the person the chart named, when they requested the change or it
    # concerns them, and why the step went to the next person up.
    substitutes_for: Mapped[Optional[str]] = mapped_column(String(128))
    substitution: Mapped[Optional[str]] = mapped_column(String(32))
    acted_by: Mapped[Optional[str]] = mapped_column(String(128))   # a delegate, for approver_id
    approval: Mapped[Approval] = relationship(back_populates="steps")


class AuditEntry(Base):
    """Append-only: the application inserts (through audit.append), never updates or deletes."""
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    action: Mapped[str] = mapped_column(String(64))        # target_changed, approval_rejected, …
    subject: Mapped[str] = mapped_column(String(128), index=True)
    actor: Mapped[str] = mapped_column(String(128))
    details: Mapped[dict] = mapped_column(JSON)
    ruleset_version: Mapped[str] = mapped_column(String(80))
    prev_hash: Mapped[str] = mapped_column(String(64))     # the entry before's hash (audit.py)
    hash: Mapped[str] = mapped_column(String(64))          # HMAC of this entry's content


class AuditHead(Base):
    """One row: the end of the audit chain, locked by each append so the chain stays a line."""
    __tablename__ = "audit_head"
    id: Mapped[int] = mapped_column(primary_key=True)      # always 1
    last_id: Mapped[int]                                   # 0 while the log is empty
    last_hash: Mapped[str] = mapped_column(String(64))
    count: Mapped[int]


class OutboxMessage(Base):
    """A notification written in the same transaction as the decision that causes it, and
    delivered later (retried with backoff; dead-lettered after too many failures)."""
    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(String(64), unique=True)   # stable across retries
    fact_id: Mapped[Optional[int]] = mapped_column(ForeignKey("facts.id"))
    rule: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(64))
    recipient: Mapped[Optional[str]] = mapped_column(String(128))
    channel: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict] = mapped_column(JSON)         # title, text, level, subject …
    status: Mapped[str] = mapped_column(String(16), index=True)   # pending | sending | sent | dead
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    last_error: Mapped[Optional[str]] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[Optional[dt.datetime]]
    digest_id: Mapped[Optional[str]] = mapped_column(String(64))   # sent inside this digest
    # While `sending`: which dispatcher holds the message and until when; a claim that runs
    # out (its worker died) makes the message due again, under the same message id.
    claimed_by: Mapped[Optional[str]] = mapped_column(String(128))
    claim_expires_at: Mapped[Optional[dt.datetime]]


class ScheduleRun(Base):
    """When a schedule last ran (UTC): missed ticks collapse into one run on recovery."""
    __tablename__ = "schedule_runs"
    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    last_run_at: Mapped[dt.datetime]
    runs: Mapped[int] = mapped_column(default=0)


class SyncState(Base):
    """Where a connector got to: e.g. `salesforce` → the last SystemModstamp pulled."""
    __tablename__ = "sync_state"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    watermark: Mapped[Optional[str]] = mapped_column(String(64))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Meeting(Base):
    """A dated event schedules can run before — a calibration meeting and who attends it."""
    __tablename__ = "meetings"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(64), index=True)     # calibration_meeting, …
    title: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[dt.datetime] = mapped_column(index=True)    # UTC
    region: Mapped[Optional[str]] = mapped_column(String(64))     # none: every region
    attendees: Mapped[list] = mapped_column(JSON)                 # person ids
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    briefed_at: Mapped[Optional[dt.datetime]]                     # the brief went to the outbox


class Silence(Base):
    """A silent stretch already alerted: one per rule, person and stretch (its first missing
    period), so the scheduler raises a silence once however often it looks."""
    __tablename__ = "silences"
    __table_args__ = (UniqueConstraint("rule", "subject", "since", name="uq_silences_stretch"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    rule: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(128))
    form: Mapped[str] = mapped_column(String(64))
    since: Mapped[str] = mapped_column(String(32))          # 2026-W30: the stretch's first period
    decision_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("decision_sets.id"))   # a set of one
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
