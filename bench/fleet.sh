#!/usr/bin/env bash
# The fleet backend (docs/fleet.md) against auth.json alone, on a redis-server this script starts
# on a free port in a temp directory (and stops):
#   1. pick + report through the library, median and p99 (examples/fleet_bench.rs);
#   2. 8 processes of `auth token` + `auth report` (bench/throughput.sh with STATE_URL);
#   3. the same operations from 8 long-lived processes on the library (fleet_bench processes);
# Targets (issue 16): pick + report median <= 0.3 ms; >= 2,000 operations/s.
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
command -v redis-server >/dev/null || { echo "redis-server is not installed (apt-get install redis-server)" >&2; exit 1; }
[ -n "${BENCH_NO_BUILD:-}" ] || (cd "$ROOT" && cargo build --release --quiet --bin hermes --example gen_store --example fleet_bench)
dir=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
redis-server --bind 127.0.0.1 --port "$port" --save "" --appendonly no --dir "$dir" >/dev/null &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$dir"' EXIT
until redis-cli -p "$port" ping >/dev/null 2>&1; do sleep 0.05; done
url="redis://127.0.0.1:$port/0"
"$ROOT/target/release/examples/fleet_bench" "$url" "${PAIRS:-2000}"
BENCH_NO_BUILD=1 "$(dirname "$0")/throughput.sh"
STATE_URL="$url" BENCH_NO_BUILD=1 "$(dirname "$0")/throughput.sh"
"$ROOT/target/release/examples/fleet_bench" "$url" "${ITER:-250}" processes "${WORKERS:-8}"
