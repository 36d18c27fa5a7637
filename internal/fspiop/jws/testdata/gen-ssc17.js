'use strict';
const fs = require('fs');
const path = require('path');
const { Jws } = require('/tmp/sdk/node_modules/@mojaloop/sdk-standard-components');
const quiet = { isDebugEnabled: () => false, debug() {}, child() { return quiet; } };
const dir = process.argv[2];
const out = [];
for (const [kind, file] of [['rsa', 'rsa-private.pem']]) {
  const signer = new Jws.signer({ logger: quiet, signingKey: fs.readFileSync(path.join(dir, file), 'utf8') });
  const cases = [
    { method: 'POST', uri: 'http://switch:4000/quotes', dest: 'payeefsp',
      body: { quoteId: '7c23e80c-d078-4077-8263-2c047876fcf6', transactionId: '85feac2f-39b2-491b-817e-4a03203d4f14',
        payee: { partyIdInfo: { partyIdType: 'MSISDN', partyIdentifier: '27713803912', fspId: 'payeefsp' } },
        payer: { personalInfo: { complexName: { lastName: 'Alpha', firstName: 'Alice' } }, partyIdInfo: { partyIdType: 'MSISDN', partyIdentifier: '44123456789', fspId: 'payerfsp' } },
        amountType: 'SEND', amount: { currency: 'USD', amount: '100.5' },
        transactionType: { scenario: 'TRANSFER', initiator: 'PAYER', initiatorType: 'CONSUMER' }, note: 'ünïcode 说明' } },
    { method: 'PUT', uri: 'http://switch:4000/parties/MSISDN/27713803912', dest: 'payerfsp',
      body: { party: { partyIdInfo: { partyIdType: 'MSISDN', partyIdentifier: '27713803912', fspId: 'payeefsp' }, name: 'Li Si' } } },
  ];
  for (const c of cases) {
    const opts = { method: c.method, uri: c.uri, headers: {
      'content-type': 'application/vnd.interoperability.x+json;version=1.0', date: 'Mon, 07 Dec 2026 01:40:00 GMT',
      'fspiop-source': 'payerfsp', 'fspiop-destination': c.dest }, body: c.body };
    signer.sign(opts);
    const body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
    out.push({ key: kind, method: c.method, headers: opts.headers, body });
  }
}
console.log(JSON.stringify(out, null, 1));
