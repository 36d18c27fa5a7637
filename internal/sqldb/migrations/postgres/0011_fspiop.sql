-- FSPIOP participants (issue 14): the base URL of a participant's
-- Mojaloop FSPIOP API ('' for a native participant) and the PEM public
-- key that verifies its FSPIOP-Signature ('' when it does not sign).
ALTER TABLE participants ADD COLUMN fspiop_endpoint text NOT NULL DEFAULT '';
ALTER TABLE participants ADD COLUMN fspiop_jws_key text NOT NULL DEFAULT '';

-- What the FSPIOP front end keeps of a payment beyond the ledger: its
-- FSPIOP transferId (a UUID) and the switch's transfer id (the same for a
-- payment an FSPIOP payer started; derived from it for a native payer's),
-- the condition its fulfilment must meet, the digest of the request that
-- created it (a repeat with another body is FSPIOP error 3106), its
-- deadline, its state as the participants were last told it, and whether
-- the payee asked to be told of the commit (a fulfilment in state
-- RESERVED: a PATCH follows), and, for a payment between two FSPIOP
-- participants that risk control held, the prepare to relay once the
-- operator releases it. Times are unix nanoseconds.
CREATE TABLE fspiop_transfers (
    id          text PRIMARY KEY,
    transfer_id text NOT NULL UNIQUE,
    payer       text NOT NULL,
    payee       text NOT NULL,
    digest      bytea NOT NULL,
    condition   text NOT NULL,
    expires     bigint NOT NULL,
    state       text NOT NULL,               -- RESERVED, COMMITTED or ABORTED as FSPIOP names them
    fulfilment  text NOT NULL DEFAULT '',
    completed   bigint NOT NULL DEFAULT 0,
    patch       integer NOT NULL DEFAULT 0,      -- 1: send the payee a PATCH once the ledger decided
    held        text NOT NULL DEFAULT '',      -- JSON: the held prepare's headers and body
    created     bigint NOT NULL
);
CREATE INDEX fspiop_transfers_open ON fspiop_transfers (expires) WHERE state = 'RESERVED';

-- Quotes the switch answered itself (as a native payee's agent), so that
-- GET /quotes/{ID} and a repeated POST get the same answer until they
-- expire, with the switch's own quote that locks the scheme fee for the
-- transfer that follows.
CREATE TABLE fspiop_quotes (
    id       text PRIMARY KEY,
    payer    text NOT NULL,
    digest   bytea NOT NULL,
    answer   text NOT NULL,
    native   text NOT NULL,
    expires  bigint NOT NULL
);
CREATE INDEX fspiop_quotes_expires ON fspiop_quotes (expires);
