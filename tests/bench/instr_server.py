#!/usr/bin/env python3
"""Instructions a gunicorn worker spends per webhook, trimtab beside the bare insert endpoint,
counted by callgrind: the load-independent side of tests/bench/bench_server.py.

On this 2-core machine the server bench's wall-clock figures move by ±10 points with the
host's load; instruction counts do not.  Both servers get the same signed weekly_metrics
webhooks as bench_server.py (a team of 100 reps, week by week) on PostgreSQL: the database is
filled up to `--weeks` of history in process (not counted), then each server runs as one
gunicorn sync worker under callgrind; after `--warm` webhooks its counters are zeroed, `-n`
webhooks are sent one after another, and the worker's instructions are dumped.  The clients
and PostgreSQL are not counted (bench_server.py reports PostgreSQL's CPU).

    python tests/bench/instr_server.py [--weeks 60] [-n 200] [--warm 100] [--tree DIR]
                                       [--gunicorn shipped|sync]

`--gunicorn shipped` runs each worker with the settings bench_server.py gives it as trimtab
ships (gthread, trimtab's settings module: the access log, metrics in their directory); the
default `sync` counts the bare application under gunicorn's defaults, as before.

`--tree DIR` serves another checkout's trimtab (e.g. a worktree of the commit before a change):
its dsl/ and server/ through a `trimtab` package of links ahead on the workers' PYTHONPATH.
"""
from __future__ import annotations

import argparse
import glob
import http.client
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from webhook_load import GUNICORN, REPS, TEAM, free_port, make_requests, send  # noqa: E402
from serverkit import ADMIN, CLIENT, SECRET, fresh_database, load_org, make_app  # noqa: E402


def fill(url: str, weeks: int) -> None:
    """The team's first `weeks` weeks, through the app in this process."""
    app = make_app(url)
    try:
        load_org(app, TEAM)
        client = app.test_client()
        for body, headers in make_requests(weeks * REPS, 0):
            r = client.post("/hooks/weekly_metrics", data=body, headers=headers)
            assert r.status_code == 200, r.get_data(as_text=True)
    finally:
        app.extensions["trimtab.engine"].dispose()


def worker_instructions(app_spec: str, env: dict, batches, out: Path, settings=()) -> int:
    """Start `app_spec` as one gunicorn worker under callgrind (gunicorn `settings` first on
    its command line), send the first batch, zero the worker's counters, send the second → the
    instructions it spent on the second."""
    port = free_port()
    bindir = Path(sys.executable).parent
    proc = subprocess.Popen(
        ["valgrind", "--tool=callgrind", "--trace-children=yes", f"--callgrind-out-file={out}/cg.%p",
         sys.executable, str(bindir / "gunicorn"), *settings, "-w", "1", "--timeout", "900",
         "-b", f"127.0.0.1:{port}", app_spec],
        env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 900       # loading the rules under callgrind: a minute
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
                conn.request("GET", "/healthz")
                conn.getresponse().read()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError(f"{app_spec} did not start under callgrind") from None
                time.sleep(1)
        warm, measured = batches
        for body, headers in warm:
            assert send(port, body, headers)[0] == 200
        worker = _worker_pid(proc.pid)
        subprocess.run(["callgrind_control", "-z", str(worker)], check=True, capture_output=True)
        for body, headers in measured:
            assert send(port, body, headers)[0] == 200
        subprocess.run(["callgrind_control", "-d", str(worker)], check=True, capture_output=True)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(120)
    dumps = sorted(glob.glob(f"{out}/cg.{worker}.*"))
    text = Path(dumps[-1]).read_text()
    return int(re.search(r"^(?:summary|totals): (\d+)", text, re.M).group(1))


def _worker_pid(master: int) -> int:
    """gunicorn's worker: the master's child (under valgrind the master is `proc` itself)."""
    for _ in range(100):
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        if children:
            return int(children[0])
        time.sleep(0.1)
    raise RuntimeError("no gunicorn worker")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--weeks", type=int, default=60, help="history filled before counting (60)")
    ap.add_argument("-n", type=int, default=200, help="webhooks counted per server (200)")
    ap.add_argument("--warm", type=int, default=100, help="webhooks before counting (100)")
    ap.add_argument("--tree", help="serve this checkout's trimtab instead of this one's")
    ap.add_argument("--gunicorn", choices=sorted(GUNICORN), default="sync",
                    help="sync: gunicorn's defaults; shipped: as bench_server.py runs them")
    args = ap.parse_args(argv)
    tmp = Path(tempfile.mkdtemp())
    path = f"{ROOT}:{HERE}"
    if args.tree:
        pkg = tmp / "pkg" / "trimtab"
        pkg.mkdir(parents=True)
        (pkg / "__init__.py").write_text("")
        for part in ("dsl", "server"):
            (pkg / part).symlink_to(Path(args.tree).resolve() / part)
        path = f"{pkg.parent}:{path}"
    url, drop = fresh_database("postgresql", tmp)
    env = {**os.environ, "DATABASE_URL": url, "TRIMTAB_RULES": str(ROOT / "rules"),
           "TRIMTAB_CLIENTS": f"{CLIENT}:{SECRET}", "TRIMTAB_ADMIN_TOKEN": ADMIN,
           "TRIMTAB_RULES_CHECK_S": "5",      # under callgrind, checks would come every request
           "PYTHONPATH": path, "PYTHONHASHSEED": "0"}
    if args.gunicorn == "shipped":          # as gunicorn_conf would name it, in the run's own place
        env["PROMETHEUS_MULTIPROC_DIR"] = str(tmp / "metrics")
    env.pop("TRIMTAB_CHECK_RESPONSES", None)    # a test harness's check, off in deployments
    try:
        subprocess.run([str(Path(sys.executable).parent / "trimtab"), "migrate"], env=env, cwd=tmp,
                       check=True, capture_output=True)
        fill(url, args.weeks)
        import psycopg
        with psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as c:
            c.execute("CREATE TABLE raw_bodies (id SERIAL PRIMARY KEY, body TEXT NOT NULL)")
        start = args.weeks * REPS
        got = {}
        for name, spec in (("trimtab", "trimtab.server.wsgi:app"), ("bare", "bare_app:app")):
            out = tmp / name
            out.mkdir()
            # each server its own, later webhooks: trimtab stores what it is sent
            batches = (make_requests(args.warm, start), make_requests(args.n, start + args.warm))
            start += args.warm + args.n
            got[name] = worker_instructions(spec, env, batches, out, GUNICORN[args.gunicorn][spec]) / args.n
    finally:
        drop()
    worker = "sync" if args.gunicorn == "sync" else "gthread (as shipped)"
    print(f"one gunicorn {worker} worker under callgrind, PostgreSQL, weeks {args.weeks}+ of history; "
          f"{args.n} webhooks counted after {args.warm}"
          + (f"; trimtab from {args.tree}" if args.tree else ""))
    print(f"  trimtab {got['trimtab']:12,.0f} instructions per webhook")
    print(f"  bare    {got['bare']:12,.0f} instructions per webhook")
    print(f"  trimtab ÷ bare {got['trimtab'] / got['bare']:.2f}×")
    return 0


if __name__ == "__main__":
    sys.exit(main())
