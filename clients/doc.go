// Package clients holds the tests of Hulian's client libraries, which are
// generated from the switch's OpenAPI document (internal/api/openapi.json)
// by `make clients` (scripts/clients.sh) and kept in the repository:
//
//   - clients/go, the Go client, a module of its own
//     (github.com/hulian/hulian/clients/go), made by oapi-codegen from the
//     document as clients/gospec prepares it, with a hand-written client.go;
//   - clients/ts, the TypeScript client, types made by openapi-typescript,
//     calls by openapi-fetch, with a hand-written src/index.ts.
//
// The tests check that the generated code is what the document generates
// now, that no money is a float, and run each library's example payment
// against a real switch on loopback. They need node and the npm packages
// of clients/ts (scripts/test.sh installs them); without them they skip,
// unless HULIAN_REQUIRE_CLIENTS=1 (as in scripts/test.sh), where they fail.
// See clients/README.md.
package clients
