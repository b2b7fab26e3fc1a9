#!/usr/bin/env bash
# One-shot, idempotent set-up of everything simlib needs on a Debian machine:
# system packages (a CJK font so Chinese labels render in figures), a virtual
# environment in .venv and the Python packages from pyproject.toml.
# Quick when already done: each step is skipped when its stamp is current.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
VENV="$ROOT/.venv"
PY=${PYTHON:-python3}

say() { printf '[setup] %s\n' "$*" >&2; }

# --- system packages -------------------------------------------------------
# postgresql: the ledger tests run against a throw-away cluster too (tests/ledger_backends.py)
SYSTEM_PACKAGES=(fonts-wqy-microhei chromium postgresql)
missing=()
for pkg in "${SYSTEM_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    if command -v apt-get >/dev/null 2>&1; then
        SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
        say "installing system packages: ${missing[*]}"
        $SUDO apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
        say "warning: no apt-get; install these yourself: ${missing[*]}"
    fi
fi

# --- virtual environment and Python packages ------------------------------
if [ ! -x "$VENV/bin/python" ]; then
    say "creating virtual environment in .venv"
    "$PY" -m venv "$VENV"
fi
stamp="$VENV/.simlib-installed"
want=$(cat pyproject.toml | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    say "installing Python packages (pyproject.toml changed or first run)"
    "$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null 2>&1 || true
    if "$VENV/bin/python" -m pip install -q uv >/dev/null 2>&1 \
        && "$VENV/bin/python" -m uv pip install -q --compile-bytecode --python "$VENV/bin/python" -e ".[test]"; then
        :
    else
        say "uv unavailable; falling back to pip"
        "$VENV/bin/python" -m pip install -q -e ".[test]"
    fi
    echo "$want" > "$stamp"
fi
say "ready: $VENV"
