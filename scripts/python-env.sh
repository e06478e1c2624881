#!/usr/bin/env bash
# Makes (once) the Python virtual environment the interop and browser tests use, with the other
# libraries' own clients from PyPI (Tests/Interop/requirements.txt), and prints its python.
# The venv lives in $SWITCHBOARD_VENV (default .build/interop-venv).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="${SWITCHBOARD_VENV:-$root/.build/interop-venv}"
requirements="$root/Tests/Interop/requirements.txt"
stamp="$venv/.requirements"
if [[ ! -x "$venv/bin/python" ]] || ! cmp -s "$requirements" "$stamp"; then
    python3 -m venv "$venv" >&2
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements" >&2
    cp "$requirements" "$stamp"
fi
echo "$venv/bin/python"
