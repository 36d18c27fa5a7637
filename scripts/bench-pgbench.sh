#!/usr/bin/env bash
# Compares the switch with PostgreSQL's own TPC-B bank-transfer benchmark
# (pgbench), side by side on the same machine and hour, as PRODUCT.md's
# performance targets ask: single transfers ≥ 5× pgbench's transactions/s,
# batches ≥ 75×.
#
#   scripts/bench-pgbench.sh
#
# Settings (environment): SCALE (10) pgbench's scale factor (100,000
# accounts each); PG_CLIENTS ("8 16 32 64") the pgbench client counts
# tried, the best of which is the baseline; ROUNDS (2) runs of each
# measurement, the best kept; DURATION (15) seconds per run; ENGINES
# ("embedded postgres") the switch's storage engines measured;
# SINGLE_CONC (128) and BATCH_CONC (8) the switch's workers; ALIASES
# (100000) and PARTICIPANTS (8) the switch's fleet.
#
# It starts a throwaway PostgreSQL (scripts/pg.sh: loopback, fsync on,
# synchronous_commit on), initialises pgbench's tables in a database of
# their own and runs the built-in TPC-B-like script (five statements a
# transaction: three balance updates, a read, a history insert) with
# prepared statements, two pgbench threads. Then, for each engine, it
# starts `hulian serve` (embedded: a throwaway data directory; postgres:
# a database of its own on the same server) and measures single
# transfers and batches of 1,000 with `hulian bench --target`: durable,
# authenticated, risk-screened, with fees; the per-participant rate
# limits are lifted (a batch of 1,000 costs 1,000 tokens), so that the
# run measures the switch, not the policy. Everything shares the two
# cores: pgbench with its server, the switch with the load generator.
set -euo pipefail
cd "$(dirname "$0")/.."

SCALE=${SCALE:-10}
PG_CLIENTS=${PG_CLIENTS:-8 16 32 64}
ROUNDS=${ROUNDS:-2}
DURATION=${DURATION:-15}
ENGINES=${ENGINES:-embedded postgres}
SINGLE_CONC=${SINGLE_CONC:-128}
BATCH_CONC=${BATCH_CONC:-8}
ALIASES=${ALIASES:-100000}
PARTICIPANTS=${PARTICIPANTS:-8}

PG_WHO=bench-pgbench
# shellcheck source=scripts/pg.sh
source scripts/pg.sh
work=$(mktemp -d "${TMPDIR:-/tmp}/hulian-pgbench.XXXXXX")
switch_pid=
# The trap must not fail (errexit would end it before cleanup stops
# PostgreSQL), and keeps the script's status.
stop_switch() {
	if [ -n "$switch_pid" ]; then
		kill "$switch_pid" 2>/dev/null || true
		wait "$switch_pid" 2>/dev/null || true
	fi
}
trap 'rc=$?; set +e; stop_switch; rm -rf "$work"; (exit $rc); cleanup' EXIT

psql_() { "$bindir/psql" -qAt -h 127.0.0.1 -p "$port" -U postgres "$@"; }
psql_ -d postgres -c "CREATE DATABASE pgbench" -c "CREATE DATABASE hulian"
echo "bench-pgbench: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(free -g | awk '/Mem:/{print $2}') GiB, PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (fsync on, synchronous_commit $(psql_ -d postgres -c 'SHOW synchronous_commit'))"

# pgbench: the best of the client counts and rounds.
echo "bench-pgbench: pgbench -i -s $SCALE"
"$bindir/pgbench" -h 127.0.0.1 -p "$port" -U postgres -i -s "$SCALE" -q pgbench >"$work/pgbench-init.txt" 2>&1 ||
	{ cat "$work/pgbench-init.txt" >&2; exit 1; }
pg_best=0 pg_best_at=
for c in $PG_CLIENTS; do
	for r in $(seq 1 "$ROUNDS"); do
		"$bindir/pgbench" -h 127.0.0.1 -p "$port" -U postgres -c "$c" -j 2 -T "$DURATION" -M prepared pgbench >"$work/pgbench.txt" 2>&1 ||
			{ cat "$work/pgbench.txt" >&2; exit 1; }
		tps=$(awk -F'[ =]+' '/^tps = .*without initial connection time/{print $2}' "$work/pgbench.txt")
		lat=$(awk '/^latency average/{print $4}' "$work/pgbench.txt")
		echo "  pgbench TPC-B -c $c -j 2 -T $DURATION -M prepared, round $r: $tps tps (latency average $lat ms)"
		if awk -v a="$tps" -v b="$pg_best" 'BEGIN{exit !(a>b)}'; then pg_best=$tps pg_best_at="-c $c"; fi
	done
