#!/usr/bin/env bash
# Runs the whole test suite: unit, dispatch, HTTP integration, CLI and doc tests.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --locked "$@"
