-- Settlement windows and the net positions computed when each closed.
-- A window's boundaries are ledger timestamps: it holds the events with
-- open_ts <= ts < close_ts; close_ts is the timestamp of the ledger mark
-- that closed it (0 while open). Amounts are int64 minor units.
CREATE TABLE settlement_windows (
    id        text PRIMARY KEY,
    currency  text NOT NULL,
    number    bigint NOT NULL,
    opened_at bigint NOT NULL,
    open_ts   bigint NOT NULL,
    close_ts  bigint NOT NULL DEFAULT 0,
    UNIQUE (currency, number)
);
COMMENT ON TABLE settlement_windows IS 'Deferred net settlement windows, per currency; exactly one is open (close_ts = 0).';

CREATE TABLE settlement_positions (
    window_id   text NOT NULL REFERENCES settlement_windows(id),
    participant text NOT NULL,
    sent        bigint NOT NULL,
    received    bigint NOT NULL,
    fees        bigint NOT NULL,
    net         bigint NOT NULL,
    transfers   integer NOT NULL,
    PRIMARY KEY (window_id, participant)
);
COMMENT ON COLUMN settlement_positions.net IS 'received - sent - fees; the row of participant ''hub'' holds the fee revenue. Nets of a window sum to zero.';
