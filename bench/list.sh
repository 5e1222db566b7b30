#!/usr/bin/env bash
# `hermes auth list` on a 20-entry and a 200-entry store (5 providers): wall time and peak RSS.
# Targets (issue 6): median <= 4 ms and peak RSS <= 8 MiB on the 200-entry store.
#
#   bench/list.sh            # RUNS=300 WARMUP=20 by default; BENCH_DIR=/tmp/hermes-bench
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
[ -n "${BENCH_NO_BUILD:-}" ] || build
for n in 20 200; do
    home=$(store "$n" 5)
    measure "list, $n entries" "$home" "" "$HERMES" auth list
    measure "list --json, $n entries" "$home" "" "$HERMES" auth list --json
    peak_rss "list, $n entries" "$home" "" "$HERMES" auth list
done
