"""Production serving: `trimtab migrate`, then gunicorn workers answering signed webhooks."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from conftest import ROOT
from gunicornkit import free_port
from serverkit import ADMIN, CLIENT, ORG, SECRET, Hooks, week
from trimtab.server.core.security import sign


@pytest.mark.slow
def test_gunicorn_serves_signed_webhooks(empty_database, tmp_path):
    env = {**os.environ, "DATABASE_URL": empty_database, "TRIMTAB_RULES": str(ROOT / "rules"),
           "TRIMTAB_CLIENTS": f"{CLIENT}:{SECRET}", "TRIMTAB_ADMIN_TOKEN": ADMIN,
           "PYTHONPATH": str(ROOT)}
    bindir = Path(sys.executable).parent
    migrate = subprocess.run([str(bindir / "trimtab"), "migrate"], env=env, cwd=tmp_path,
                             capture_output=True, text=True, timeout=60)
    assert migrate.returncode == 0, migrate.stderr
    port = free_port()
    proc = subprocess.Popen([str(bindir / "gunicorn"), "-w", "2", "-b", f"127.0.0.1:{port}",
                             "--timeout", "30", "trimtab.server.wsgi:app"], env=env, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60        # workers load the rules as they boot
        while True:
            try:
                if requests.get(base + "/healthz", timeout=10).ok:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                pytest.fail("gunicorn did not answer /healthz: "
                            + (proc.stdout.read().decode(errors="replace") if proc.poll() is not None else ""))
            time.sleep(0.2)
        r = requests.post(base + "/v1/org/people", json=ORG,
                          headers={"Authorization": f"Bearer {ADMIN}"}, timeout=10)
        assert r.status_code == 200
        body = json.dumps(week(1, 5, 0.9)).encode()
        headers = Hooks(None).headers(body)
        for _ in range(4):               # several requests: both workers answer the same
            r = requests.post(base + "/hooks/weekly_metrics", data=body, headers=headers, timeout=10)
            assert r.status_code == 200, r.text
        assert len(requests.get(base + "/v1/decisions?rule=健康度黄灯", timeout=10,
                                    headers={"Authorization": f"Bearer {ADMIN}"}).json()["items"]) == 1
        facts = tmp_path / "week2.json"
        facts.write_text(json.dumps(week(2, 5, 0.9)), encoding="utf-8")
        sent = subprocess.run([str(bindir / "trimtab"), "send", "--form", "weekly_metrics",
                               "--facts", str(facts), "--url", base, "--lang", "en"],
                              env=env, cwd=tmp_path, capture_output=True, text=True, timeout=30)
        assert sent.returncode == 0, sent.stderr
        assert "健康度黄灯" in sent.stdout and "ruleset_version" in sent.stdout
        stamp = str(int(time.time()))
        bad = dict(headers, **{"X-Trimtab-Timestamp": stamp,
                               "X-Trimtab-Signature": sign("wrong", stamp, body),
                               "X-Trimtab-Delivery": "other"})
        assert requests.post(base + "/hooks/weekly_metrics", data=body, headers=bad,
                             timeout=10).status_code == 401
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
