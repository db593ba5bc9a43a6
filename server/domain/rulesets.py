"""The active rule set: one version for every process.

The version in force is a row of the database (`active_ruleset`), not a variable of one
process.  `POST /v1/rulesets/reload` loads and checks a revision, then records it there;
every process (each gunicorn worker, `trimtab worker`) reads that row — one primary-key read,
at most every RULES_CHECK_S seconds — and, when its generation has moved on, loads the revision
it names and swaps it in.  A request keeps the set it started with, and its answer names it
(the X-Trimtab-Ruleset-Version header).

What is recorded is a commit id (a branch named in a reload may move on later; the commit does
not), or WORKTREE for the files on disk.  At start a server serves the recorded revision, unless
the deployment's own setting (TRIMTAB_RULES_REV, or the files on disk) differs from the one
recorded with it: then the deployment changed, and its revision becomes the active one.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from flask import Flask, current_app, g, has_request_context
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError

from trimtab.dsl.diagnostics import RuleError
from trimtab.dsl.ruleset import default_schemas_dir, load

from trimtab.server.storage.models import ActiveRuleset, utcnow
from trimtab.dsl.versions import WORKTREE, ActiveRuleSet, load_revision

log = logging.getLogger("trimtab.rulesets")
ROW = 1                     # the one row of active_ruleset
CHECK_S = 0.25              # default: how often a process looks at the row


@dataclass(frozen=True)
class Recorded:
    rev: str                # commit id, or WORKTREE
    version: str
    configured: str         # the deployment's own setting when this was written
    generation: int


def configured(config) -> str:
    return config["RULES_REV"] or WORKTREE


def load_for(config, rev: str | None = None) -> object:
    """The rule set at `rev` (default: the configured one), checked and compiled."""
    path, schemas = config["RULES_PATH"], config["SCHEMAS_PATH"]
    rev = rev or configured(config)
    try:
        return load_revision(path, rev, schemas)
    except RuleError as err:
        if rev != WORKTREE or err.code != "git.not_a_repository":
            raise
    return load(path, schemas or default_schemas_dir(path))     # not in git: content-hash version


def read(sessions) -> Recorded | None:
    """The recorded active version, or None before anything was recorded.

    Committed, not rolled back: every worker reads this every RULES_CHECK_S, and psycopg
    answers a ROLLBACK by deallocating the connection's prepared statements — the webhook's
    READ and WRITE (pg_intake.py) would then be planned afresh ten times after each check.
    A Core select on the sessions' engine: half the CPU of an ORM session's get (275 against
    555 µs a read on PostgreSQL)."""
    with sessions.kw["bind"].begin() as connection:
        row = connection.execute(_RECORDED).first()
        return None if row is None else Recorded(*row)


_RECORDED = select(ActiveRuleset.rev, ActiveRuleset.version, ActiveRuleset.configured,
                   ActiveRuleset.generation).where(ActiveRuleset.id == ROW)


def record(sessions, ruleset, rev: str, configured_rev: str, by: str, audited: bool = False) -> int:
    """Make `ruleset` (loaded from `rev`) the active one; returns its generation.  `audited`:
    a person's reload, written to the audit log in the same transaction."""
    with sessions() as session, session.begin():
        if _first_row(session, ruleset, rev, configured_rev, by):
            generation = 1
        else:
            row = session.get(ActiveRuleset, ROW, with_for_update=True)
            if not audited and (row.rev, row.version, row.configured) == (rev, ruleset.version, configured_rev):
                return row.generation       # workers starting together: no change to follow
            row.rev, row.version, row.configured = rev, ruleset.version, configured_rev
            row.generation, row.activated_at, row.activated_by = row.generation + 1, utcnow(), by
            generation = row.generation
            session.flush()
        if audited:
            from trimtab.server.domain.audit import append
            append(session, action="ruleset.activate", subject="ruleset", actor=by,
                   details={"rev": rev, "generation": generation}, ruleset_version=ruleset.version)
        return generation


def _first_row(session, ruleset, rev: str, configured_rev: str, by: str) -> bool:
    """Write the row as generation 1 if there is none yet; did this write it?  Workers starting
    together all try: ON CONFLICT DO NOTHING lets the others wait for the first one's commit and
    go on to update its row, where a plain INSERT failed on the duplicate key (and PostgreSQL
    logged an ERROR for each of them at every start)."""
    insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
    written = session.execute(insert(ActiveRuleset).values(
        id=ROW, rev=rev, version=ruleset.version, configured=configured_rev, generation=1,
        activated_at=utcnow(), activated_by=by).on_conflict_do_nothing(index_elements=["id"]))
    return written.rowcount == 1


def recorded_rev(ruleset, asked: str) -> str:
    return WORKTREE if asked == WORKTREE else ruleset.version


