#!/usr/bin/env bash
# Ingest throughput of `hookpipe producer` on the real broker, measured with wrk:
# GET /healthz (the HTTP server alone), POST /v1/events (one event per request) and
# POST /v1/events/batch (BATCH events per request), on the same server.
#
#   benchmarks/ingest_bench.sh [path/to/hookpipe]
#   env: HOOKPIPE_BROKERS (default 127.0.0.1:29092), DURATION (10s), CONNECTIONS (64),
#        THREADS (2), BATCH (100), PORT (18480)
set -euo pipefail
BIN=${1:-build/release/hookpipe}
BROKERS=${HOOKPIPE_BROKERS:-127.0.0.1:29092}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
BATCH=${BATCH:-100}
PORT=${PORT:-18480}
TOKEN=bench-token
WORK=$(mktemp -d)
trap 'kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; rm -rf "$WORK"' EXIT

HOOKPIPE_BROKERS=$BROKERS HOOKPIPE_TOPIC_PREFIX="bench$$." HOOKPIPE_HTTP_PORT=$PORT \
  HOOKPIPE_API_TOKENS=$TOKEN HOOKPIPE_LOG_LEVEL=warn "$BIN" producer >"$WORK/producer.log" 2>&1 &
PID=$!
for _ in $(seq 100); do curl -sf "localhost:$PORT/healthz" >/dev/null && break; sleep 0.2; done

event='{"type":"order.created","data":{"order":42,"amount":1999,"currency":"EUR"}}'
batch="[$(for i in $(seq "$BATCH"); do printf '%s%s' "$([ "$i" -gt 1 ] && echo ,)" "$event"; done)]"
cat >"$WORK/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $TOKEN"
local f = io.open(os.getenv("BODY_FILE")); wrk.body = f:read("*a"); f:close()
LUA
printf '%s' "$event" >"$WORK/event.json"
printf '%s' "$batch" >"$WORK/batch.json"

rate() { awk '/Requests\/sec/ {print $2}'; }
run() {  # path body-file
  BODY_FILE=$2 wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" -s "$WORK/post.lua" \
    "http://127.0.0.1:$PORT$1" >"$WORK/wrk.out" 2>&1
  if grep -q "Non-2xx" "$WORK/wrk.out"; then echo "warning $1: $(grep Non-2xx "$WORK/wrk.out")" >&2; fi
  rate <"$WORK/wrk.out"
}
health=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" "http://127.0.0.1:$PORT/healthz" | rate)
single=$(run /v1/events "$WORK/event.json")
batched=$(run /v1/events/batch "$WORK/batch.json")
events_batched=$(awk -v r="$batched" -v b="$BATCH" 'BEGIN {printf "%.0f", r * b}')
printf '%-28s %12s %14s\n' "route" "requests/s" "events/s"
printf '%-28s %12s %14s\n' "GET /healthz" "$health" "-"
printf '%-28s %12s %14s\n' "POST /v1/events" "$single" "$single"
printf '%-28s %12s %14s\n' "POST /v1/events/batch x$BATCH" "$batched" "$events_batched"
