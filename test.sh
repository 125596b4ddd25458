#!/usr/bin/env bash
# The test command: installs the pinned test dependencies into .venv, the local OpenID Connect
# provider the sign-in tests run (npm's oidc-provider, pinned in tests/oidc/package-lock.json), and
# runs the whole suite, the real-browser tests included (they need Debian's chromium at
# /usr/bin/chromium, and node with npm).
set -euo pipefail
cd "$(dirname "$0")"
source scripts/venv.sh requirements-dev.txt
if [ ! -d tests/oidc/node_modules/oidc-provider ]; then
  (cd tests/oidc && npm ci --no-audit --no-fund --loglevel=error)
fi
.venv/bin/ruff check --quiet .
exec .venv/bin/python -m pytest "$@"
