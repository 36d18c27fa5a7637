#!/usr/bin/env bash
# Measures the switch's HTTP API with wrk, a third-party load generator,
# as an operator would: unpinned, on the same machine.
#
#   scripts/bench-wrk.sh                    # embedded engine
#   BENCH_STORE=postgres scripts/bench-wrk.sh   # a throwaway PostgreSQL (as scripts/test.sh)
#
# Settings (environment): ALIASES (200000) aliases registered over
# PARTICIPANTS (8) participants; CONNS (64) connections and THREADS (2)
# wrk threads; DURATION (10s) per run; WRK_ALIASES (1000000) at most
# that many aliases handed to the Lua scripts; SCRIPTS ("transfer
# lookup") which runs; SERVE_FLAGS more flags for `hulian serve` (e.g.
# "--cpuprofile /tmp/cpu.out": written when the switch stops at the end);
# RISK_RULES a JSON file of risk rules to save first (bench/risk/rules.json:
# twenty rules, ten with velocity functions); HULIAN_WRK_RISK=1 makes the
# transfers name a paying user and authentication factors, as wallets do.
#
# It installs wrk with apt-get when missing, builds hulian, starts a switch
# on a throwaway data directory, sets participants and aliases up with
# `hulian bench --fleet`, exports them for bench/wrk's Lua scripts, and
# runs wrk for single transfers then lookups, printing wrk's reports. The
# lookup budget (an anti-scraping policy, 1,000/s per participant by
# default) is raised so that the run measures the switch, not the
# policy; the general rate limit stays at its default, which the spread
# over PARTICIPANTS payers keeps clear of.
set -euo pipefail
cd "$(dirname "$0")/.."

ALIASES=${ALIASES:-200000}
PARTICIPANTS=${PARTICIPANTS:-8}
CONNS=${CONNS:-64}
THREADS=${THREADS:-2}
DURATION=${DURATION:-10s}
WRK_ALIASES=${WRK_ALIASES:-1000000}

if ! command -v wrk >/dev/null 2>&1; then
	echo "bench-wrk: installing wrk with apt-get" >&2
	sudo_() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
	sudo_ env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
	sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/hulian-wrk.XXXXXX")
# The traps must not fail (errexit would end them before cleanup stops
# PostgreSQL): wait answers the killed switch's status.
stop_switch() {
	if [ -n "$switch_pid" ]; then
		kill "$switch_pid" 2>/dev/null || true
		wait "$switch_pid" 2>/dev/null || true
	fi
}
store=""
if [ "${BENCH_STORE:-}" = postgres ]; then
	PG_WHO=bench-wrk
	# shellcheck source=scripts/pg.sh
	source scripts/pg.sh
	store="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
	trap 'rc=$?; set +e; stop_switch; rm -rf "$work"; (exit $rc); cleanup' EXIT
else
	trap 'stop_switch; rm -rf "$work" || true' EXIT
fi
switch_pid=

go build -o "$work/hulian" ./cmd/hulian
HULIAN_ADMIN_TOKEN="bench-wrk-$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')"
export HULIAN_ADMIN_TOKEN
addr=127.0.0.1:$((20000 + RANDOM % 20000))
store_flag=()
[ -n "$store" ] && store_flag=(--store "$store")
"$work/hulian" serve --data "$work/data" "${store_flag[@]}" --addr "$addr" --settlement-cutoff none \
	--lookup-rate 10000000 --lookup-burst 10000000 ${SERVE_FLAGS:-} >"$work/serve.log" 2>&1 &
switch_pid=$!
for _ in $(seq 1 100); do
	curl -sf "http://$addr/healthz" >/dev/null 2>&1 && break
	sleep 0.1
done
url="http://$addr"

echo "bench-wrk: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(wrk --version 2>&1 | head -1 | cut -d' ' -f1-2), engine ${BENCH_STORE:-embedded}"
echo "bench-wrk: setting up $PARTICIPANTS participants and $ALIASES aliases"
"$work/hulian" bench --target "$url" --fleet "$work/fleet" --participants "$PARTICIPANTS" --aliases "$ALIASES" \
	--mode lookup --concurrency 8 --duration 1s --warmup 0s >"$work/setup.txt" 2>&1 || { cat "$work/setup.txt" >&2; exit 1; }
"$work/hulian" bench --target "$url" --fleet "$work/fleet" --wrk-export "$work/wrk" --wrk-aliases "$WRK_ALIASES" >/dev/null
if [ -n "${RISK_RULES:-}" ]; then
	echo "bench-wrk: saving the risk rules of $RISK_RULES"
	"$work/hulian" bench --target "$url" --fleet "$work/fleet" --risk-rules "$RISK_RULES" \
		--mode lookup --concurrency 1 --requests 1 --duration 0 --warmup 0s >"$work/rules.txt" 2>&1 || { cat "$work/rules.txt" >&2; exit 1; }
fi

export HULIAN_WRK_DIR="$work/wrk" HULIAN_WRK_RUN="$RANDOM$RANDOM"
for script in ${SCRIPTS:-transfer lookup}; do
	echo
	echo "== wrk -t$THREADS -c$CONNS -d$DURATION --latency -s bench/wrk/$script.lua"
	wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency -s "bench/wrk/$script.lua" "$url"
done
echo
echo "bench-wrk: switch resident memory $(awk '/VmRSS/ {print $2, $3}' "/proc/$switch_pid/status")"
