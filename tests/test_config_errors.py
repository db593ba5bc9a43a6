"""A setting in the environment the server cannot start with is said in one line that names it
— by `trimtab serve` (exit 2) and by the WSGI entry gunicorn imports (exit 1) — not a
traceback, and nothing starts."""
from __future__ import annotations

import subprocess
import sys

import pytest

from clikit import trimtab
from conftest import ROOT

WRONG = [("TRIMTAB_PORT", "abc", "a port number from 1 to 65535"),
         ("TRIMTAB_HISTORY_CACHE_ENTRIES", "lots", "a whole number from 1 to 10000000"),
         ("TRIMTAB_SIGNATURE_V1_UNTIL", "2027-02-30", "is not a date"),
         ("TRIMTAB_CLIENTS", "nosecret", "entries are name:secret"),
         ("TRIMTAB_FEISHU_CLIENT_ID", "cli_abc", "go together")]


@pytest.mark.parametrize("name, value, said", WRONG, ids=[w[0] for w in WRONG])
def test_serve_names_the_setting_and_stops(tmp_path, name, value, said):
    r = trimtab("serve", str(ROOT / "rules"), cwd=tmp_path,
                env={name: value, "DATABASE_URL": f"sqlite:///{tmp_path}/t.db"})
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr and r.stderr.count("\n") == 1, r.stderr
    assert r.stderr.startswith("trimtab: ") and name in r.stderr and said in r.stderr, r.stderr
    assert not (tmp_path / "t.db").exists()                # nothing started, nothing made


def test_the_wsgi_entry_names_the_setting_and_stops(tmp_path):
    r = subprocess.run([sys.executable, "-c", "import trimtab.server.wsgi"], cwd=tmp_path,
                       capture_output=True, text=True, timeout=60,
                       env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONPATH": str(ROOT),
                            "TRIMTAB_RULES": str(ROOT / "rules"), "TRIMTAB_HISTORY_CACHE_ENTRIES": "0",
                            "DATABASE_URL": f"sqlite:///{tmp_path}/t.db"})
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    assert r.stderr.strip() == ("trimtab: TRIMTAB_HISTORY_CACHE_ENTRIES is a whole number from 1 to "
                                "10000000, got `0`")
