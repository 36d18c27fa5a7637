// gen-ssc.js produces this directory's golden vectors with Mojaloop's own
// code: sdk-standard-components' JWS signer and validator and its
// safe-stable-stringify. Run it from a directory where
// @mojaloop/sdk-standard-components is installed:
//
//	NODE_PATH=/path/to/node_modules node gen-ssc.js [--keys]
//
// --keys makes new key files; without it the keys in this directory are
// reused, so that the vectors change only when the code does.
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const { Jws } = require('@mojaloop/sdk-standard-components');
const safeStringify = require('safe-stable-stringify');

const dir = __dirname;
const file = (n) => path.join(dir, n);
const logger = { child() { return this; }, debug() {}, isDebugEnabled: false, error() {}, info() {}, warn() {}, push() { return this; }, log() {} };

if (process.argv.includes('--keys')) {
    const rsa = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
    fs.writeFileSync(file('rsa-private.pem'), rsa.privateKey.export({ type: 'pkcs1', format: 'pem' }));
    fs.writeFileSync(file('rsa-private-pkcs8.pem'), rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    fs.writeFileSync(file('rsa-public.pem'), rsa.publicKey.export({ type: 'spki', format: 'pem' }));
    fs.writeFileSync(file('rsa-public-pkcs1.pem'), rsa.publicKey.export({ type: 'pkcs1', format: 'pem' }));
    const ec = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    fs.writeFileSync(file('ec-private.pem'), ec.privateKey.export({ type: 'sec1', format: 'pem' }));
    fs.writeFileSync(file('ec-private-pkcs8.pem'), ec.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    fs.writeFileSync(file('ec-public.pem'), ec.publicKey.export({ type: 'spki', format: 'pem' }));
    // Keys Hulian must refuse.
    const rsa1024 = crypto.generateKeyPairSync('rsa', { modulusLength: 1024 });
    fs.writeFileSync(file('rsa1024-public.pem'), rsa1024.publicKey.export({ type: 'spki', format: 'pem' }));
    fs.writeFileSync(file('rsa1024-private.pem'), rsa1024.privateKey.export({ type: 'pkcs1', format: 'pem' }));
    const p384 = crypto.generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
    fs.writeFileSync(file('p384-public.pem'), p384.publicKey.export({ type: 'spki', format: 'pem' }));
    fs.writeFileSync(file('p384-private.pem'), p384.privateKey.export({ type: 'sec1', format: 'pem' }));
    const ed = crypto.generateKeyPairSync('ed25519');
    fs.writeFileSync(file('ed25519-public.pem'), ed.publicKey.export({ type: 'spki', format: 'pem' }));
}

const keys = {
    rsa: { priv: fs.readFileSync(file('rsa-private.pem'), 'utf8'), pub: fs.readFileSync(file('rsa-public.pem'), 'utf8') },
    ec: { priv: fs.readFileSync(file('ec-private.pem'), 'utf8'), pub: fs.readFileSync(file('ec-public.pem'), 'utf8') },
};

const date = 'Mon, 07 Dec 2026 00:50:48 GMT';
const cases = [
    {
        name: 'put-quotes-callback', key: 'rsa', method: 'put', uri: 'http://switch:4000/quotes/7c23e80c-d078-4077-8263-2c047876fcf6',
        headers: { 'fspiop-source': 'payeefsp', 'fspiop-destination': 'payerfsp', date },
        input: '{"transferAmount":{"currency":"USD","amount":"100.5"},"expiration":"2026-12-07T01:00:00.000Z","ilpPacket":"AYIC","condition":"DQHN7LxN7cQLwiM0Kj1jF8uvHC4Ffp_flx7qttdmgxw"}',
    },
    {
        name: 'post-transfers-nested', key: 'rsa', method: 'POST', uri: 'http://hub.example:3000/switch/transfers',
        headers: { 'fspiop-source': 'payerfsp', 'fspiop-destination': 'payeefsp', date },
        input: `{
  "transferId": "b51ec534-ee48-4575-b6a9-ead2955b8069",
  "payerFsp": "payerfsp", "payeeFsp": "payeefsp",
  "amount": {"currency": "XOF", "amount": "1500"},
  "ilpPacket": "AYIBgQAAAAAAAASwNGxldmVsb25lLmRmc3AxLm1lci45T2RTOF81MDdqUUZERmZlakgyOVc4bXFmNEpLMHlGTFGCAUBQU0svMS4wCk5vbmNlOiB1SXlweUYzY3pYSXBFdzVVc05TYWh3CkVuY3J5cHRpb246IG5vbmUKUGF5bWVudC1JZDogMTMyMzZhM2ItOGZhOC00MTYzLTg0NDctNGMzZWQzZGE5OGE3CgpDb250ZW50LUxlbmd0aDogMTM1CkNvbnRlbnQtVHlwZTogYXBwbGljYXRpb24vanNvbgpTZW5kZXItSWRlbnRpZmllcjogOTI4MDYzOTEKCiJ7XCJmZWVcIjowLFwidHJhbnNmZXJDb2RlXCI6XCJpbnZvaWNlXCIsXCJkZWJpdE5hbWVcIjpcImFsaWNlIGNvb3BlclwiLFwiY3JlZGl0TmFtZVwiOlwibWVyIGNoYW50XCIsXCJkZWJpdElkZW50aWZpZXJcIjpcIjkyODA2MzkxXCJ9IgA",
  "condition": "f5sqb7tBTWPd5Y8BDFdMm9BJR_MNI4isf8p8n4D5pHA",
  "expiration": "2026-12-07T01:00:00.000Z",
  "extensionList": {"extension": [{"key": "z", "value": "last"}, {"key": "a", "value": "first"}, {"value": "no key first", "key": "m"}]}
}`,
    },
    {
        name: 'post-quotes-unicode', key: 'rsa', method: 'post', uri: 'http://switch:4000/quotes',
        headers: { 'fspiop-source': 'payerfsp', 'fspiop-destination': 'payeefsp', date },
        input: JSON.stringify({
            quoteId: '8d5e7d5c-5e6e-4c5e-9b6e-3a1f0f1c2d3e', transactionId: '2e9f5c1a-0b6d-4a4e-8f3a-7c9d1e2f3a4b',
            payee: { partyIdInfo: { partyIdType: 'MSISDN', partyIdentifier: '27713803912', fspId: 'payeefsp' } },
            payer: {
                name: 'Zoë Ñandú 李小龍 😀', personalInfo: { complexName: { firstName: 'Ólafur', middleName: 'Þór', lastName: 'Müller-Łukasz' }, dateOfBirth: '1984-01-01' },
                partyIdInfo: { partyIdType: 'MSISDN', partyIdentifier: '2547 \u2028 \u2029', fspId: 'payerfsp' },
            },
            amountType: 'SEND', amount: { amount: '12.5', currency: 'KES' },
            transactionType: { scenario: 'TRANSFER', initiator: 'PAYER', initiatorType: 'CONSUMER' },
            note: 'quote "quoted" back\\slash\nnew line\ttab \u0001\u001f\u007f <b>&amp;</b> \u00e9',
            'é': 'key e-acute', 'z': 'ascii z', 'Z': 'upper', '\uff61': 'halfwidth', '😀': 'astral key', '': 'empty key', '10': 'ten', '9': 'nine',
        }, null, 1),
    },
    {
        name: 'put-parties', key: 'rsa', method: 'PUT', uri: 'http://payer-sdk:4000/parties/MSISDN/27713803912',
        headers: { 'fspiop-source': 'payeefsp', 'fspiop-destination': 'payerfsp', date },
        input: '{"party":{"partyIdInfo":{"partyIdType":"MSISDN","partyIdentifier":"27713803912","fspId":"payeefsp"},"name":"J\\u00f6rg \\"Jo\\" Sm\\u0131th","personalInfo":{"complexName":{"firstName":"J\\u00f6rg","lastName":"Sm\\u0131th"}}}}',
    },
    {
        name: 'put-transfers-error-no-destination', key: 'rsa', method: 'PUT', uri: 'http://payer-sdk:4000/transfers/b51ec534-ee48-4575-b6a9-ead2955b8069/error',
        headers: { 'fspiop-source': 'switch', date },
        input: '{"errorInformation":{"errorCode":"3100","errorDescription":"Generic validation error - amount \\/ currency","extensionList":{"extension":[{"key":"cause","value":"\\u003cnone\\u003e"}]}}}',
    },
    {
        name: 'patch-transfers-no-date', key: 'rsa', method: 'PATCH', uri: 'http://payee-sdk:4000/transfers/b51ec534-ee48-4575-b6a9-ead2955b8069',
        headers: { 'fspiop-source': 'switch', 'fspiop-destination': 'payeefsp' },
        input: '{"completedTimestamp":"2026-12-07T00:50:49.123Z","transferState":"COMMITTED"}',
    },
    {
        name: 'post-participants-query', key: 'rsa', method: 'POST', uri: 'http://switch:4000/participants/MSISDN/27713803912?currency=USD',
        headers: { 'fspiop-source': 'payerfsp', date },
        input: '{"fspId":"payerfsp","currency":"USD"}',
    },
    {
        name: 'es256-put-transfers', key: 'ec', method: 'PUT', uri: 'http://switch:4000/transfers/b51ec534-ee48-4575-b6a9-ead2955b8069',
        headers: { 'fspiop-source': 'payeefsp', 'fspiop-destination': 'payerfsp', date },
        input: '{"transferState":"COMMITTED","fulfilment":"mhPUT9ZAwd-BXLfeSd7-YPh46rBWRNBiTCSWjpku90s","completedTimestamp":"2026-12-07T00:50:49.123Z"}',
    },
    {
        name: 'es256-post-quotes-unicode', key: 'ec', method: 'POST', uri: 'http://switch:4000/quotes',
        headers: { 'fspiop-source': 'payerfsp', 'fspiop-destination': 'payeefsp', date },
        input: '{"quoteId":"q1","payer":{"name":"Ama Ṣàngó 😀 \\ud83d\\ude00","partyIdInfo":{"partyIdType":"MSISDN","partyIdentifier":"233200000000"}},"list":[3,2,1,{"b":[],"a":{}}],"flags":[true,false,null]}',
    },
];

const signed = [];
for (const c of cases) {
    const signer = new Jws.signer({ logger, signingKey: keys[c.key].priv });
    const req = { method: c.method, uri: c.uri, headers: { ...c.headers }, body: JSON.parse(c.input) };
    signer.sign(req);
    const validator = new Jws.validator({ logger, validationKeys: { [c.headers['fspiop-source']]: keys[c.key].pub } });
    validator.validate({ headers: req.headers, body: JSON.parse(req.body) }); // throws if SSC disagrees with itself
    const out = { name: c.name, key: c.key, method: c.method, uri: c.uri, input: c.input, body: req.body, headers: {} };
    for (const h of ['date', 'fspiop-source', 'fspiop-destination', 'fspiop-uri', 'fspiop-http-method', 'fspiop-signature']) {
        if (req.headers[h] !== undefined) out.headers[h] = req.headers[h];
    }
    signed.push(out);
}
fs.writeFileSync(file('ssc-signed.json'), JSON.stringify(signed, null, 1) + '\n');

// Canonical form: JSON text in, safe-stable-stringify of JSON.parse out.
const texts = [
    '{}', '[]', '""', '0', '-0', 'null', 'true', 'false', ' { "b" : 1 , "a" : [ 1 , 2 ] } ',
    '{"a":{"c":{"e":"f","d":"g"},"b":[{"z":1,"y":2}]}}',
    '"\\u0000\\u0001\\u0007\\b\\t\\n\\u000b\\f\\r\\u000e\\u001f \\u007f"',
    '"\\"\\\\\\/"', '"<>&\'"', '"\\u003c\\u003e\\u0026"', '"\\u2028\\u2029 \u2028"',
    '"\\ud800"', '"\\udc00"', '"\\ud83d\\ude00"', '"\\ude00\\ud83d"', '"a\\ud83dz"', '"\\uD83D\\uDE00"', '"\\uDBFF\\uDFFF"', '"\\uFFFF\\uFFFE"',
    '{"\\ud800":1,"\\uffff":2,"\\ud83d\\ude00":3,"\\ue000":4,"a":5,"\\u00e9":6,"\\ud7ff":7,"\\udbff":8}',
    '{"10":1,"9":2,"1":3,"":4,"01":5,"a":6,"A":7,"_":8,"~":9}',
    '{"__proto__":{"x":1},"constructor":2,"toString":3}',
    '[1.0,1e2,1E+2,-1.5e-7,0.1,1e21,1e20,123456789012345678901234567890,0.000001,0.0000001,12.34e-5]',
    '[5e-324,2.2250738585072014e-308,1.7976931348623157e308,-1.7976931348623157e308,1e400,-1e400,1e-400,-0.0,4.35,0.3]',
    '[9007199254740993,9007199254740992,-9007199254740993,1.00000000000000011,100000000000000000000,1000000000000000000000]',
    '[[[[[[[[[[[]]]]]]]]]]]',
    '{"payee":{"partyIdInfo":{"partyIdType":"MSISDN","partyIdentifier":"27713803912"}},"amount":{"currency":"ZAR","amount":"10"}}',
    '"Zoë Ñandú 李小龍 😀 \\u00e9 é"',
];
// Random doubles written three ways each; the canonical form is String(x).
let seed = 20261207;
const rnd = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed; };
const nums = [];
const buf = Buffer.alloc(8);
for (let i = 0; i < 600; i++) {
    for (let j = 0; j < 8; j++) buf[j] = rnd() & 0xff;
    let x = buf.readDoubleBE(0);
    if (!isFinite(x)) continue;
    if (i % 3 === 1) x = (rnd() % 100000) / Math.pow(10, rnd() % 12);
    if (i % 3 === 2) x = rnd() * Math.pow(10, (rnd() % 40) - 20);
    nums.push(x.toPrecision(17), x.toExponential(), String(x));
}
texts.push('[' + nums.join(',') + ']');
// Random documents: keys and strings from every part of UTF-16 that sorts
// differently (ASCII, Latin-1, BMP below and above the surrogates, astral
// pairs, lone surrogates, controls), in random order and spacing.
const alphabet = ['a', 'B', 'z', '0', '_', '~', ' ', '"', '\\', '/', '\u0000', '\u001f', '\u007f', '\u00e9', '\u00ff', '\u0131',
    '\u2028', '\ud7ff', '\ud800', '\udbff', '\udc00', '\ue000', '\uff61', '\uffff', '\ud83d\ude00', '\ud800\udc00', '\udbff\udfff', '<', '&'];
const word = () => { let w = ''; for (let n = rnd() % 5; n > 0; n--) w += alphabet[rnd() % alphabet.length]; return w; };
const doc = (depth) => {
    switch (depth > 3 ? rnd() % 4 : rnd() % 7) {
    case 0: return word();
    case 1: return (rnd() % 2000 - 1000) / Math.pow(10, rnd() % 5);
    case 2: return [true, false, null][rnd() % 3];
    case 3: return word() + word();
    case 4: case 5: { const o = {}; for (let n = rnd() % 6; n > 0; n--) o[word()] = doc(depth + 1); return o; }
    default: { const a = []; for (let n = rnd() % 4; n > 0; n--) a.push(doc(depth + 1)); return a; }
    }
};
for (let i = 0; i < 150; i++) texts.push(JSON.stringify(doc(0), null, [0, 1, '\t', ' \r\n'][i % 4]));
const canon = texts.map((t) => ({ input: t, canonical: safeStringify(JSON.parse(t)) }));
fs.writeFileSync(file('canonical.json'), JSON.stringify(canon, null, 1) + '\n');
console.log(`wrote ${signed.length} signed requests and ${canon.length} canonical forms`);
