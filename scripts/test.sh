#!/usr/bin/env bash
# Set up a virtualenv (if needed) and run every test.  Usage: bash scripts/test.sh [pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/venv.sh
ensure_venv test

# Services: later suites (server, jobs) use the machine's PostgreSQL and Redis for real.
# Start them when they are installed but not running; a missing one fails those suites.
if command -v pg_ctlcluster >/dev/null 2>&1 && ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
fi
if command -v redis-server >/dev/null 2>&1 && ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
        --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
fi

# The workbench's browser tests drive Debian's chromium (playwright cannot download its own
# browser here); CJK fonts so the Chinese pages render.  Missing, those tests fail.
if [ "$(id -u)" = 0 ] && { [ ! -x /usr/bin/chromium ] || [ ! -d /usr/share/fonts/opentype/noto ]; }; then
    apt-get install -y chromium fonts-noto-cjk >/dev/null || \
        { apt-get update >/dev/null && apt-get install -y chromium fonts-noto-cjk >/dev/null; } || true
fi

# pytest's "collected nothing" (exit 5) is a failure here: a suite that runs no test proves nothing.
run_pytest() {
    set +e
    .venv/bin/python -m pytest "$@"
    local status=$?
    set -e
    if [ "$status" -eq 5 ]; then
        echo "pytest collected no tests: failing on purpose" >&2
        return 1
    fi
    return "$status"
}

if [ "$#" -gt 0 ]; then          # a chosen part of the suite: as asked, in one process
    run_pytest --durations=20 "$@"
    exit $?
fi

# Every test, in two passes, so the suite keeps under its 15 minutes on a 2-core machine:
# first all but the `serial` ones on both cores (pytest-xdist; every test has its own database,
# ports and Redis server or database), then the `serial` ones alone, since they assert wall-clock
# latency that a neighbour on the other core would skew.  The slowest of each are listed.
# `--dist worksteal`: a core that runs out of tests takes half of what the other still has
# queued (by default each keeps what it was sent, and one core idled for the last 2 minutes).
both=0
run_pytest -n 2 --dist worksteal --durations=20 -m "not serial" || both=$?
alone=0
run_pytest --durations=10 -m serial || alone=$?
echo "tests on both cores: exit $both; serial tests alone: exit $alone"
[ "$both" -eq 0 ] && [ "$alone" -eq 0 ]
