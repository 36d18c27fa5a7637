// A minimal core connector for Mojaloop's SDK scheme adapter (its
// "backend" API), so that scripts/interop/sdk.sh can run the real SDK as
// a DFSP against Hulian without a real wallet behind it.
//
// It knows the parties in PARTIES (JSON: {"MSISDN/27713803912":
// {"firstName":…,"lastName":…}}), answers every quote with a fee-free
// quote for the requested amount, accepts every transfer, and appends
// each request it gets to LOG (one JSON line), which the script reads to
// show what the payee's side saw.
//
// Usage: PORT=… PARTIES='{…}' LOG=file node backend.js
'use strict';

const http = require('http');
const fs = require('fs');

const port = Number(process.env.PORT);
const parties = JSON.parse(process.env.PARTIES || '{}');
const logFile = process.env.LOG || '/dev/null';

function send(res, status, body) {
    const text = body === undefined ? '' : JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(text);
}

function handle(method, path, body) {
    let m;
    if (method === 'GET' && (m = path.match(/^\/parties\/([^/]+)\/([^/]+)(?:\/([^/]+))?$/))) {
        const [, idType, idValue, idSubValue] = m;
        const p = parties[`${idType}/${decodeURIComponent(idValue)}`];
        if (!p) {
            // The SDK maps a backend error body's statusCode to the FSPIOP error code.
            return [404, { statusCode: '3204', message: 'Party not found' }];
        }
        return [200, {
            idType, idValue: decodeURIComponent(idValue), idSubValue,
            displayName: `${p.firstName} ${p.lastName}`,
            firstName: p.firstName, lastName: p.lastName,
            dateOfBirth: p.dateOfBirth || '1980-01-01',
        }];
    }
    if (method === 'POST' && path === '/quoterequests') {
        return [200, {
            quoteId: body.quoteId,
            transactionId: body.transactionId,
            transferAmount: body.amount,
            transferAmountCurrency: body.currency,
            payeeReceiveAmount: body.amount,
            payeeReceiveAmountCurrency: body.currency,
        }];
    }
    if (method === 'POST' && path === '/transfers') {
        return [200, { homeTransactionId: `home-${body.transferId}` }];
    }
    if (method === 'PUT' && path.startsWith('/transfers/')) {
        return [200, {}];
    }
    if (method === 'GET' && path.startsWith('/transfers/')) {
        return [404, { statusCode: '3208', message: 'Transfer not found' }];
    }
    return [404, { statusCode: '3000', message: `no route ${method} ${path}` }];
}

http.createServer((req, res) => {
    let data = '';
    req.on('data', (c) => { data += c; });
    req.on('end', () => {
        let body;
        try {
            body = data ? JSON.parse(data) : undefined;
        } catch (e) {
            return send(res, 400, { statusCode: '3101', message: 'malformed JSON' });
        }
        const [status, answer] = handle(req.method, req.url, body);
        fs.appendFileSync(logFile, JSON.stringify({ method: req.method, path: req.url, body, status }) + '\n');
        send(res, status, answer);
    });
}).listen(port, '127.0.0.1');
