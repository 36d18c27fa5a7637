-- Notices (package notice): callbacks to participants other than
-- committed transfers and liquidity alerts — payment requests, mandates,
-- disputes — each the whole callback document, delivered in seq order
-- per participant after the cursor 'notices' of callback_cursors.
CREATE TABLE notices (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    participant TEXT NOT NULL,
    event       TEXT NOT NULL,
    body        BLOB NOT NULL,
    at          INTEGER NOT NULL
);
CREATE INDEX notices_participant ON notices (participant, seq);