done
pg_best=$(awk -v a="$pg_best" 'BEGIN{printf "%.0f", a}')
echo "bench-pgbench: pgbench's best: $pg_best tps ($pg_best_at)"

go build -o "$work/hulian" ./cmd/hulian
HULIAN_ADMIN_TOKEN="bench-pgbench-$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')"
export HULIAN_ADMIN_TOKEN

# best prints the best transfersPerSecond and its p99 of bench's JSON
# reports given.
best() {
	python3 - "$@" <<-'EOF'
		import json, sys
		rs = [json.load(open(f)) for f in sys.argv[1:]]
		r = max(rs, key=lambda r: r["transfersPerSecond"])
		print("%.0f %.1f %d" % (r["transfersPerSecond"], r["latencyMs"]["p99"], sum(x["errorCount"] for x in rs)))
	EOF
}

declare -A single batch
for engine in $ENGINES; do
	store_flag=()
	[ "$engine" = postgres ] && store_flag=(--store "postgres://postgres@127.0.0.1:$port/hulian?sslmode=disable")
	addr=127.0.0.1:$((20000 + RANDOM % 20000))
	"$work/hulian" serve --data "$work/data-$engine" "${store_flag[@]}" --addr "$addr" --settlement-cutoff none \
		--lookup-rate 10000000 --lookup-burst 10000000 --rate-limit 1000000000 --rate-burst 1000000000 >"$work/serve-$engine.log" 2>&1 &
	switch_pid=$!
	for _ in $(seq 1 300); do
		curl -sf "http://$addr/readyz" >/dev/null 2>&1 && break
		sleep 0.1
	done
	url="http://$addr"
	"$work/hulian" bench --target "$url" --fleet "$work/fleet-$engine" --participants "$PARTICIPANTS" --aliases "$ALIASES" \
		--mode lookup --concurrency 8 --duration 1s --warmup 0s >"$work/setup.txt" 2>&1 || { cat "$work/setup.txt" >&2; exit 1; }
	for mode in single batch; do
		conc=$SINGLE_CONC
		[ "$mode" = batch ] && conc=$BATCH_CONC
		outs=()
		for r in $(seq 1 "$ROUNDS"); do
			"$work/hulian" bench --target "$url" --fleet "$work/fleet-$engine" --mode "$mode" --concurrency "$conc" \
				--duration "${DURATION}s" --out "$work/$engine-$mode-$r.json" >"$work/$engine-$mode-$r.txt" 2>&1 ||
				{ cat "$work/$engine-$mode-$r.txt" >&2; exit 1; }
			outs+=("$work/$engine-$mode-$r.json")
			read -r tps p99 errs < <(best "$work/$engine-$mode-$r.json")
			echo "  hulian ($engine) $mode, --concurrency $conc, round $r: $tps transfers/s, p99 $p99 ms, $errs errors"
		done
		read -r tps p99 errs < <(best "${outs[@]}")
		if [ "$mode" = single ]; then single[$engine]="$tps $p99 $errs"; else batch[$engine]="$tps $p99 $errs"; fi
	done
	kill "$switch_pid"
	wait "$switch_pid" 2>/dev/null || true
	switch_pid=
done

echo
echo "| what | per second | p99 | against pgbench's $pg_best tps | target |"
echo "| --- | --- | --- | --- | --- |"
echo "| pgbench TPC-B ($pg_best_at -j 2 -M prepared, scale $SCALE) | $pg_best | | 1× | |"
for engine in $ENGINES; do
	read -r tps p99 errs <<<"${single[$engine]}"
	ratio=$(awk -v a="$tps" -v b="$pg_best" 'BEGIN{printf "%.1f", a/b}')
	echo "| hulian single transfers, $engine ($SINGLE_CONC in flight; $errs errors) | $tps | $p99 ms | ${ratio}× | ≥ 5× |"
	read -r tps p99 errs <<<"${batch[$engine]}"
	ratio=$(awk -v a="$tps" -v b="$pg_best" 'BEGIN{printf "%.1f", a/b}')
	echo "| hulian batches of 1,000, $engine ($BATCH_CONC in flight; $errs errors) | $tps | $p99 ms | ${ratio}× | ≥ 75× |"
done
