-- FSPIOP participants (issue 14): the base URL of a participant's
-- Mojaloop FSPIOP API ('' for a native participant) and the PEM public
-- key that verifies its FSPIOP-Signature ('' when it does not sign).
ALTER TABLE participants ADD COLUMN fspiop_endpoint TEXT NOT NULL DEFAULT '';
ALTER TABLE participants ADD COLUMN fspiop_jws_key TEXT NOT NULL DEFAULT '';

-- What the FSPIOP front end keeps of a payment beyond the ledger: the
-- condition its fulfilment must meet, the digest of the request that
-- created it (a repeat with another body is FSPIOP error 3106), its
-- deadline, and whether the participants were told of its end. Times
-- are unix nanoseconds.
CREATE TABLE fspiop_transfers (
    id          TEXT PRIMARY KEY,
    payer       TEXT NOT NULL,
    payee       TEXT NOT NULL,
    digest      BLOB NOT NULL,
    condition   TEXT NOT NULL,
    expires     INTEGER NOT NULL,
    state       TEXT NOT NULL,               -- RESERVED, COMMITTED or ABORTED as FSPIOP names them
    fulfilment  TEXT NOT NULL DEFAULT '',
    completed   INTEGER NOT NULL DEFAULT 0,
    created     INTEGER NOT NULL
);
CREATE INDEX fspiop_transfers_open ON fspiop_transfers (expires) WHERE state = 'RESERVED';

-- Quotes the switch answered itself (as a native payee's agent), so that
-- GET /quotes/{ID} and a repeated POST get the same answer until they
-- expire.
CREATE TABLE fspiop_quotes (
    id       TEXT PRIMARY KEY,
    payer    TEXT NOT NULL,
    digest   BLOB NOT NULL,
    answer   TEXT NOT NULL,
    expires  INTEGER NOT NULL
);
CREATE INDEX fspiop_quotes_expires ON fspiop_quotes (expires);
