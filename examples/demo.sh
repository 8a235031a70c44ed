#!/usr/bin/env bash
# `make demo`: a throwaway Postgres with the example shop, the OpenSearch emulator (unless
# OPENSEARCH_URL is set), and `dist/flusso sync` — then where to look and how to watch a change
# arrive. Ctrl-C stops flusso, the emulator and Postgres.
#
# Non-interactive (DEMO_CHECK=1, CI=true, or stdin not a terminal): waits until flusso is
# live, checks a sample search, makes a change, waits (bounded) until a search shows it, prints
# "demo check passed", stops everything and exits 0 (non-zero with a message otherwise).
#
# Environment: OPENSEARCH_URL (a real cluster; SEARCH_OPENSEARCH_USERNAME/PASSWORD for its
# credentials), FLUSSO_PREFIX (index name prefix), DEMO_PG_STATE (where the throwaway
# cluster's description lives; default .pg/demo.json), DEMO_TIMEOUT (seconds per wait; 60).
set -euo pipefail
cd "$(dirname "$0")/.."

DENO=.tools/node_modules/deno/deno
FLUSSO=dist/flusso
CONFIG=examples/shop/flusso.toml
STATE="${DEMO_PG_STATE:-.pg/demo.json}"
WORK="$(dirname "$STATE")/demo-run"
TIMEOUT="${DEMO_TIMEOUT:-60}"
PREFIX="${FLUSSO_PREFIX:-}"
CHECK=0
if [[ "${DEMO_CHECK:-}" == 1 || "${CI:-}" == true || ! -t 0 ]]; then CHECK=1; fi

say() { printf '\033[1mdemo:\033[0m %s\n' "$*"; }
fail() {
  printf 'demo: FAILED: %s\n' "$*" >&2
  if [[ $CHECK == 1 && -f "$WORK/flusso.log" ]]; then
    echo "---- last lines of the flusso log ($WORK/flusso.log) ----" >&2
    tail -n 40 "$WORK/flusso.log" >&2 || true
  fi
  exit 1
}

for tool in "$DENO" "$FLUSSO"; do
  [[ -x "$tool" ]] || fail "$tool is missing: run \`make demo\` (it runs setup and build first)"
done
command -v curl >/dev/null || fail "curl is needed (apt-get install -y curl)"

