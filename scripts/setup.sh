#!/usr/bin/env bash
# Create .venv (Python >= 3.11) and install prefatlas with pinned dependencies; a no-op when already up to date.
set -euo pipefail
cd "$(dirname "$0")/.."

pick_python() {
  for py in "${PYTHON:-}" python3.11 python3.12 python3.13 python3; do
    [ -n "$py" ] || continue
    if command -v "$py" >/dev/null 2>&1 && "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      echo "$py"; return 0
    fi
  done
  return 1
}

PY=$(pick_python) || { echo "prefatlas needs Python >= 3.11 (apt-get install python3 python3-venv)" >&2; exit 1; }
if [ ! -x .venv/bin/python ]; then
  if ! "$PY" -m venv .venv 2>/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
      rm -rf .venv && "$PY" -m venv .venv
    else
      echo "cannot create a virtual environment: apt-get install python3-venv" >&2; exit 1
    fi
  fi
fi

stamp=.venv/.prefatlas-installed
want=$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-16)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "installing prefatlas and its pinned dependencies into .venv (torch $(grep '^torch==' constraints.txt))" >&2
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null
  # torch is pinned to 2.13.0. Where no CPU wheel is at hand, PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu
  # makes pip take the CPU build instead of the multi-GB CUDA one (see README).
  .venv/bin/python -m pip install -q -c constraints.txt -e ".[test]"
  echo "$want" > "$stamp"
fi
