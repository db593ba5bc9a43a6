# Sourced by the scripts here: create .venv/ on first use and install the project into it.
# Usage: ensure_venv [EXTRAS]   e.g. ensure_venv test,bench
ensure_venv() {
    local py="${PYTHON:-python3}" spec="."
    [ -n "${1:-}" ] && spec=".[$1]"
    if [ ! -x .venv/bin/python ]; then
        "$py" -m venv .venv
    fi
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -e "$spec"
}
