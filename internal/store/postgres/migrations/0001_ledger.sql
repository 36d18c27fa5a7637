-- 0001: the ledger's committed batches and their events.
--
-- Hulian writes these tables only by appending, one transaction per
-- durable write, and never updates or deletes a row. They are laid out in
-- plain columns so that an auditor can answer who, what, when and which
-- batch with ordinary SQL, for example:
--
--   SELECT timestamptz 'epoch' + ts / 1000 * interval '1 microsecond' AS at, kind, debit, credit, amount, currency
--   FROM ledger_events WHERE debit = 42 OR credit = 42 ORDER BY ts;

COMMENT ON TABLE hulian_schema_migrations IS
    'Schema versions applied to this database, one row per migration file of Hulian''s PostgreSQL store.';

CREATE TABLE ledger_batches (
    seq       bigint      PRIMARY KEY CHECK (seq > 0),
    now       bigint      NOT NULL,
    events    int         NOT NULL CHECK (events >= 0),
    stored_at timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE ledger_batches IS
    'One row per batch of commands the ledger applied and committed: the unit of durable storage and of replay. Append-only.';
COMMENT ON COLUMN ledger_batches.seq IS
    'Batch sequence number: 1, 2, 3, ... with no gap. ledger_events.batch refers to it.';
COMMENT ON COLUMN ledger_batches.now IS
    'The time the ledger applied the batch with, in nanoseconds since the Unix epoch (UTC).';
COMMENT ON COLUMN ledger_batches.events IS
    'How many rows of ledger_events the batch has (positions 0 to events-1).';
COMMENT ON COLUMN ledger_batches.stored_at IS
    'When PostgreSQL stored the batch (start of the storing transaction); for information only, the ledger never reads it.';

CREATE TABLE ledger_events (
    ts         bigint   PRIMARY KEY,
    batch      bigint   NOT NULL REFERENCES ledger_batches (seq),
    pos        int      NOT NULL CHECK (pos >= 0),
    kind       smallint NOT NULL CHECK (kind BETWEEN 1 AND 255),
    flags      smallint NOT NULL CHECK (flags BETWEEN 0 AND 255),
    purpose    int      NOT NULL CHECK (purpose BETWEEN 0 AND 65535),
    currency   smallint NOT NULL CHECK (currency >= 0),
    id         bytea    CHECK (octet_length(id) = 16),
    pending    bytea    CHECK (octet_length(pending) = 16),
    ref        bytea    CHECK (octet_length(ref) = 16),
    debit      bigint   CHECK (debit <> 0),
    credit     bigint   CHECK (credit <> 0),
    account    bigint   CHECK (account <> 0),
    amount     bigint   NOT NULL,
    timeout_ns bigint   NOT NULL,
    floor      bigint   NOT NULL,
    meta       bytea    NOT NULL CHECK (octet_length(meta) <= 2048)
);

COMMENT ON TABLE ledger_events IS
    'One row per change the ledger made, in the order it made them. Every event that moves money debits one account and credits another by the same amount. Append-only.';
COMMENT ON COLUMN ledger_events.ts IS
    'Event timestamp in nanoseconds since the Unix epoch (UTC); unique and strictly increasing over the ledger''s life, so it also identifies the event. timestamptz ''epoch'' + ts / 1000 * interval ''1 microsecond'' shows it as a time.';
COMMENT ON COLUMN ledger_events.batch IS
    'The batch (ledger_batches.seq) that committed the event.';
COMMENT ON COLUMN ledger_events.pos IS
    'Position of the event in its batch, from 0.';
COMMENT ON COLUMN ledger_events.kind IS
    'What happened: 1 create-account, 2 set-floor, 3 post (one-phase transfer), 4 reserve (phase one), 5 commit (phase two), 6 abort (phase two), 7 expire (reservation timed out), 8 mark (a point in the event order, e.g. a settlement window closing; moves no money).';
COMMENT ON COLUMN ledger_events.flags IS
    'Bit set: 1 linked (atomic with the next event), 2 the account created is unbounded (the settlement bank''s external account).';
COMMENT ON COLUMN ledger_events.purpose IS
    'The caller''s purpose code for the transfer (0 to 65535); opaque to the ledger.';
COMMENT ON COLUMN ledger_events.currency IS
    'ISO 4217 numeric currency code (156 is CNY) of the account or of the money moved.';
COMMENT ON COLUMN ledger_events.id IS
    'The transfer''s 16-byte client-chosen id, its idempotency key; NULL for account events and expiries.';
COMMENT ON COLUMN ledger_events.pending IS
    'For commit, abort and expire: the 16-byte id of the reservation they end; otherwise NULL.';
COMMENT ON COLUMN ledger_events.ref IS
    'The caller''s own 16-byte reference for the transfer, opaque to the ledger; NULL when none.';
COMMENT ON COLUMN ledger_events.debit IS
    'The account debited (money leaves it), or NULL for account events. Account ids are unsigned 64-bit: one at or above 2^63 shows as its two''s-complement negative.';
COMMENT ON COLUMN ledger_events.credit IS
    'The account credited (money enters it), or NULL for account events. Same id encoding as debit.';
COMMENT ON COLUMN ledger_events.account IS
    'For create-account and set-floor: the account; otherwise NULL. Same id encoding as debit.';
COMMENT ON COLUMN ledger_events.amount IS
    'Money moved or reserved, as a signed 64-bit integer in the currency''s minor units (fen for CNY); 0 for account events.';
COMMENT ON COLUMN ledger_events.timeout_ns IS
    'For reserve: how long the reservation may stay pending, in nanoseconds; otherwise 0.';
COMMENT ON COLUMN ledger_events.meta IS
    'The caller''s own record of the change, opaque to the ledger: for a payment, its client id, payer, payee alias and participant, fee, quote and note (encoding in docs/formats.md); for an account, the participant id. Empty for expiries.';
COMMENT ON COLUMN ledger_events.floor IS
    'For create-account and set-floor: the account''s (new) floor, how far below zero its available balance may go, in minor units; otherwise 0.';

-- Transfer by id.
CREATE INDEX ledger_events_id ON ledger_events (id) WHERE id IS NOT NULL;
-- An account's history: three range scans merged by ts.
CREATE INDEX ledger_events_debit ON ledger_events (debit, ts) WHERE debit IS NOT NULL;
CREATE INDEX ledger_events_credit ON ledger_events (credit, ts) WHERE credit IS NOT NULL;
CREATE INDEX ledger_events_account ON ledger_events (account, ts) WHERE account IS NOT NULL;
