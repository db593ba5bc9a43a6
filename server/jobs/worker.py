"""Jobs on RQ.  Jobs take nothing but plain flags: where the database, the channels and the
rules are comes from the worker's own settings (its environment, as `trimtab serve` reads
it), so no URL with credentials is ever written to Redis.  They are safe to run twice:
delivery claims outbox rows, and a sent row is never sent again.

RQ runs each job in a forked process: `db.py` drops the parent's pooled connections in the
child, so a job never talks over the sweeper's connection.  The sweeper and the scheduler
thread outlive a lost database or Redis: they log a line, wait longer each time, go on."""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from functools import lru_cache

from trimtab.server.jobs.outage_worker import outage_worker_class
from trimtab.server.storage.db import UnsupportedDatabase

log = logging.getLogger("trimtab.jobs")
QUEUE = "trimtab"


# A worker's connections: checked before use (a backend terminated while the worker slept is
# replaced, not failed on), named in pg_stat_activity, and never left idle in a transaction.
WORKER_PG = {"pool_pre_ping": True, "connect_args": {
    "application_name": "trimtab-worker",
    "options": "-c idle_in_transaction_session_timeout=60000"}}


@dataclass(frozen=True)
class WorkerSettings:
    database_url: str
    channels_path: str
    rules_path: str | None = None
    timezone: str = "Asia/Shanghai"
    lang: str = "zh"
    redis_url: str | None = None
    rules_rev: str | None = None        # until a reload records another in the database


_SETTINGS: list = []        # the worker's settings, set before it forks job processes


def configure(settings: WorkerSettings) -> None:
    _SETTINGS[:] = [settings]


def settings() -> WorkerSettings:
    """This process's settings: those `run_worker` was given (inherited by forked jobs), else
    read from the environment as `trimtab worker` would."""
    if not _SETTINGS:
        from pathlib import Path

        from trimtab.server.config import from_env
        config = from_env(migrate=False)
        channels = config["CHANNELS_PATH"] or str(Path(config["RULES_PATH"]) / "channels.yaml")
        configure(WorkerSettings(config["DATABASE_URL"], str(Path(channels).resolve()),
                                 config["RULES_PATH"], config["TIMEZONE"], config["LANG"],
                                 config.get("REDIS_URL"), config["RULES_REV"]))
    return _SETTINGS[0]


@lru_cache(maxsize=8)
def _sessions(database_url: str):
    from trimtab.server.storage.db import make_engine, session_factory
    options = WORKER_PG if database_url.startswith("postgresql") else {}
    return session_factory(make_engine(database_url, **options))


@lru_cache(maxsize=8)
def _channels(channels_path: str, database_url: str | None = None):
    """The deployment's channels and, with a database to link instances in, the platforms'
    approval channels (their settings from the environment, as `trimtab serve` reads them)."""
    import os

    from trimtab.server.config import approval_platforms_from_env
    from trimtab.server.jobs.channels import load_channels
    from trimtab.server.jobs.platform_channels import platform_channels
    channels = load_channels(channels_path)[0]
    if database_url is not None:
        channels.update(platform_channels(approval_platforms_from_env(os.environ), _sessions(database_url)))
    return channels


_RULESETS: dict = {}       # (rules path, revision) -> (file signature, rule set)


def _ruleset(rules_path: str, rules_rev: str | None = None, sessions=None):
    """The rule set the web servers serve: the revision recorded as active in the database
    (server/domain/rulesets.py), else the configured one.  A commit is loaded once; the files on disk
    again only when one of them changed (the sweeper asks every few seconds; parsing and
    compiling each time would be waste)."""
    from trimtab.server.domain.rulesets import load_for, read
    from trimtab.dsl.versions import WORKTREE
    rev = rules_rev or WORKTREE
    seen = read(sessions) if sessions is not None else None
    if seen is not None:
        rev = seen.rev
    signature = _signature(rules_path) if rev == WORKTREE else rev
    cached = _RULESETS.get((rules_path, rev))
    if cached is None or cached[0] != signature:
        if len(_RULESETS) > 8:
            _RULESETS.clear()
        cached = _RULESETS[(rules_path, rev)] = (signature, load_for(
            {"RULES_PATH": rules_path, "SCHEMAS_PATH": None, "RULES_REV": None}, rev))
    return cached[1]


def _signature(rules_path: str) -> tuple:
    from pathlib import Path

    from trimtab.dsl.ruleset import default_schemas_dir
    files = sorted(Path(rules_path).rglob("*.rules")) + \
        sorted(default_schemas_dir(rules_path).glob("*.json"))
    return tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in files)


