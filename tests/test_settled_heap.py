"""A served process freezes what its app holds for life, so Python's full collections do not
walk it while requests wait (server/app.py settle_heap).

Measured before (tests/bench/bench_server.py, 2026-11-29): each gunicorn worker's full
collection walked about 190,000 objects — the modules, the compiled rules, the grammar —
for 90-100 ms of CPU, and the first round's p99 at 200 requests/s was 72 ms for it."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conftest import ROOT
from serverkit import ADMIN, CLIENT, SECRET

PROBE = """
import gc, json
import trimtab.server.wsgi
print(json.dumps({"frozen": gc.get_freeze_count(), "walked": len(gc.get_objects())}))
"""


@pytest.mark.parametrize("db_kind", ["sqlite"])
def test_the_wsgi_app_s_objects_are_frozen_once_it_is_built(database, tmp_path):
    env = {**os.environ, "DATABASE_URL": database, "TRIMTAB_RULES": str(ROOT / "rules"),
           "TRIMTAB_CLIENTS": f"{CLIENT}:{SECRET}", "TRIMTAB_ADMIN_TOKEN": ADMIN}
    run = subprocess.run([sys.executable, "-c", PROBE], env=env, cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    heap = json.loads(run.stdout.strip().splitlines()[-1])
    # What a full collection still walks: the few objects made after the freeze.
    assert heap["frozen"] > 50_000, heap
    assert heap["walked"] < heap["frozen"] // 20, heap
