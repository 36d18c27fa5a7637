#!/usr/bin/env bash
# Generates Hulian's client libraries from the switch's OpenAPI document
# (internal/api/openapi.json); `make clients` runs it. See clients/README.md.
#
#   scripts/clients.sh             # regenerate in place
#   scripts/clients.sh --out DIR   # write DIR/go/hulian.gen.go and DIR/ts/src/schema.ts
#                                  # instead (the test that they are up to date)
#
# Go: clients/gospec prepares the document for oapi-codegen, which
# clients/go/oapi-codegen.yaml configures; the generator is run at a pinned
# version with `go run …@v2.8.2` (checked against the checksum database),
# so that neither the switch's go.mod nor the client's takes its
# dependencies. TypeScript: openapi-typescript, pinned in
# clients/ts/package-lock.json, reads the 3.1 document as it is; the npm
# packages are installed with `npm ci` when missing or older than the lock.
set -euo pipefail

cd "$(dirname "$0")/.."

oapi_codegen=github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen@v2.8.2
spec=internal/api/openapi.json

out=clients
case "${1:-}" in
--out)
	[ $# -eq 2 ] || { echo "usage: $0 [--out DIR]" >&2; exit 2; }
	out=$2
	;;
"") ;;
*)
	echo "usage: $0 [--out DIR]" >&2
	exit 2
	;;
esac
mkdir -p "$out/go" "$out/ts/src"
out=$(cd "$out" && pwd)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Go.
go run ./clients/gospec -o "$tmp/openapi.json" "$spec"
(cd clients/go && go run "$oapi_codegen" -config oapi-codegen.yaml -o "$out/go/hulian.gen.go" "$tmp/openapi.json")

# TypeScript.
ts=clients/ts
if [ ! -f "$ts/node_modules/.package-lock.json" ] || [ "$ts/package-lock.json" -nt "$ts/node_modules/.package-lock.json" ]; then
	echo "clients.sh: installing $ts/node_modules with npm ci" >&2
	npm ci --no-audit --no-fund --loglevel=error --prefix "$ts" >/dev/null
fi
node "$ts/node_modules/openapi-typescript/bin/cli.js" "$spec" --output "$out/ts/src/schema.ts" >/dev/null
