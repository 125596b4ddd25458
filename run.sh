#!/usr/bin/env bash
# The run command: installs the pinned dependencies into .venv (once, and again when the
# requirements change) and starts the dashboard. The demo database is built on first start.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/venv.sh requirements.txt
exec .venv/bin/streamlit run serve.py "$@"
