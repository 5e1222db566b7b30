#!/usr/bin/env bash
# `hermes auth add` into a 20-entry and a 200-entry store: one locked transaction with two
# fsyncs (file and directory). The store is restored before every timed run, so every run adds
# the same key to the same store. The key is passed as --api-key KEY (hyperfine 1.15 cannot feed
# stdin); the warning that prints costs nothing measurable.
# Target (issue 6): median <= 6 ms.
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
[ -n "${BENCH_NO_BUILD:-}" ] || build
# shellcheck disable=SC2034 # read by measure() in lib.sh
RUNS="${RUNS_WRITE:-100}"
for n in 20 200; do
    home=$(store "$n" 5)
    measure "add, $n entries" "$home" "cp $home/auth.json.orig $home/auth.json" \
        "$HERMES" auth add openrouter --api-key sk-or-v1-bench-0123456789abcdef --label bench
    peak_rss "add, $n entries" "$home" "cp $home/auth.json.orig $home/auth.json" \
        "$HERMES" auth add openrouter --api-key sk-or-v1-bench-0123456789abcdef --label bench
done
