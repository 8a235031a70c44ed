#!/usr/bin/env bash
# `make test`: format check, lint, type check, then every test under deno (and the unit tests,
# the bulk HTTP client's and the packed build results' under bun) against one throwaway
# PostgreSQL; ends with the plain line "N passed, N failed". Exit status is non-zero when anything failed.
set -uo pipefail
cd "$(dirname "$0")/../.."
DENO=.tools/node_modules/deno/deno
BUN=.tools/node_modules/bun/bin/bun.exe
REPORTS=cov/reports
rm -rf "$REPORTS" && mkdir -p "$REPORTS"
status=0
gate() { # a named gate that counts as one test in the closing line
  local name=$1; shift
  if "$@" >"$REPORTS/$name.log" 2>&1; then
    printf '<testsuites><testsuite name="gates"><testcase classname="gates" name="%s"/></testsuite></testsuites>\n' "$name" >"$REPORTS/gate-$name.xml"
    echo "gate $name: ok"
  else
    printf '<testsuites><testsuite name="gates"><testcase classname="gates" name="%s"><failure message="failed"/></testcase></testsuite></testsuites>\n' "$name" >"$REPORTS/gate-$name.xml"
    echo "gate $name: FAILED"; tail -n 40 "$REPORTS/$name.log"; status=1
  fi
}
gate fmt "$DENO" fmt --check
gate lint "$DENO" lint
gate check "$DENO" check src/main.ts tests/ bench/

# The binary the e2e tests drive.
gate build make --no-print-directory build

export FLUSSO_PG_STATE="$PWD/.pg/test-cluster.json"
cleanup() { "$DENO" run -A tests/support/pg_script.ts stop >/dev/null 2>&1 || true; }
trap cleanup EXIT INT TERM
if ! "$DENO" run -A tests/support/pg_script.ts start; then
  echo "could not start the test PostgreSQL"; status=1
fi
export FLUSSO_TEST_PG_CLUSTER="$FLUSSO_PG_STATE"

"$DENO" test -A --no-check --parallel --junit-path="$REPORTS/deno.xml" tests/ || status=1
# The sink's own HTTP client runs under bun in the binary: its socket-level tests run there too,
# and so do the packed build results' (backfilled documents stay views into what the postgres
# client received through bun's sockets).
"$BUN" test --timeout 120000 --reporter=junit --reporter-outfile="$REPORTS/bun.xml" tests/unit \
  tests/integration/sink_bulk_http.test.ts tests/integration/documents_packed.test.ts || status=1

cleanup
trap - EXIT INT TERM
"$DENO" run -A tests/support/junit_summary.ts "$REPORTS"/gate-*.xml "$REPORTS/deno.xml" "$REPORTS/bun.xml"
exit $status
