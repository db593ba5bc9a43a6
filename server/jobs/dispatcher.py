"""In-process delivery for `trimtab serve` without Redis: a daemon thread that, every few
seconds, follows the active rule set, runs the schedules that are due and sends what waits in
the outbox.  (With Redis, `trimtab worker` does the same: server/jobs/worker.py.)"""
from __future__ import annotations

import logging
import threading

from trimtab.server.config import public_url
from trimtab.server.jobs.outbox import dispatch_due
from trimtab.server.jobs.schedules import run_due

log = logging.getLogger("trimtab.outbox")


def start_dispatcher(app, interval_s: float = 2.0) -> threading.Event:
    """Start the thread; set the returned event to stop it."""
    stop = threading.Event()
    ext, cfg = app.extensions, app.config

    def loop():
        while not stop.wait(interval_s):
            # Each step in a try of its own: a schedule that fails never stops delivery.
            try:
                ext["trimtab.rules_follower"].check()          # the active rule set
                run_due(ext["trimtab.sessions"], ext["trimtab.rules"].current, cfg["TZ"],
                        ext["trimtab.routes"], lang=cfg["LANG"], channels=ext["trimtab.channels"],
                        base_url=public_url(cfg))
            except Exception:
                log.exception("schedules")
            try:
                dispatch_due(ext["trimtab.sessions"], ext["trimtab.channels"], lang=cfg["LANG"])
            except Exception:                       # keep delivering after a bad moment
                log.exception("outbox dispatcher")
    threading.Thread(target=loop, name="trimtab-outbox", daemon=True).start()
    return stop
