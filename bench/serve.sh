#!/usr/bin/env bash
# hermes serve against a fast upstream on 127.0.0.1, measured directly and through the gateway
# in the same run (examples/serve_bench.rs). Targets (issue 15): added latency median <= 0.1 ms
# and p99 <= 0.5 ms (sequential, keep-alive); 64 connections >= 90 % of direct; peak RSS
# <= 20 MiB after 10,000 requests and <= 40 MiB with 256 streams open; first answer <= 50 ms.
#
#   bench/serve.sh                  # SEQUENTIAL=2000 CONCURRENT=8000 by default
#   SERVE_BENCH_LITELLM=$(command -v litellm) bench/serve.sh   # the LiteLLM proxy beside it
#   SERVE_BENCH_STATE_URL=redis://127.0.0.1:6379/0 bench/serve.sh   # on the fleet backend
#   SERVE_BENCH_EXTRA=200 bench/serve.sh   # a larger store: a second pool of 200 benched keys
#   SERVE_BENCH_BODY_KB=200 bench/serve.sh  # long contexts: a conversation of ~200 KiB per request
#   SERVE_BENCH_UPSTREAM_MS=5 SEQUENTIAL=400 bench/serve.sh  # an upstream that takes 5 ms per answer
#
# Besides the latencies it prints the CPU the gateway spent per request (its threads'
# scheduler time): steadier than wall-clock medians on a shared machine.
set -euo pipefail
cd "$(dirname "$0")/.."
SEQUENTIAL=${SEQUENTIAL:-2000}
CONCURRENT=${CONCURRENT:-8000}
cargo build --release --quiet --bin hermes --example serve_bench
target/release/examples/serve_bench target/release/hermes "$SEQUENTIAL" "$CONCURRENT"
