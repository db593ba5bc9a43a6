"""The RQ worker `trimtab worker` runs: RQ's own, riding out a Redis outage that begins while
a job runs or just as the worker beats (server/jobs/worker.py `run_worker` uses it)."""
from __future__ import annotations

import logging
import time

log = logging.getLogger("trimtab.jobs")

REDIS_DOWN_WAIT_S = 10.0        # the longest pause between pings while Redis is away


def outage_worker_class():
    """RQ's Worker, riding out a Redis outage that begins while a job runs (RQ rides out one
    that begins while it waits for work, but not this one)."""
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError
    from rq import Worker
    from rq.worker import WorkerStatus
    down = (RedisConnectionError, RedisTimeoutError)

    class OutageWorker(Worker):
        """Left to RQ, Redis going away mid-job kills the worker's loop with a traceback:
        the job process cannot record its outcome and exits 1, then the worker's read of the
        job's status raises out of `work()`, as does a heartbeat just after a job is taken
        (CI, 2026-12-01).  Here the job process logs one WARNING and
        exits; the worker skips heartbeats, logs one WARNING, waits for the job process and
        then for Redis, and listens again.  Nothing is lost: a dispatch run's messages are
        claimed in the outbox (what it did not send, the sweeper sends), and no job's
        outcome in Redis matters to trimtab (every job is safe to run again)."""

        def perform_job(self, job, queue, execution):          # in the job process
            try:
                return super().perform_job(job, queue, execution)
            except down as err:
                log.warning("job %s ran; its outcome is not recorded (Redis: %s)", job.id,
                            err.__class__.__name__)
                return False

        def maintain_heartbeats(self, job, execution):         # in the worker, mid-job
            try:
                super().maintain_heartbeats(job, execution)
            except down as err:
                self._lost(err, f"job {job.id} goes on")

        def heartbeat(self, *args, **kwargs):
            # RQ beats after taking a job and after running one, outside its own outage
            # handling: Redis gone at that moment ended RQ's loop, and with it the worker.
            # A beat is let go; the next step that needs Redis waits for it.
            try:
                super().heartbeat(*args, **kwargs)
            except down as err:
                self._lost(err, "its heartbeat waits")

        def execute_job(self, job, queue):
            self._redis_lost = False
            try:
                super().execute_job(job, queue)
            except down as err:
                self._lost(err, f"job {job.id} ended unrecorded")
                if self._horse_pid:
                    self.wait_for_horse()
                    self._horse_pid = 0
            if self._redis_lost:
                self._wait_for_redis(down)

        def _lost(self, err, what: str) -> None:
            if not getattr(self, "_redis_lost", False):
                log.warning("Redis unreachable (%s); %s, the sweeper keeps delivering",
                            err.__class__.__name__, what)
            self._redis_lost = True

        def _wait_for_redis(self, errors) -> None:
            pause = 1.0
            while not self._stop_requested:
                try:
                    self.connection.ping()
                    self.set_state(WorkerStatus.IDLE)
                    log.warning("Redis is back: worker %s listens again", self.name)
                    return
                except errors:
                    time.sleep(pause)
                    pause = min(pause * 2, REDIS_DOWN_WAIT_S)

    return OutageWorker
