#!/usr/bin/env bash
# Every benchmark in one go, with the machine it ran on. Copy the output into docs/benchmarks.md.
#
# The stores live in $BENCH_DIR (default /tmp/hermes-bench, a disk here). Writes fsync the file
# and the directory under the lock (docs/design.md#write-protocol), so their figures depend on the disk as much as on
# hermes; when /dev/shm is a tmpfs the write benchmarks run there too, where fsync is free, to
# show what hermes itself costs.
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
build
export BENCH_NO_BUILD=1
machine
echo "hermes $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?'), $(rustc --version)"
if have_hyperfine; then echo "hyperfine: $(hyperfine --version)"; else echo "hyperfine: missing, using the shell loop"; fi
echo "stores in $BENCH_DIR ($(df -T "$(dirname "$BENCH_DIR")" | awk 'NR==2 { print $2 }'))"
"$ROOT/bench/list.sh"
"$ROOT/bench/add.sh"
"$ROOT/bench/token.sh"
"$ROOT/bench/throughput.sh"
if [ -d /dev/shm ] && df -T /dev/shm | grep -q tmpfs; then
    echo "--- the same writes on tmpfs (/dev/shm): no fsync cost"
    export BENCH_DIR=/dev/shm/hermes-bench
    "$ROOT/bench/add.sh"
    "$ROOT/bench/token.sh"
    "$ROOT/bench/throughput.sh"
fi
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
