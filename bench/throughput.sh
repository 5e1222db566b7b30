#!/usr/bin/env bash
# Scripts sharing one pool: $WORKERS processes (default 8) each loop $ITER times over
#   hermes auth token openrouter                  (a pick: request_count + 1, least_used pool of 4)
#   hermes auth report deepseek w<N> --status 429 (a mark: rate_limit_streak + 1 on its own entry)
# and the script prints operations per second, then proves that no update was lost: the stored
# request_counts must add up to exactly the number of tokens handed out, and the streaks to
# exactly the number of 429 reports (with the clock pinned, every 429 extends its entry's
# streak). Target (issue 6): >= 1,000 operations/s with no lost update.
# shellcheck source=bench/lib.sh
source "$(dirname "$0")/lib.sh"
[ -n "${BENCH_NO_BUILD:-}" ] || build
WORKERS="${WORKERS:-8}"
ITER="${ITER:-100}"
home="$BENCH_DIR/throughput"
rm -rf "$home"
mkdir -p "$home"
chmod 700 "$home"
printf 'credential_pool_strategies:\n  openrouter: least_used\n' >"$home/config.yaml"
# STATE_URL=redis://…: the same run on the fleet backend (bench/fleet.sh); the stored counts are
# then read from the server, which holds them.
if [ -n "${STATE_URL:-}" ]; then
    printf 'state:\n  backend: redis\n  url: %s\n  on_unavailable: fail\n' "$STATE_URL" >>"$home/config.yaml"
fi
for i in 0 1 2 3; do
    echo "sk-or-v1-throughput-$i-0123456789abcdef" | sealed "$home" "$HERMES" auth add openrouter --api-key - 2>/dev/null
done
for ((w = 0; w < WORKERS; w++)); do
    echo "sk-ds-throughput-$w-0123456789abcdef" | sealed "$home" "$HERMES" auth add deepseek --api-key - --label "w$w" 2>/dev/null
done

# One worker: a bash loop calling hermes directly (the sealed environment is set up once per
# worker, not per call, as a script of the user's would run).
# shellcheck disable=SC2016 # expanded by the worker's own bash
WORKER='
hermes=$1 w=$2 iter=$3
for ((i = 0; i < iter; i++)); do
    "$hermes" auth token openrouter >/dev/null || { echo "worker $w: token failed" >&2; exit 1; }
    "$hermes" auth report deepseek "w$w" --status 429 >/dev/null || { echo "worker $w: report failed" >&2; exit 1; }
done'
worker() { sealed "$home" bash -c "$WORKER" worker "$HERMES" "$1" "$ITER"; }

start=$EPOCHREALTIME
pids=()
for ((w = 0; w < WORKERS; w++)); do
    worker "$w" &
    pids+=($!)
done
failed=0
for p in "${pids[@]}"; do wait "$p" || failed=1; done
end=$EPOCHREALTIME
[ "$failed" = 0 ] || { echo "a worker failed" >&2; exit 1; }

ops=$((WORKERS * ITER * 2))
if [ -n "${STATE_URL:-}" ]; then
    listing=$(sealed "$home" "$HERMES" auth list --json)
    picks=$(printf '%s' "$listing" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(sum(e.get("request_count") or 0 for p in d["providers"] if p["provider"]=="openrouter" for e in p["entries"]))')
    streaks=$(redis-cli -u "$STATE_URL" --raw hgetall "hermes:pool:deepseek" | awk 'f { s += $1; f = 0 } /\|rate_limit_streak$/ { f = 1 } END { print s + 0 }')
else
    picks=$(awk '/"request_count":/ { s += $2 } END { print s + 0 }' "$home/auth.json")
    streaks=$(awk '/"rate_limit_streak":/ { s += $2 } END { print s + 0 }' "$home/auth.json")
fi
awk -v ops="$ops" -v s="$start" -v e="$end" -v w="$WORKERS" \
    'BEGIN { printf "token+report, %d processes        %d operations in %.2f s = %.0f operations/s\n", w, ops, e-s, ops/(e-s) }'
echo "stored picks $picks (want $((WORKERS * ITER))), stored 429 streaks $streaks (want $((WORKERS * ITER)))"
if [ "$picks" != $((WORKERS * ITER)) ] || [ "$streaks" != $((WORKERS * ITER)) ]; then
    echo "LOST UPDATE" >&2
    exit 1
fi
echo "no lost update"
