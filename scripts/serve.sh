#!/usr/bin/env bash
# Set up if needed, then start the dashboard on the default real datasets (fetched and ingested on first run).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/prefatlas serve "$@"
