"""Large requests take turns for their CPU-bound work, one at a time in each process.

Under threaded workers (gunicorn gthread) every thread of a process shares one GIL.  When
several requests each spend hundreds of milliseconds decoding and checking a body near the
size limit, a probe or a small webhook arriving beside them waits for the GIL behind each of
them in turn.  Letting only one large request at a time run its CPU-bound stretch costs the
process no throughput (the GIL ran one of them at a time anyway) and leaves every other thread
only one holder to wait for.  Small requests never queue here.
"""
from __future__ import annotations

import os
import sys
import threading
from contextlib import nullcontext

LARGE_BYTES = 64 * 1024       # bodies above this are "large"

# A thread waiting for the GIL asks the running one to let go after this long (CPython's
# default is 5 ms).  A threaded server sets it on start, so a probe waits at most this long
# for each turn at the GIL beside a busy thread (TRIMTAB_SWITCH_INTERVAL, seconds).
SWITCH_INTERVAL = float(os.environ.get("TRIMTAB_SWITCH_INTERVAL", "0.0005"))

_turn = threading.RLock()     # re-entrant: decoding and evaluating one request nest


def turn(size: int):
    """The context in which a body of `size` bytes does its CPU-bound work."""
    return _turn if size > LARGE_BYTES else nullcontext()


def share_the_gil_often() -> None:
    """Called by each threaded server process when it starts (gunicorn's post_fork, serve)."""
    sys.setswitchinterval(SWITCH_INTERVAL)
