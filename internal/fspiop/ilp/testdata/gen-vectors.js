// Generates ilp-vectors.json (run with NODE_PATH pointing at an install of
// @mojaloop/sdk-standard-components@19.19.1; not run by the tests).
const { Ilp } = require('@mojaloop/sdk-standard-components');
const safeStringify = require('safe-stable-stringify');
const logger = { child(){return this;}, debug(){}, isDebugEnabled:false, warn(){}, info(){}, error(){} };
const quoteRequest = {
  quoteId: '7c23e80c-d078-4077-8263-2c047876fcf6', transactionId: '85feac2f-39b2-491b-817e-4a03203d4f14',
  payee: { partyIdInfo: { partyIdType: 'MSISDN', partyIdentifier: '27713803912', fspId: 'payeefsp' } },
  payer: { partyIdInfo: { partyIdType: 'MSISDN', partyIdentifier: '44123456789', fspId: 'payerfsp' }, name: 'Alice Alpha' },
  amountType: 'SEND', amount: { amount: '100', currency: 'USD' },
  transactionType: { scenario: 'TRANSFER', initiator: 'PAYER', initiatorType: 'CONSUMER' } };
const quoteResponse = { transferAmount: { amount: '100.5', currency: 'USD' }, expiration: '2026-12-07T01:00:00.000Z' };
const out = { secret: 'mojaloop-sdk', quoteRequest, quoteResponse, note: 'generated with @mojaloop/sdk-standard-components@19.19.1 Ilp.ilpFactory(v1|v4).getQuoteResponseIlp' };
for (const v of ['v1', 'v4']) {
  const ilp = Ilp.ilpFactory(v, { secret: 'mojaloop-sdk', logger });
  const r = ilp.getQuoteResponseIlp(quoteRequest, quoteResponse);
  const txn = ilp.getTransactionObject(r.ilpPacket);
  out[v] = { ...r, packetHex: Buffer.from(r.ilpPacket, 'base64').toString('hex'), transactionObjectJSON: safeStringify(txn) };
}
console.log(JSON.stringify(out, null, 1));
