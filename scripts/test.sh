#!/usr/bin/env bash
# Runs the whole test suite: unit, dispatch, HTTP integration, CLI and doc tests, and the Node
# SDK compatibility test (which needs the SDK installed in tests/node first).
set -euo pipefail
cd "$(dirname "$0")/.."
(cd tests/node && npm ci --no-audit --no-fund --loglevel=error)
cargo test --locked "$@"
