-- Settlement windows and the net positions computed when each closed.
-- A window's boundaries are ledger timestamps: it holds the events with
-- open_ts <= ts < close_ts; close_ts is the timestamp of the ledger mark
-- that closed it (0 while open). Amounts are int64 minor units.
CREATE TABLE settlement_windows (
    id        TEXT PRIMARY KEY,                -- "<currency>-<number>", e.g. CNY-3
    currency  TEXT NOT NULL,
    number    INTEGER NOT NULL,
    opened_at INTEGER NOT NULL,                -- when it opened (ns)
    open_ts   INTEGER NOT NULL,                -- first ledger timestamp it holds
    close_ts  INTEGER NOT NULL DEFAULT 0,      -- the closing mark's timestamp; 0 while open
    UNIQUE (currency, number)
);

CREATE TABLE settlement_positions (
    window_id   TEXT NOT NULL REFERENCES settlement_windows(id),
    participant TEXT NOT NULL,                 -- a participant id, or "hub" for the fee revenue
    sent        INTEGER NOT NULL,
    received    INTEGER NOT NULL,
    fees        INTEGER NOT NULL,
    net         INTEGER NOT NULL,              -- received - sent - fees (for the hub: its fees)
    transfers   INTEGER NOT NULL,              -- payments sent or received
    PRIMARY KEY (window_id, participant)
);
