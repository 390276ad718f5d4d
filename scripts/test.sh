#!/usr/bin/env bash
# Set up if needed, then lint and run the whole test suite (browser tests need Debian's chromium; installed as root).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ ! -x /usr/bin/chromium ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing Debian chromium for the browser tests" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
.venv/bin/ruff check analytics dashboard tests benchmarks
exec .venv/bin/python -m pytest -q "$@"
