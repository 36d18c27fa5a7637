#!/usr/bin/env bash
# Measures a cluster of switch nodes on one PostgreSQL database with
# `hulian bench`, as an operator would: the same traffic sent to the
# leader directly and to a follower, which answers reads itself and
# forwards writes to the leader.
#
#   scripts/bench-cluster.sh
#
# Settings (environment): NODES (2) nodes; ALIASES (100000) aliases over
# PARTICIPANTS (8) participants; CONC (64) workers; DURATION (10s) per
# run; MODES ("single batch lookup") the bench modes run against each
# node; SERVE_FLAGS more flags for every `hulian serve`.
#
# It starts a throwaway PostgreSQL (scripts/pg.sh, as scripts/test.sh),
# builds hulian, starts one switch once to make the keys every node must
# share (audit, seal, quote keys: docs/high-availability.md), copies its
# data directory to each node's, starts the nodes with --node-id and
# --advertise-addr, sets participants and aliases up through the leader
# with `hulian bench --fleet`, then runs each mode against the leader and
# against a follower, printing bench's reports.
set -euo pipefail
cd "$(dirname "$0")/.."

NODES=${NODES:-2}
ALIASES=${ALIASES:-100000}
PARTICIPANTS=${PARTICIPANTS:-8}
CONC=${CONC:-64}
DURATION=${DURATION:-10s}
MODES=${MODES:-single batch lookup}

PG_WHO=bench-cluster
# shellcheck source=scripts/pg.sh
source scripts/pg.sh
store="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
work=$(mktemp -d "${TMPDIR:-/tmp}/hulian-cluster.XXXXXX")
pids=()
stop_all() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap 'rc=$?; set +e; stop_all; rm -rf "$work"; (exit $rc); cleanup' EXIT

go build -o "$work/hulian" ./cmd/hulian
HULIAN_ADMIN_TOKEN="bench-cluster-$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')"
export HULIAN_ADMIN_TOKEN
serve_flags=(--store "$store" --settlement-cutoff none --lookup-rate 10000000 --lookup-burst 10000000)

free_addr() { # a loopback address nothing listens on
	local p
	while :; do
		p=$((20000 + RANDOM % 20000))
		(echo >"/dev/tcp/127.0.0.1/$p") 2>/dev/null || break
	done
	echo "127.0.0.1:$p"
}

wait_http() { # url path
	for _ in $(seq 1 200); do
		curl -sf "$1$2" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "bench-cluster: $1$2 did not answer" >&2
	tail -n 5 "$work"/*.log >&2
	return 1
}

# The keys, made once by a single switch and copied to every node.
seed_addr=$(free_addr)
"$work/hulian" serve --data "$work/seed" --addr "$seed_addr" "${serve_flags[@]}" >"$work/seed.log" 2>&1 &
seed_pid=$!
wait_http "http://$seed_addr" /healthz
kill "$seed_pid"
wait "$seed_pid" || true

urls=()
for i in $(seq 0 $((NODES - 1))); do
	cp -a "$work/seed" "$work/node$i"
	addr=$(free_addr)
	# shellcheck disable=SC2086
	"$work/hulian" serve --data "$work/node$i" --addr "$addr" --node-id "node$i" --advertise-addr "$addr" \
		"${serve_flags[@]}" ${SERVE_FLAGS:-} >"$work/node$i.log" 2>&1 &
	pids+=($!)
	urls+=("http://$addr")
done
leader=""
for _ in $(seq 1 200); do
	for u in "${urls[@]}"; do
		if curl -sf "$u/readyz" 2>/dev/null | grep -q '"leader"'; then leader=$u; fi
	done
	[ -n "$leader" ] && break
	sleep 0.1
done
[ -n "$leader" ] || { echo "bench-cluster: no node leads" >&2; tail -n 20 "$work"/node*.log >&2; exit 1; }
follower=""
for u in "${urls[@]}"; do [ "$u" != "$leader" ] && follower=$u && break; done
for u in "${urls[@]}"; do wait_http "$u" /readyz; done

echo "bench-cluster: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $NODES nodes, PostgreSQL on 127.0.0.1:$port; leader $leader, follower $follower"
echo "bench-cluster: setting up $PARTICIPANTS participants and $ALIASES aliases through the leader"
"$work/hulian" bench --target "$leader" --fleet "$work/fleet" --participants "$PARTICIPANTS" --aliases "$ALIASES" \
	--mode lookup --concurrency 8 --duration 1s --warmup 0s >"$work/setup.txt" 2>&1 || { cat "$work/setup.txt" >&2; exit 1; }
sleep 2 # the followers reload the participants every second
# The same fleet for the follower: one switch, another address.
[ -n "$follower" ] && sed "1s#\"target\":\"$leader\"#\"target\":\"$follower\"#" "$work/fleet" >"$work/fleet.follower"

roles="leader follower"
[ -z "$follower" ] && roles=leader # NODES=1: the leader alone, for comparison
for mode in $MODES; do
	for role in $roles; do
		url=$leader fleet=$work/fleet
		[ "$role" = follower ] && url=$follower fleet=$work/fleet.follower
		echo
		echo "== $mode via the $role ($url): hulian bench --mode $mode --concurrency $CONC --duration $DURATION"
		"$work/hulian" bench --target "$url" --fleet "$fleet" --mode "$mode" --concurrency "$CONC" --duration "$DURATION"
	done
done