def one_line_on_failure(job):
    """A job that fails logs one WARNING line, not RQ's traceback: every job is safe to run
    again, and the sweeper runs the same work at its next pass (a lock wait cut short, a
    backend terminated under it, a moment without the database)."""
    import functools

    @functools.wraps(job)
    def run(*args, **kwargs):
        try:
            return job(*args, **kwargs)
        except Exception as err:                # said in one line, retried later
            first = str(err).splitlines()[0][:200] if str(err) else ""
            log.warning("%s failed: %s: %s; the next sweep runs it again", job.__name__,
                        err.__class__.__name__, first)
            return None
    return run


@one_line_on_failure
def dispatch_job() -> dict:
    """Deliver the notifications that are due (an RQ job)."""
    from trimtab.server.jobs.outbox import dispatch_due
    cfg = settings()
    return dispatch_due(_sessions(cfg.database_url), _channels(cfg.channels_path, cfg.database_url),
                        lang=cfg.lang)


@lru_cache(maxsize=4)
def _queue(redis_url: str):
    """One queue (and connection pool) per Redis URL and process, not one per webhook."""
    from redis import Redis
    from rq import Queue
    return Queue(QUEUE, connection=Redis.from_url(redis_url, socket_timeout=2,
                                                  socket_connect_timeout=2))


def enqueue_dispatch(redis_url: str) -> bool:
    """Ask a worker to deliver now.  If Redis is down the webhook still answers: the messages
    wait in the outbox and the worker's sweeper sends them when it can."""
    try:
        _queue(redis_url).enqueue(dispatch_job, job_timeout=120)
        return True
    except Exception as err:                  # redis.exceptions.* and socket errors alike
        log.warning("could not enqueue delivery (%s); the outbox keeps the messages",
                    err.__class__.__name__)
        return False


@one_line_on_failure
def schedules_job(chain: bool = False) -> list:
    """Run the rule set's schedules that are due (reports and reminders into the outbox); with
    `chain`, put the next run on RQ's scheduler at the time the next schedule fires."""
    from zoneinfo import ZoneInfo

    from trimtab.server.jobs.channels import load_channels
    from trimtab.server.jobs.schedules import next_due, run_due
    cfg = settings()
    if not cfg.rules_path:
        return []
    channels, routes = load_channels(cfg.channels_path)
    sessions = _sessions(cfg.database_url)
    ruleset = _ruleset(cfg.rules_path, cfg.rules_rev, sessions)
    tz = ZoneInfo(cfg.timezone)
    ran = run_due(sessions, ruleset, tz, routes, lang=cfg.lang, channels=channels,
                  base_url=_public_url())
    if chain and cfg.redis_url:
        schedule_next(cfg.redis_url, next_due(sessions, ruleset, tz))
    return ran


def schedule_next(redis_url: str, at):
    """One scheduled run per fire time, however many workers ask: the job id is the time."""
    import datetime as dt
    if at is None:
        return None
    when = at.replace(tzinfo=dt.timezone.utc)
    return _queue(redis_url).enqueue_at(when, schedules_job, True,
                                        job_id=f"trimtab-schedules-{int(when.timestamp())}",
                                        job_timeout=300)


@lru_cache(maxsize=1)
def _public_url() -> str:
    """The server as people reach it (links in silence alerts), as `trimtab serve` reads it."""
    import os

    from trimtab.server.config import public_url
    return public_url({"PUBLIC_URL": os.environ.get("TRIMTAB_PUBLIC_URL"),
                       "OAUTH_REDIRECT_BASE": os.environ.get("TRIMTAB_OAUTH_REDIRECT_BASE"),
                       "HOST": os.environ.get("TRIMTAB_HOST") or "127.0.0.1",
                       "PORT": os.environ.get("TRIMTAB_PORT") or "8000"})


class Backoff:
    """A pause that doubles after each failure (up to `most`) and starts over on success."""

    def __init__(self, first: float, most: float = 60.0):
        self.first, self.most, self.pause = first, most, first

    def failed(self) -> float:
        self.pause = min(max(self.pause * 2, 1.0), self.most)
        return self.pause

    def ok(self) -> None:
        self.pause = self.first


def _scheduler(redis_url: str, stop: threading.Event) -> None:
    """RQ's scheduler (moves jobs whose time has come from the scheduled registry to the
    queue), in a thread of the worker rather than RQ's own child process: a worker that is
    killed takes its scheduler with it, and another worker's takes the lock over."""
    from redis import Redis
    from rq.scheduler import RQScheduler
    scheduler = RQScheduler([QUEUE], connection=Redis.from_url(
        redis_url, socket_timeout=5, socket_connect_timeout=2))
    wait = Backoff(1.0)
    while not stop.wait(wait.pause):
        try:
            scheduler.acquire_locks()           # take or refresh the queue's scheduler lock
            scheduler.enqueue_scheduled_jobs()
            wait.ok()
        except Exception as err:                # Redis away: the sweeper covers meanwhile
            log.warning("scheduler: %s; again in %.0f s", err.__class__.__name__, wait.failed())
    try:
        scheduler.release_locks()
    except Exception:
        pass