FLUSSO_PID=""
EMULATOR_PID=""
PG_PID=""
PG_STARTED=0
cleanup() {
  local code=$?
  trap - EXIT INT TERM
  if [[ -n "$FLUSSO_PID" ]] && kill -0 "$FLUSSO_PID" 2>/dev/null; then
    kill -TERM "$FLUSSO_PID" 2>/dev/null || true
    wait "$FLUSSO_PID" 2>/dev/null || true
  fi
  if [[ -n "$EMULATOR_PID" ]] && kill -0 "$EMULATOR_PID" 2>/dev/null; then
    kill -TERM "$EMULATOR_PID" 2>/dev/null || true
    wait "$EMULATOR_PID" 2>/dev/null || true
  fi
  if [[ $PG_STARTED == 1 ]]; then
    FLUSSO_PG_STATE="$STATE" "$DENO" run -A tests/support/pg_script.ts stop || true
    # pg_ctl returns once the pid file is gone; the postmaster itself exits a moment later.
    local i
    for ((i = 0; i < 100; i++)); do
      [[ -n "$PG_PID" ]] && kill -0 "$PG_PID" 2>/dev/null || break
      sleep 0.1
    done
  fi
  [[ $CHECK == 1 ]] && say "stopped flusso, the emulator and Postgres"
  exit "$code"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A TCP port on 127.0.0.1: the preferred one when it is free, else one the OS picks.
port() {
  "$DENO" eval --quiet "
    const want = ${1:-0};
    let l;
    try { l = Deno.listen({ hostname: '127.0.0.1', port: want }); }
    catch { l = Deno.listen({ hostname: '127.0.0.1', port: 0 }); }
    console.log(l.addr.port); l.close();"
}

# Waits until "$@" succeeds, at most TIMEOUT seconds.
wait_for() {
  local what="$1"
  shift
  local deadline=$((SECONDS + TIMEOUT))
  until "$@" >/dev/null 2>&1; do
    [[ -z "$FLUSSO_PID" ]] || kill -0 "$FLUSSO_PID" 2>/dev/null || fail "flusso exited while waiting for $what"
    ((SECONDS < deadline)) || fail "timed out after ${TIMEOUT}s waiting for $what"
    sleep 0.5
  done
}

mkdir -p "$WORK"

# 1. Postgres: a throwaway cluster with wal_level=logical, the shop schema and sample data.
say "starting a throwaway Postgres (state in $STATE)"
PG_STARTED=1
PG_URL="$(FLUSSO_PG_STATE="$STATE" "$DENO" run -A tests/support/pg_script.ts start | tail -n 1)"
BIN_DIR="$(sed -n 's/.*"binDir": *"\([^"]*\)".*/\1/p' "$STATE")"
DATA_DIR="$(sed -n 's/.*"dataDir": *"\([^"]*\)".*/\1/p' "$STATE")"
PG_PID="$(head -n 1 "$DATA_DIR/data/postmaster.pid" 2>/dev/null || true)"
PSQL="$BIN_DIR/psql"
[[ -x "$PSQL" ]] || PSQL=psql
export DATABASE_URL="${PG_URL%/postgres}/shop"
if [[ -z "$("$PSQL" "$PG_URL" -Atqc "SELECT 1 FROM pg_database WHERE datname = 'shop'")" ]]; then
  "$PSQL" "$PG_URL" -qc "CREATE DATABASE shop" >/dev/null
fi
if [[ -z "$("$PSQL" "$DATABASE_URL" -Atqc "SELECT to_regclass('public.customers')")" ]]; then
  say "loading examples/shop/schema.sql and seed.sql"
  "$PSQL" "$DATABASE_URL" -q -v ON_ERROR_STOP=1 -f examples/shop/schema.sql >/dev/null
  "$PSQL" "$DATABASE_URL" -q -v ON_ERROR_STOP=1 -f examples/shop/seed.sql >/dev/null
fi

# 2. OpenSearch: the cluster at OPENSEARCH_URL, else the emulator on a free port.
if [[ -n "${OPENSEARCH_URL:-}" ]]; then
  OS="${OPENSEARCH_URL%/}"
  say "using the OpenSearch cluster at $OS"
else
  "$DENO" run -A tests/support/opensearch/main.ts --port 0 --no-log >"$WORK/emulator.out" 2>&1 &
  EMULATOR_PID=$!
  wait_for "the emulator" grep -q '^http' "$WORK/emulator.out"
  OS="$(grep -m1 '^http' "$WORK/emulator.out")"
  say "started the OpenSearch emulator at $OS"
fi
CURL_AUTH=()
if [[ -n "${SEARCH_OPENSEARCH_USERNAME:-}" ]]; then
  CURL_AUTH=(-u "$SEARCH_OPENSEARCH_USERNAME:${SEARCH_OPENSEARCH_PASSWORD:-}")
fi
export SEARCH_OPENSEARCH_URL="$OS"

# 3. flusso sync, on free ports, with a fresh control token.
PUBLIC_PORT="$(port 9464)"
PRIVATE_PORT="$(port 9465)"
[[ "$PRIVATE_PORT" != "$PUBLIC_PORT" ]] || PRIVATE_PORT="$(port 0)"
export FLUSSO_PUBLIC_ADDRESS="127.0.0.1:$PUBLIC_PORT"
export FLUSSO_PRIVATE_ADDRESS="127.0.0.1:$PRIVATE_PORT"
FLUSSO_TOKEN="demo-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
export FLUSSO_TOKEN
STATUS="http://127.0.0.1:$PUBLIC_PORT"

say "running: $FLUSSO sync --config $CONFIG"
if [[ $CHECK == 1 ]]; then
  "$FLUSSO" --log-format json sync --config "$CONFIG" >"$WORK/flusso.log" 2>&1 &
else
  "$FLUSSO" sync --config "$CONFIG" &
fi
FLUSSO_PID=$!

is_ready() { curl -fsS "$STATUS/readyz"; }
is_live() { curl -fsS "$STATUS/status" | grep -Eq '"phase" *: *"live"'; }
search() { # search <json query>
  curl -fsS "${CURL_AUTH[@]}" "$OS/${PREFIX}customers/_search" \
    -H 'content-type: application/json' -d "$1"
}
SAMPLE_QUERY='{"query":{"term":{"email":"customer5@example.com"}}}'
finds_sample() { search "$SAMPLE_QUERY" | grep -Eq '"_id" *: *"5"'; }
CHANGE_QUERY='{"query":{"term":{"id":5}}}'
shows_change() { search "$CHANGE_QUERY" | grep -Eq '"name" *: *"Ada Lovelace"'; }

wait_for "flusso to be ready ($STATUS/readyz)" is_ready
wait_for "the backfill to finish (phase live in $STATUS/status)" is_live

if [[ $CHECK == 1 ]]; then
  say "pids: flusso $FLUSSO_PID, emulator ${EMULATOR_PID:-none}, postgres ${PG_PID:-none}"
  wait_for "the sample search to find customer 5" finds_sample
  say "sample search found customer 5"
  "$PSQL" "$DATABASE_URL" -qc "UPDATE customers SET name = 'Ada Lovelace' WHERE id = 5" >/dev/null
  wait_for "the change to customer 5 to reach the index" shows_change
  say "the change to customer 5 reached the index"
  echo "demo check passed: flusso backfilled the shop, answered a search and streamed a change"
  exit 0
fi

cat <<EOF

$(say "flusso is live. Where to look:")
  status:    curl -s $STATUS/status
  metrics:   curl -s $STATUS/metrics
  CLI:       $FLUSSO status --url $STATUS
             FLUSSO_TOKEN=$FLUSSO_TOKEN $FLUSSO indexes --url http://127.0.0.1:$PRIVATE_PORT
  a search:  curl -s "$OS/${PREFIX}customers/_search" -H 'content-type: application/json' \\
               -d '$SAMPLE_QUERY'

Make a change and watch it arrive (in another terminal):
  $(command -v psql || echo "$PSQL") "$DATABASE_URL" -c "UPDATE customers SET name = 'Ada' WHERE id = 5"
  curl -s "$OS/${PREFIX}customers/_doc/5"

Compare Postgres with the index (and repair drift):
  DATABASE_URL=$DATABASE_URL SEARCH_OPENSEARCH_URL=$OS FLUSSO_TOKEN=$FLUSSO_TOKEN \\
    $FLUSSO verify --config $CONFIG

Ctrl-C stops flusso, the emulator and Postgres.
EOF
wait "$FLUSSO_PID"
