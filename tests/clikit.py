"""The `trimtab` command as a user runs it: a fresh process with a plain environment."""
from __future__ import annotations

import subprocess
import sys

from conftest import ROOT


def trimtab(*args, cwd=ROOT, stdin=None, env=None):
    """`trimtab ARGS` run from `cwd`, with `env` added to the plain environment: the
    CompletedProcess (text stdout and stderr)."""
    return subprocess.run([sys.executable, "-m", "trimtab.server.cli.main", *args], cwd=cwd, input=stdin,
                          capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONPATH": str(ROOT),
                               **(env or {})})
