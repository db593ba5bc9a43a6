"""gunicorn settings for trimtab:  gunicorn -c python:trimtab.server.gunicorn_conf -w 4 trimtab.server.wsgi:app

Workers are threaded (gthread, 8 threads each) unless the command line says otherwise.

Every worker is a process of its own.  For `/metrics` to show the whole deployment whichever
worker answers, prometheus_client's multiprocess mode needs a directory shared by the workers
and named before any of them starts: PROMETHEUS_MULTIPROC_DIR, `var/metrics` (beside the
deployment's other state) unless set.  The master empties it when it starts and tells
prometheus_client when a worker has died.  Other gunicorn settings come on the command line.
"""
import os

# Threaded workers, so a health probe or a small webhook never queues behind a worker busy with
# a large request (server/core/gate.py keeps those from crowding the GIL).  `-k sync` still works.
worker_class = "gthread"
threads = 8

# Each worker's heartbeat touches a file in this directory (os.utime in gunicorn 27, fchmod
# before) on every turn of its main loop, the one that accepts connections.  gunicorn's own
# note on worker_tmp_dir: on a disk-backed filesystem that call may block the worker for an
# arbitrary time, e.g. behind the journal's commit, and every worker's at once.  Memory-backed
# /dev/shm where there is one.
if os.path.isdir("/dev/shm"):
    worker_tmp_dir = "/dev/shm"

os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", os.path.abspath(os.path.join("var", "metrics")))


def on_starting(server):
    from trimtab.server.web.metrics import clean
    clean(os.environ["PROMETHEUS_MULTIPROC_DIR"])


def child_exit(server, worker):
    from prometheus_client import multiprocess
    multiprocess.mark_process_dead(worker.pid)


def post_fork(server, worker):
    from trimtab.server.core.access_log import configure, configure_events
    configure_events()              # sign-ins, rule-set swaps, warnings: gunicorn's error log
    if os.environ.get("TRIMTAB_ACCESS_LOG", "1") != "0":
        configure()                 # JSON lines on the worker's stderr, gunicorn's error log
    from trimtab.server.core.gate import share_the_gil_often
    share_the_gil_often()
