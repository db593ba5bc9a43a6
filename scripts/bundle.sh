#!/usr/bin/env bash
# Rebuild the workbench's editor bundle (server/web/static/editor.js) and the vendored htmx from
# scripts/workbench/ (npm ci, then esbuild).  The bundle's first line records the hash of its
# sources (scripts/workbench/hash_sources.py); a test fails when it is stale.  Needs Node 18+;
# running the server does not.
set -euo pipefail
cd "$(dirname "$0")/workbench"
npm ci --no-audit --no-fund --ignore-scripts >/dev/null
HASH=$(python3 hash_sources.py)
STATIC=../../server/web/static
node node_modules/esbuild/bin/esbuild editor.js --bundle --minify --format=iife --target=es2020 \
    --legal-comments=none --banner:js="/* trimtab-workbench-sources: $HASH */" --outfile="$STATIC/editor.js"
cp node_modules/htmx.org/dist/htmx.min.js "$STATIC/htmx.min.js"
ls -l "$STATIC/editor.js" "$STATIC/htmx.min.js"
