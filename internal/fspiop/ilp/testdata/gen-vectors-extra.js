// Generates ilp-vectors-extra.json: a sub-id, 3-decimal currency, non-ASCII
// secret and names, HTML characters, U+2028 and an astral character in the note, an
// expiration with an offset (run with NODE_PATH pointing at an install of
// @mojaloop/sdk-standard-components@19.19.1; not run by the tests).
const { Ilp } = require('@mojaloop/sdk-standard-components');
const logger = { child(){return this;}, debug(){}, isDebugEnabled:false, warn(){}, info(){}, error(){} };
const quoteRequest = {
  quoteId: '0b8e2a0e-1c61-4c3e-9d7c-5f2a3c4b5d6e', transactionId: 'a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d',
  payee: { partyIdInfo: { partyIdType: 'ACCOUNT_ID', partyIdentifier: 'Acc-0042', partySubIdOrType: 'Savings', fspId: 'HulianBank' },
           name: 'Zoë & Sons <Ltd>', personalInfo: { complexName: { firstName: 'Zoë', lastName: 'Ngũgĩ' }, dateOfBirth: '1980-02-29' } },
  payer: { partyIdInfo: { partyIdType: 'MSISDN', partyIdentifier: '255712345678', fspId: 'tz-wallet' }, name: 'Juma' },
  amountType: 'RECEIVE', amount: { amount: '1.5', currency: 'KWD' },
  transactionType: { scenario: 'PAYMENT', subScenario: 'BILL_PAY', initiator: 'PAYER', initiatorType: 'BUSINESS', balanceOfPayments: '123' },
  extensionList: { extension: [{ key: 'k', value: 'v' }] } };
const quoteResponse = { transferAmount: { amount: '1.505', currency: 'KWD' }, expiration: '2027-02-28T23:59:59.999+02:00', note: 'line1\nline2 \u2028 "quoted" \u{1F600}' };
const out = { secret: 's3cr3t-\u00e9', quoteRequest, quoteResponse, note: 'generated with @mojaloop/sdk-standard-components@19.19.1 Ilp.ilpFactory(v1|v4).getQuoteResponseIlp' };
const safeStringify = require('safe-stable-stringify');
for (const v of ['v1', 'v4']) {
  const ilp = Ilp.ilpFactory(v, { secret: out.secret, logger });
  const r = ilp.getQuoteResponseIlp(quoteRequest, quoteResponse);
  const txn = ilp.getTransactionObject(r.ilpPacket);
  const dec = ilp.decodeIlpPacket(r.ilpPacket);
  out[v] = { ...r, packetHex: Buffer.from(r.ilpPacket, 'base64').toString('hex'), transactionObjectJSON: safeStringify(txn), amount: String(dec.amount), address: dec.account || dec.destination, expiresAt: dec.expiresAt ? dec.expiresAt.toISOString() : undefined };
}
console.log(JSON.stringify(out, null, 1));
