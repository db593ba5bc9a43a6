#!/usr/bin/env bash
# Build the VS Code extension (scripts/vscode/) into a .vsix.
#   bash scripts/vsix.sh [--out PATH] [--offline]
# Needs Node 20 and npm. `npm ci` installs the locked packages (package-lock.json) from the
# npm registry, or from npm's cache (~/.npm) without any network with --offline once an
# earlier build has filled it; vsce then packages without the network. Install scripts are
# not run (--ignore-scripts): nothing is downloaded or compiled beyond the registry's tarballs.
set -euo pipefail
cd "$(dirname "$0")/.."
out="$PWD/var/trimtab.vsix"
offline=()
while [ $# -gt 0 ]; do
    case "$1" in
        --out) out="$(realpath -m "$2")"; shift 2 ;;
        --offline) offline=(--offline); shift ;;
        *) echo "usage: bash scripts/vsix.sh [--out PATH] [--offline]" >&2; exit 2 ;;
    esac
done
# The grammar is generated from dsl/keywords.py; a stale one is refused, not packaged.
if [ -x .venv/bin/python ]; then
    .venv/bin/python -m trimtab.dsl.editor.textmate --check
fi
mkdir -p "$(dirname "$out")"
cd scripts/vscode
npm ci --ignore-scripts --no-audit --no-fund --loglevel=error "${offline[@]}"
node_modules/.bin/vsce package --skip-license --allow-missing-repository --out "$out"
