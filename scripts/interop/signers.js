// Sends one FSPIOP request signed by a given sdk-standard-components
// JwsSigner to the switch and prints the switch's synchronous answer, so
// that scripts/interop/sdk.sh can compare how the switch treats the
// signatures of two generations of Mojaloop's signing code (SSC 17.x
// signs the body as JSON.stringify writes it; SSC 19.x signs it with
// its keys sorted, safe-stable-stringify).
//
// Usage: node signers.js SSC_DIR URL FSP_ID KEY_FILE BEARER
// It registers MSISDN 2779<random 7 digits> with POST /participants/MSISDN/{ID}
// and prints "<HTTP status> <body>".
'use strict';

const fs = require('fs');
const http = require('http');
const path = require('path');

const [sscDir, base, fspId, keyFile, bearer] = process.argv.slice(2);
const { Jws } = require(path.resolve(sscDir));
// SSC 17 calls isDebugEnabled(), SSC 19 reads it as a property (then debug is a no-op).
const quiet = { isDebugEnabled: () => false, debug() {}, child() { return quiet; } };
const signer = new Jws.signer({ logger: quiet, signingKey: fs.readFileSync(keyFile, 'utf8') });

const id = '2779' + String(Math.floor(Math.random() * 1e7)).padStart(7, '0');
const url = `${base}/participants/MSISDN/${id}`;
// Members out of alphabetical order, as the SDK's models write them.
const opts = {
    method: 'POST',
    uri: url,
    headers: {
        'content-type': 'application/vnd.interoperability.participants+json;version=1.1',
        accept: 'application/vnd.interoperability.participants+json;version=1.1',
        date: new Date().toUTCString(),
        'fspiop-source': fspId,
        authorization: `Bearer ${bearer}`,
    },
    body: { fspId, currency: 'USD' },
};
signer.sign(opts);
const body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);

const req = http.request(url, { method: 'POST', headers: opts.headers }, (res) => {
    let data = '';
    res.on('data', (c) => { data += c; });
    res.on('end', () => console.log(`${res.statusCode} ${data} body-sent=${body}`));
});
req.on('error', (e) => console.log(`ERR ${e.message}`));
req.end(body);
