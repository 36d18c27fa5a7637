// verify-go-signed.js checks go-signed.json (requests signed by this
// package's Signer, written by `go test -run TestGoSigned -update`) with
// sdk-standard-components' own JWS validator, given the body as Koa would:
// JSON.parse of the bytes sent. Run it where the package is installed:
//
//	NODE_PATH=/path/to/node_modules node verify-go-signed.js
//
// It also checks that each body is what safe-stable-stringify makes of it,
// and that a tampered body fails.
'use strict';
const fs = require('fs');
const path = require('path');
const { Jws } = require('@mojaloop/sdk-standard-components');
const safeStringify = require('safe-stable-stringify');

const logger = { child() { return this; }, debug() {}, isDebugEnabled: false, error() {}, info() {}, warn() {}, push() { return this; }, log() {} };
const key = (n) => fs.readFileSync(path.join(__dirname, `${n}-public.pem`), 'utf8');
const reqs = JSON.parse(fs.readFileSync(path.join(__dirname, 'go-signed.json'), 'utf8'));
let failed = 0;
for (const r of reqs) {
    const name = `${r.key} ${r.method} ${r.uri}`;
    const validator = new Jws.validator({ logger, validationKeys: { [r.headers['fspiop-source']]: key(r.key) } });
    const body = JSON.parse(r.body);
    try {
        if (safeStringify(body) !== r.body) throw new Error('body is not in canonical form');
        validator.validate({ headers: r.headers, body });
        console.log(`ok      ${name}`);
    } catch (e) {
        failed++;
        console.log(`FAILED  ${name}: ${e.message}`);
    }
    try {
        validator.validate({ headers: r.headers, body: { ...body, tampered: 'yes' } });
        failed++;
        console.log(`FAILED  ${name}: a tampered body verified`);
    } catch (e) { /* expected */ }
}
console.log(`${reqs.length - failed} of ${reqs.length} verified by SSC`);
process.exit(failed ? 1 : 0);