def _sweeper(stop: threading.Event, sweep_s: float) -> None:
    """Every `sweep_s`: run the schedules that are due, deliver what waits in the outbox."""
    wait = Backoff(sweep_s)
    while not stop.wait(wait.pause):
        failed = []
        # What waits first, then schedules; each on its own, so that one failing (the database
        # away, a bad moment, a schedule in trouble) never stops the other.
        for what, job in (("outbox sweep", dispatch_job), ("schedules", schedules_job)):
            try:
                getattr(job, "__wrapped__", job)()      # its body: a failure is said below
            except Exception as err:
                failed.append((what, err))
        if not failed:
            wait.ok()
            continue
        pause = wait.failed()
        for what, err in failed:
            log.warning("%s: %s: %s; again in %.0f s", what, err.__class__.__name__,
                        str(err).splitlines()[0][:200] if str(err) else "", pause)


def _warm_up(cfg: WorkerSettings) -> None:
    """Before any thread starts or job forks, import and open what a sweep uses: a fork while
    the sweeper thread holds an import lock leaves the job process waiting on it for ever.
    The rule set parsed here is inherited by every job process.  Nothing is sent."""
    import encodings.idna  # noqa: F401  (requests encodes host names with it, lazily)

    import requests  # noqa: F401
    from sqlalchemy import text

    from trimtab.server.jobs import claims, outbox, schedules  # noqa: F401
    from trimtab.server.storage.models import utcnow
    try:
        _channels(cfg.channels_path, cfg.database_url)
        sessions = _sessions(cfg.database_url)
        with sessions() as s:
            s.execute(text("SELECT 1"))
        if cfg.rules_path:
            _ruleset(cfg.rules_path, cfg.rules_rev, sessions)
        claims.due_channels(sessions, utcnow())
    except Exception as err:
        # The class, and the message when it is ours to say (an old PostgreSQL names its version).
        said = f": {err}" if isinstance(err, UnsupportedDatabase) else ""
        log.warning("worker start: %s%s; the sweeper goes on trying", err.__class__.__name__, said)


def run_worker(redis_url: str, database_url: str, channels_path: str, sweep_s: float = 5.0,
               burst: bool = False, rules_path: str | None = None, timezone: str = "Asia/Shanghai",
               lang: str = "zh", rules_rev: str | None = None) -> None:
    """An RQ worker on the trimtab queue with RQ's scheduler, which runs the rule set's
    schedules at their times (each run schedules the next), plus a sweeper that delivers what
    was queued while Redis or every worker was down and runs any schedule a scheduled run
    missed (once per interval, not once per missed tick)."""
    from redis import Redis
    from redis.exceptions import ConnectionError as RedisConnectionError
    Worker = outage_worker_class()
    stop = threading.Event()
    cfg = WorkerSettings(database_url, channels_path, rules_path, timezone, lang, redis_url,
                         rules_rev)
    configure(cfg)
    _warm_up(cfg)
    if not burst:
        threading.Thread(target=_sweeper, name="trimtab-sweeper", daemon=True,
                         args=(stop, sweep_s)).start()
        threading.Thread(target=_scheduler, args=(redis_url, stop), name="trimtab-rq-scheduler",
                         daemon=True).start()
    if rules_path and not burst:
        try:            # start the chain of scheduled runs: one now, which schedules the next
            _queue(redis_url).enqueue(schedules_job, True, job_timeout=300)
        except Exception as err:                # Redis down: the sweeper runs schedules meanwhile
            log.warning("could not start the schedule chain (%s)", err.__class__.__name__)
    try:
        delay = 1.0
        while True:
            try:
                Worker([QUEUE], connection=Redis.from_url(redis_url)).work(burst=burst)
                return                      # a burst finished, or a warm shutdown
            except RedisConnectionError as err:
                if burst:
                    raise
                # Redis is down (RQ itself rides out an outage once it is listening, not one
                # at start or at teardown): the sweeper keeps delivering from the outbox
                # meanwhile; try again with a growing pause.
                log.warning("Redis at %s unreachable (%s); retrying in %.0f s", redis_url, err, delay)
                time.sleep(delay)
                delay = min(delay * 2, 30.0)
    finally:
        stop.set()
