# Shared helpers for the bench/ scripts. Source it; do not run it.
#
# Every measurement runs the release binary in a sealed environment (`env -i` plus HOME,
# HERMES_HOME and a pinned clock), on stores written by `examples/gen_store.rs`, so the host's
# own keys and ~/.hermes never play a part and reruns see the same cooldowns.

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH_DIR="${BENCH_DIR:-${TMPDIR:-/tmp}/hermes-bench}"
# 2026-07-01T09:00:00Z, the instant gen_store.rs writes its deadlines against.
BENCH_NOW=1782896400
RUNS="${RUNS:-300}"
WARMUP="${WARMUP:-20}"
# HERMES=/path/to/hermes measures another build (then set BENCH_NO_BUILD=1 as well).
HERMES="${HERMES:-$ROOT/target/release/hermes}"
GEN="$ROOT/target/release/examples/gen_store"

log() { printf '%s\n' "$*" >&2; }

# Build the release binary and the store generator.
build() {
    log "building release binary and gen_store ..."
    (cd "$ROOT" && cargo build --release --quiet --bin hermes --example gen_store)
}

# Use hyperfine when it is there (installing it from Debian when we are root), else fall back
# to the built-in loop in measure(). BENCH_NO_HYPERFINE=1 forces the fallback; BENCH_NO_INSTALL=1
# never installs anything.
have_hyperfine() {
    if [ -n "${BENCH_NO_HYPERFINE:-}" ]; then return 1; fi
    if command -v hyperfine >/dev/null 2>&1; then return 0; fi
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && [ -z "${BENCH_NO_INSTALL:-}" ]; then
        log "installing hyperfine (apt-get) ..."
        { apt-get update -qq && apt-get install -y -qq hyperfine; } >/dev/null 2>&1 || true
    fi
    command -v hyperfine >/dev/null 2>&1
}

# GNU time for peak RSS (the `time` package), installed the same way when missing.
have_gnu_time() {
    if [ -x /usr/bin/time ]; then return 0; fi
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && [ -z "${BENCH_NO_INSTALL:-}" ]; then
        { apt-get update -qq && apt-get install -y -qq time; } >/dev/null 2>&1 || true
    fi
    [ -x /usr/bin/time ]
}

# store N P: a home with an N-entry store over P providers, plus a pristine copy to restore.
store() {
    local n=$1 p=${2:-5} dir="$BENCH_DIR/store-$1-$2"
    "$GEN" "$dir" "$n" "$p" 2>/dev/null
    cp "$dir/auth.json" "$dir/auth.json.orig"
    rm -f "$dir/auth.lock"
    printf '%s\n' "$dir"
}

# sealed HOME_DIR cmd...: run cmd with nothing from the caller's environment but PATH.
sealed() {
    local home=$1
    shift
    mkdir -p "$BENCH_DIR/user"
    env -i PATH="/usr/local/bin:/usr/bin:/bin" HOME="$BENCH_DIR/user" HERMES_HOME="$home" \
        HERMES_TEST_NOW="$BENCH_NOW" "$@"
}

# measure NAME HOME PREPARE cmd...: wall time of cmd over $RUNS runs after $WARMUP warm-up runs;
# PREPARE (or "") runs untimed before each run. Prints one line:
#   NAME  median X ms  min X ms  max X ms  (N runs, tool)
measure() {
    local name=$1 home=$2 prepare=$3
    shift 3
    local csv="$BENCH_DIR/last.csv"
    if have_hyperfine; then
        local args=(-N --warmup "$WARMUP" --runs "$RUNS" --export-csv "$csv" --style none)
        [ -n "$prepare" ] && args+=(--prepare "$prepare")
        sealed "$home" "$(command -v hyperfine)" "${args[@]}" "$*" >/dev/null 2>"$BENCH_DIR/last.err"
        local note=""
        grep -q outliers "$BENCH_DIR/last.err" && note=", outliers"
        # command,mean,stddev,median,user,system,min,max (seconds)
        tail -n 1 "$csv" | awk -F, -v name="$name" -v runs="$RUNS" -v note="$note" \
            '{ printf "%-34s median %6.2f ms  min %6.2f ms  max %6.2f ms  (%d runs, hyperfine%s)\n", name, $4*1000, $7*1000, $8*1000, runs, note }'
    else
        # A bash loop inside the sealed environment: each run is one fork+exec of hermes, as
        # with hyperfine -N, timed with bash's microsecond clock.
        local times="$BENCH_DIR/last.times"
        # shellcheck disable=SC2016
        sealed "$home" bash -c '
            warmup=$1 runs=$2 prepare=$3; shift 3
            for ((i = 0; i < warmup + runs; i++)); do
                [ -n "$prepare" ] && $prepare
                t0=$EPOCHREALTIME
                "$@" >/dev/null 2>&1 </dev/null
                t1=$EPOCHREALTIME
                [ "$i" -ge "$warmup" ] && echo "$t0 $t1"
            done' loop "$WARMUP" "$RUNS" "$prepare" "$@" |
            awk '{ printf "%.6f\n", ($2 - $1) * 1000 }' | sort -n >"$times"
        awk -v name="$name" '
            { v[NR] = $1 }
            END { m = (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2
                  printf "%-34s median %6.2f ms  min %6.2f ms  max %6.2f ms  (%d runs, bash loop)\n", name, m, v[1], v[NR], NR }' "$times"
    fi
}

# peak_rss NAME HOME PREPARE cmd...: the largest "Maximum resident set size" over 20 runs, in
# MiB; PREPARE (or "") runs before each run.
peak_rss() {
    local name=$1 home=$2 prepare=$3
    shift 3
    if ! have_gnu_time; then
        log "$name: /usr/bin/time not available, peak RSS not measured"
        return 0
    fi
    local max=0 kb
    for _ in $(seq 20); do
        [ -n "$prepare" ] && $prepare
        kb=$(sealed "$home" /usr/bin/time -f '%M' "$@" 2>&1 >/dev/null </dev/null | tail -n 1)
        [ "$kb" -gt "$max" ] && max=$kb
    done
    awk -v name="$name" -v kb="$max" 'BEGIN { printf "%-34s peak RSS %5.1f MiB (max of 20 runs, /usr/bin/time)\n", name, kb/1024 }'
}

machine() {
    echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(uname -sr)"
    echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
}
