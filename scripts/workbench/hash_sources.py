"""The hash of the editor bundle's sources, recorded in the bundle's first line by
scripts/bundle.sh and compared by tests/test_workbench_pages.py (which needs no Node): a
change of a source or of a locked version makes the committed bundle stale."""
import hashlib
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCES = ("editor.js", "merge.js", "package.json", "package-lock.json")


def sources_hash(folder: Path = HERE) -> str:
    digest = hashlib.sha256()
    for name in SOURCES:
        digest.update(name.encode() + b"\0" + (folder / name).read_bytes().replace(b"\r\n", b"\n") + b"\0")
    return digest.hexdigest()


if __name__ == "__main__":
    sys.stdout.write(sources_hash())
