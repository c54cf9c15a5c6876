#!/usr/bin/env bash
# End-to-end load benchmark: riskgate vs nginx vs haproxy, on loopback only.
#
# Usage:
#   benches/e2e.sh                 # full run, ~3 minutes (5 rounds x {1,32} conns x 4 targets)
#   benches/e2e.sh --quick         # ~30 s smoke run (2 rounds, 1 s windows)
#   benches/e2e.sh --help          # every option (each also has an E2E_* env variable)
#   benches/e2e.sh --rounds 7 --duration-s 5 --conns 1,8,32 --targets direct,riskgate,nginx
#   RISKGATE_BIN=/path/to/riskgate benches/e2e.sh --quick
#
# What it does: builds riskgate (`cargo build --release`), then runs
# `cargo bench --bench e2e -- "$@"`, which starts a mock Binance upstream, nginx and
# haproxy (generated configs in a temp dir, killed at the end) and riskgate (live
# mode, one worker, restarted per run), and drives signed orders at each in
# interleaved rounds, pinned with taskset. Prints a table; writes
# target/e2e-results.json. Method and figures: docs/perf-e2e.md.
#
# Needs: taskset (util-linux); nginx, haproxy (each skipped with a hint if
# missing); wrk is not used by the bench (its own load generator is), but is
# handy for cross-checks. This script installs nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
for tool in nginx haproxy wrk; do
    if ! command -v "$tool" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$tool" ]; then
        missing+=("$tool")
    fi
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "e2e.sh: not installed: ${missing[*]} (targets without a binary are skipped)."
    echo "        install with: sudo apt-get update && sudo apt-get install -y ${missing[*]}"
fi
if ! command -v taskset >/dev/null 2>&1; then
    echo "e2e.sh: taskset is required (apt-get install -y util-linux)" >&2
    exit 1
fi

if [ -z "${RISKGATE_BIN:-}" ]; then
    echo "e2e.sh: cargo build --release"
    cargo build --release
fi
exec cargo bench --bench e2e -- "$@"
