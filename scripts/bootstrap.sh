#!/usr/bin/env bash
# Create .venv with Python >= 3.12 and install crisis_sim with the locked versions.
# Finds python3.12 on PATH, else under pyenv; downloads nothing but packages from the registries.
set -euo pipefail
cd "$(dirname "$0")/.."

find_python() {
    for cand in python3.12 python3.13 python3; do
        if command -v "$cand" >/dev/null 2>&1 && "$cand" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null; then
            command -v "$cand"; return 0
        fi
    done
    local root
    root="$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")"
    for exe in "$root"/versions/3.12*/bin/python3.12 "$root"/versions/3.13*/bin/python3.13; do
        [ -x "$exe" ] && { echo "$exe"; return 0; }
    done
    return 1
}

stamp=.venv/.installed-$(cat requirements.lock pyproject.toml | cksum | cut -d' ' -f1)
if [ -f "$stamp" ]; then exit 0; fi

py="$(find_python)" || { echo "bootstrap: no Python >= 3.12 found (tried PATH and pyenv)" >&2; exit 1; }
[ -x .venv/bin/python ] || "$py" -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[test]'
rm -f .venv/.installed-*
touch "$stamp"
