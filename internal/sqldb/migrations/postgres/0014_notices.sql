-- Notices (package notice): callbacks to participants other than
-- committed transfers and liquidity alerts — payment requests, mandates,
-- disputes — each the whole callback document, delivered in seq order
-- per participant after the cursor 'notices' of callback_cursors.
CREATE TABLE notices (
    seq         bigserial PRIMARY KEY,
    participant text NOT NULL,
    event       text NOT NULL,
    body        bytea NOT NULL,
    at          bigint NOT NULL
);
CREATE INDEX notices_participant ON notices (participant, seq);
