#!/usr/bin/env bash
# `hermes auth token openrouter` on a 20-entry and a 200-entry store: a pick is one locked
# transaction (request_count + 1) with two fsyncs.
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
[ -n "${BENCH_NO_BUILD:-}" ] || build
# shellcheck disable=SC2034 # read by measure() in lib.sh
RUNS="${RUNS_WRITE:-100}"
for n in 20 200; do
    home=$(store "$n" 5)
    measure "token, $n entries" "$home" "" "$HERMES" auth token openrouter
    peak_rss "token, $n entries" "$home" "" "$HERMES" auth token openrouter
done
