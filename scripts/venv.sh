# Sourced by the scripts here: create .venv/ on first use and install the project into it.
# Usage: ensure_venv [EXTRAS]   e.g. ensure_venv test,bench
ensure_venv() {
    local py="${PYTHON:-python3}" spec="." stamp
    [ -n "${1:-}" ] && spec=".[$1]"
    if [ ! -x .venv/bin/python ]; then
        "$py" -m venv .venv
    fi
    # pip's install of an unchanged project takes about 10 s, and every script here asks for
    # one (.ci/run twice).  The install is editable, so the code is read from the checkout:
    # only the metadata and the C helper's sources call for another.  Skipped when this spec
    # was installed from these very files; `rm .venv/.trimtab-installed` forces one.
    stamp="$spec $(cat pyproject.toml setup.py dsl/_splitcore.c dsl/_splitdec.h | sha256sum | cut -d' ' -f1)"
    if [ -f .venv/.trimtab-installed ] && grep -qxF -- "$stamp" .venv/.trimtab-installed; then
        return 0
    fi
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -e "$spec" &&
        echo "$stamp" >> .venv/.trimtab-installed
}
