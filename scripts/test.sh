#!/usr/bin/env bash
# Runs Hulian's tests against a throwaway PostgreSQL server.
#
#   scripts/test.sh                                # go vet ./... and go test ./...
#   scripts/test.sh ./internal/store/...           # only these packages
#   scripts/test.sh -run Foo -v ./internal/store/...   # extra go test flags
#
# It installs PostgreSQL with apt-get if its server binaries are missing,
# starts a fresh cluster in a temporary directory (loopback only, a free
# port, fsync on), exports HULIAN_TEST_POSTGRES and HULIAN_REQUIRE_POSTGRES=1
# so that no PostgreSQL test can skip, installs node (apt-get) and the
# FSPIOP validator's npm packages (npm ci) if they are missing, so that
# the FSPIOP tests check messages against Mojaloop's OpenAPI definitions
# rather than skip, the TypeScript client's npm packages (clients/ts) for
# the client libraries' tests, and xmllint (libxml2-utils) for the ISO 20022 XSDs,
# zbarimg (zbar-tools) for the QR images, promtool (prometheus) for the
# alert rules, chromium for the console's browser tests,
# runs go vet and go test, and always
# stops the cluster and removes the directory. Its exit status is go test's.
set -euo pipefail

cd "$(dirname "$0")/.."

PG_WHO=test.sh
# shellcheck source=scripts/pg.sh
source scripts/pg.sh

# The FSPIOP tests check messages against Mojaloop's OpenAPI definitions
# with node (internal/fspiop/spec): install Debian's node and npm if they
# are missing, and the validator's pinned npm packages if they are missing
# or older than its lock file.
validator=internal/fspiop/spec/validator
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	echo "$PG_WHO: node or npm not found; installing nodejs and npm with apt-get" >&2
	as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi
if [ ! -f "$validator/node_modules/.package-lock.json" ] || [ "$validator/package-lock.json" -nt "$validator/node_modules/.package-lock.json" ]; then
	echo "$PG_WHO: installing $validator/node_modules with npm ci" >&2
	npm ci --no-audit --no-fund --loglevel=error --prefix "$validator" >/dev/null
fi

# The client libraries' tests (clients/) compile the TypeScript client
# with tsc and run its example with node: install its pinned npm packages
# if they are missing or older than its lock file, and make those tests
# fail rather than skip without them.
clients_ts=clients/ts
if [ ! -f "$clients_ts/node_modules/.package-lock.json" ] || [ "$clients_ts/package-lock.json" -nt "$clients_ts/node_modules/.package-lock.json" ]; then
	echo "$PG_WHO: installing $clients_ts/node_modules with npm ci" >&2
	npm ci --no-audit --no-fund --loglevel=error --prefix "$clients_ts" >/dev/null
fi
export HULIAN_REQUIRE_CLIENTS=1

# The ISO 20022 tests validate every message the switch renders against
# the official XSDs with xmllint (internal/iso20022/msg): install it if
# missing, and make those tests fail rather than skip without it.
if ! command -v xmllint >/dev/null 2>&1; then
	echo "$PG_WHO: xmllint not found; installing libxml2-utils with apt-get" >&2
	as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libxml2-utils >/dev/null
fi
export HULIAN_REQUIRE_XMLLINT=1

# The QR tests read the codes' images back with a second, standard
# reader, zbarimg (zbar-tools), besides ZXing: install it if missing.
if ! command -v zbarimg >/dev/null 2>&1; then
	echo "$PG_WHO: zbarimg not found; installing zbar-tools with apt-get" >&2
	as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq zbar-tools >/dev/null
fi
export HULIAN_REQUIRE_ZBARIMG=1

# The metrics tests load the alert rules with Prometheus's rule parser and
# run their unit tests (promtool, internal/metrics): install Debian's
# prometheus package, which ships it, if missing.
if ! command -v promtool >/dev/null 2>&1; then
	echo "$PG_WHO: promtool not found; installing prometheus with apt-get" >&2
	as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus >/dev/null
fi
export HULIAN_REQUIRE_PROMTOOL=1

# The console's browser tests drive a headless Chromium with chromedp
# (internal/console): install Debian's chromium if missing, and make
# those tests fail rather than skip without it.
if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
	echo "$PG_WHO: chromium not found; installing chromium with apt-get" >&2
	as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
export HULIAN_REQUIRE_CHROMIUM=1

export HULIAN_TEST_POSTGRES="postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
export HULIAN_REQUIRE_POSTGRES=1

# Arguments that name packages (./x, ../x, ., or an import path of this
# module) go to go vet too; without any, both run on ./...
pkgs=()
for a in "$@"; do
	case "$a" in
	./* | ../* | . | github.com/hulian/hulian*) pkgs+=("$a") ;;
	esac
done
args=("$@")
if [ "${#pkgs[@]}" -eq 0 ]; then
	pkgs=(./...)
	args+=(./...)
fi

go vet "${pkgs[@]}"
rc=0
go test -count=1 -timeout 15m "${args[@]}" || rc=$?
exit "$rc"
