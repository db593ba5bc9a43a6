"""What a regular install carries: every file of dsl/ and server/ that git tracks, under
trimtab/dsl and trimtab/server.

The other tests run on an editable install, which maps the two folders whole, so a package
left out of pyproject.toml's list shows only in a built distribution — trimtab.server.core was
left out once, and a server installed from a wheel could not import its own errors.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def tracked(folder: str) -> set[str]:
    out = subprocess.run(["git", "ls-files", folder], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout.split()
    # The catalogs' sources: their compiled .mo files are what is shipped (and tracked).
    return {str(Path(p).relative_to(folder)) for p in out if not p.endswith(".po")}


def test_a_build_carries_every_tracked_file_of_both_folders(tmp_path):
    subprocess.run([sys.executable, "setup.py", "-q", "build_py", "--build-lib", str(tmp_path)],
                   cwd=ROOT, check=True, capture_output=True)
    for folder in ("dsl", "server"):
        built = tmp_path / "trimtab" / folder
        got = {str(p.relative_to(built)) for p in built.rglob("*") if p.is_file()}
        missing = sorted(tracked(folder) - got)
        assert not missing, f"not in a built trimtab/{folder}: {missing[:20]}"
