// Checks, offline, what an SDK actually signed: it takes the first signed
// request to PATH_PART in an SDK scheme adapter's debug log (the
// "Executing HTTP PUT|POST" lines) and verifies its FSPIOP-Signature with
// the sender's public key twice — over the body bytes as sent (what
// sdk-standard-components 17.x signs) and over the body with its keys
// sorted (safe-stable-stringify, what 19.x signs and what Hulian checks).
//
// Usage: node jwscheck.js SDK_LOG PUBLIC_KEY.pem PATH_PART
'use strict';

const fs = require('fs');
const crypto = require('crypto');

const [logFile, pemFile, pathPart] = process.argv.slice(2);
const stable = (v) => Array.isArray(v) ? '[' + v.map(stable).join(',') + ']'
    : (v && typeof v === 'object')
        ? '{' + Object.keys(v).sort().map((k) => JSON.stringify(k) + ':' + stable(v[k])).join(',') + '}'
        : JSON.stringify(v);
const b64 = (s) => Buffer.from(s).toString('base64url');

for (const line of fs.readFileSync(logFile, 'utf8').split('\n')) {
    if (!/"msg":"Executing HTTP (PUT|POST): /.test(line)) continue;
    const m = JSON.parse(line).msg;
    const ro = JSON.parse(m.slice(m.indexOf('{'))).reqOpts;
    if (!ro.headers['fspiop-signature'] || !ro.uri.includes(pathPart)) continue;
    const sig = JSON.parse(ro.headers['fspiop-signature']);
    const check = (body) => crypto.verify('sha256', Buffer.from(sig.protectedHeader + '.' + b64(body)),
        fs.readFileSync(pemFile), Buffer.from(sig.signature, 'base64url'));
    console.log(`${ro.method} ${ro.uri} raw-bytes:${check(ro.body)} sorted:${check(stable(JSON.parse(ro.body)))}`);
    process.exit(0);
}
console.log(`no signed request to ${pathPart} in ${logFile}`);
process.exit(1);
