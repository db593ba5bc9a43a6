#!/usr/bin/env bash
# Set up a virtualenv (if needed) and run the main job: serve the shipped rules on
# http://127.0.0.1:8000 with SQLite under ./var (no other service needed).
# Arguments go to `trimtab serve` (e.g. --port 9000).  `trimtab demo` evaluates the demo facts.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/venv.sh
ensure_venv
exec .venv/bin/trimtab serve rules "$@"
