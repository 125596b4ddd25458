#!/usr/bin/env bash
# The test command: installs the pinned test dependencies into .venv and runs the whole suite,
# the real-browser tests included (they need Debian's chromium at /usr/bin/chromium).
set -euo pipefail
cd "$(dirname "$0")"
source scripts/venv.sh requirements-dev.txt
.venv/bin/ruff check --quiet .
exec .venv/bin/python -m pytest "$@"