class Follower:
    """Keeps one process on the recorded version.  `check()` is cheap when nothing changed: a
    clock read, and every `every_s` one database read."""

    def __init__(self, holder: ActiveRuleSet, sessions, config, every_s: float = CHECK_S):
        self.holder, self.sessions, self.config, self.every_s = holder, sessions, config, every_s
        self.generation: int | None = None       # of the set this process holds
        self.failed: int | None = None           # a generation that would not load here
        self.lock = threading.Lock()
        self.next_at = 0.0
        self.unreachable = False
        self.loading = False                     # a check() is loading a new version

    def start(self, by: str = "start"):
        """Load the version to serve at start (see the module's notes)."""
        with self.lock:
            mine = configured(self.config)
            self.next_at = time.monotonic() + self.every_s
            try:
                seen = read(self.sessions)
            except SQLAlchemyError as err:          # no database yet: the checks catch up later
                log.warning("rule set: the active version is unreadable (%s); serving %s",
                            err.__class__.__name__, mine)
                return self.holder.swap(lambda: load_for(self.config, mine))
            if seen is not None and seen.configured == mine:
                ruleset = self._load_recorded(seen)
                if ruleset is not None and (seen.rev != WORKTREE or ruleset.version == seen.version):
                    self.generation = seen.generation
                    return self.holder.swap(lambda: ruleset)
            ruleset = self.holder.swap(lambda: load_for(self.config, mine))
            try:
                self.generation = record(self.sessions, ruleset, recorded_rev(ruleset, mine), mine, by)
            except SQLAlchemyError as err:
                log.warning("rule set: could not record %s as active (%s)", ruleset.version[:12],
                            err.__class__.__name__)
            return ruleset

    def _load_recorded(self, seen: Recorded):
        try:
            return load_for(self.config, seen.rev)
        except RuleError as err:
            self.failed = seen.generation
            log.error("rule set: the active revision %s does not load in this process (%s); "
                      "serving what it has", seen.rev[:12], str(err).splitlines()[0][:200])
            return None

    def check(self) -> None:
        """Swap to the recorded version if it changed since this process last looked."""
        if self.loading:
            # Another thread of this process found a newer recorded version and is loading it:
            # wait for it, as a single-threaded worker would, rather than answer with the old one
            # meanwhile.  Whatever next_at says: it moved on when that look began, and on a busy
            # host a load can outlast every_s.
            with self.lock:
                return
        now = time.monotonic()
        if now < self.next_at:
            return
        if not self.lock.acquire(blocking=False):
            if self.loading:            # it began loading since the test above
                with self.lock:
                    pass
            return
        try:
            self.next_at = now + self.every_s
            seen = read(self.sessions)
            self.unreachable = False
            if seen is None or seen.generation in (self.generation, self.failed):
                return
            self.loading, began = True, time.monotonic()
            ruleset = self._load_recorded(seen)
            if ruleset is not None:
                self.holder.swap(lambda: ruleset)
                self.generation = seen.generation
                log.info("rule set: generation %d (%s) loaded and served in %.0f ms", seen.generation,
                         seen.version[:12], (time.monotonic() - began) * 1000)
                if ruleset.version != seen.version:
                    log.warning("rule set: the files here give %s, not the recorded %s",
                                ruleset.version[:20], seen.version[:20])
        except SQLAlchemyError as err:
            if not self.unreachable:
                log.warning("rule set: cannot read the active version (%s); serving what this "
                            "process has", err.__class__.__name__)
            self.unreachable = True
        finally:
            self.loading = False
            self.lock.release()

    def reload(self, rev: str | None, by: str, guard=None):
        """Load `rev` (default: the configured revision), record it as active, swap it in.
        Raises RuleError — or what `guard(current, new)` raises — before
        anything is recorded."""
        with self.lock:
            asked = rev or configured(self.config)
            ruleset = load_for(self.config, asked)
            if guard is not None:
                guard(self.holder.current, ruleset)
            self.generation = record(self.sessions, ruleset, recorded_rev(ruleset, asked),
                                     configured(self.config), by, audited=True)
            log.info("rule set: generation %d (%s) activated by %s", self.generation,
                     ruleset.version[:12], by)
            self.next_at = time.monotonic() + self.every_s
            return self.holder.swap(lambda: ruleset)


def init_app(app: Flask) -> None:
    holder = ActiveRuleSet()
    follower = Follower(holder, app.extensions["trimtab.sessions"], app.config,
                        float(app.config["RULES_CHECK_S"]))
    follower.start()
    app.extensions["trimtab.rules"], app.extensions["trimtab.rules_follower"] = holder, follower

    @app.before_request
    def _take_the_active_set():
        follower.check()
        g.trimtab_ruleset = holder.current

    @app.after_request
    def _name_the_version(response):
        ruleset = g.get("trimtab_ruleset")
        if ruleset is not None:
            response.headers["X-Trimtab-Ruleset-Version"] = ruleset.version
        return response


def active():
    """The set this request started with (outside a request: the process's current one)."""
    ruleset = g.get("trimtab_ruleset") if has_request_context() else None
    return ruleset or current_app.extensions["trimtab.rules"].current


def reload(rev: str | None, by: str, guard=None):
    """Load `rev`, record it as active, swap it in; `guard(current, new)` may refuse the new
    set by raising, before anything is recorded."""
    ruleset = current_app.extensions["trimtab.rules_follower"].reload(rev, by, guard)
    if has_request_context():
        g.trimtab_ruleset = ruleset
    return ruleset
