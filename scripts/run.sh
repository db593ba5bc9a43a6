#!/usr/bin/env bash
# Set up a virtualenv (if needed) and run the main job: check the shipped rules and evaluate
# the demo facts in rules/demo/.  (The server issue turns this into `trimtab serve`.)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/venv.sh
ensure_venv
exec .venv/bin/trimtab demo rules "$@"
