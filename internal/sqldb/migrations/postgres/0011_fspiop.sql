-- FSPIOP participants (issue 14): the base URL of a participant's
-- Mojaloop FSPIOP API ('' for a native participant) and the PEM public
-- key that verifies its FSPIOP-Signature ('' when it does not sign).
ALTER TABLE participants ADD COLUMN fspiop_endpoint text NOT NULL DEFAULT '';
ALTER TABLE participants ADD COLUMN fspiop_jws_key text NOT NULL DEFAULT '';

-- What the FSPIOP front end keeps of a payment beyond the ledger: the
-- condition its fulfilment must meet, the digest of the request that
-- created it (a repeat with another body is FSPIOP error 3106), its
-- deadline, and whether the participants were told of its end. Times
-- are unix nanoseconds.
CREATE TABLE fspiop_transfers (
    id          text PRIMARY KEY,
    payer       text NOT NULL,
    payee       text NOT NULL,
    digest      bytea NOT NULL,
    condition   text NOT NULL,
    expires     bigint NOT NULL,
    state       text NOT NULL,               -- RESERVED, COMMITTED or ABORTED as FSPIOP names them
    fulfilment  text NOT NULL DEFAULT '',
    completed   bigint NOT NULL DEFAULT 0,
    created     bigint NOT NULL
);
CREATE INDEX fspiop_transfers_open ON fspiop_transfers (expires) WHERE state = 'RESERVED';

-- Quotes the switch answered itself (as a native payee's agent), so that
-- GET /quotes/{ID} and a repeated POST get the same answer until they
-- expire.
CREATE TABLE fspiop_quotes (
    id       text PRIMARY KEY,
    payer    text NOT NULL,
    digest   bytea NOT NULL,
    answer   text NOT NULL,
    expires  bigint NOT NULL
);
CREATE INDEX fspiop_quotes_expires ON fspiop_quotes (expires);
