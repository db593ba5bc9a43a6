#!/usr/bin/env bash
# The message catalogs (docs/messages.md): extract the English texts from the code, merge them
# into each language's .po (new ones come in untranslated, changed ones fuzzy), compile the .mo.
# Usage: bash scripts/messages.sh            extract + update + compile
#        bash scripts/messages.sh compile    only compile (after editing a .po)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/venv.sh
ensure_venv test
PYBABEL=.venv/bin/pybabel
LOCALES="zh_CN"

# domain, extraction config (its sections name the keywords), locale dir
catalogs() {
    echo "trimtab_dsl scripts/babel-dsl.cfg dsl/locale"
    echo "trimtab_server scripts/babel-server.cfg server/locale"
}

POT=$(mktemp -d)
trap 'rm -rf "$POT"' EXIT

if [ "${1:-}" != "compile" ]; then
    catalogs | while read -r domain cfg dir; do
        "$PYBABEL" -q extract -F "$cfg" --no-default-keywords -k tr:2 --no-wrap --no-location --sort-by-file \
            --omit-header -o "$POT/$domain.pot" .
        for locale in $LOCALES; do
            if [ -f "$dir/$locale/LC_MESSAGES/$domain.po" ]; then
                "$PYBABEL" -q update --no-wrap --ignore-obsolete -D "$domain" -l "$locale" \
                    -i "$POT/$domain.pot" -d "$dir"
            else
                "$PYBABEL" -q init --no-wrap -D "$domain" -l "$locale" -i "$POT/$domain.pot" -d "$dir"
            fi
        done
    done
fi
# Fuzzy entries are not compiled (tests/test_catalogs.py refuses them): a translator confirms each.
for po in */locale/*/LC_MESSAGES/*.po; do
    .venv/bin/python -m trimtab.dsl.catalog_tools "$po"
done
