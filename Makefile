# Hulian's entry points. The test harness is scripts/test.sh: it starts a
# throwaway PostgreSQL so that every test runs, none skips.
.PHONY: test demo bench bench-wrk clients

# Vet and test everything against a throwaway PostgreSQL.
test:
	bash scripts/test.sh

# Run the end-to-end demo.
demo:
	go run ./cmd/hulian demo

# Run the benchmarks (no tests). Those that need PostgreSQL skip unless
# HULIAN_TEST_POSTGRES names a server.
bench:
	go test -run XXX -bench . ./...

# Measure the HTTP API with wrk (installed with apt-get when missing), as
# an operator would: see scripts/bench-wrk.sh for its settings.
bench-wrk:
	bash scripts/bench-wrk.sh

# Regenerate the client libraries (clients/go, clients/ts) from the
# switch's OpenAPI document: see clients/README.md. make test fails while
# they are not what the document generates.
clients:
	bash scripts/clients.sh
