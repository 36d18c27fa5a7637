-- The directory's data at rest, alias quotas, operator removals and
-- portability claims (issue 13).
--
-- End users' names and account references in parties are stored sealed
-- (AES-256-GCM, see internal/seal) from now on; account_index is the
-- blind index of the account reference, by which the aliases of one
-- account are counted for the quota. Rows written before have an empty
-- account_index: the directory re-seals them in the background, finding
-- them through parties_unsealed, which is empty once it is done.
ALTER TABLE parties ADD COLUMN account_index TEXT NOT NULL DEFAULT '';
CREATE INDEX parties_account ON parties (participant, account_index);
CREATE INDEX parties_unsealed ON parties (type, value) WHERE account_index = '';

-- Aliases removed by the operator, and why.
CREATE TABLE party_removals (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    type        TEXT NOT NULL,
    value       TEXT NOT NULL,
    participant TEXT NOT NULL,                 -- the owner whose alias it was
    reason      TEXT NOT NULL,                 -- at most 200 characters
    removed_at  INTEGER NOT NULL
);

-- Portability claims: a participant asks to have an alias moved to it.
-- The claimant's name and account for its end user are sealed like
-- parties'. notified_at is 0 until the owner acknowledged the party.claim
-- callback; attempts and next_attempt_at pace its retries. A confirmed or
-- expired claim moves the alias; moved_at is 0 until it has.
CREATE TABLE party_claims (
    id              TEXT PRIMARY KEY,
    type            TEXT NOT NULL,
    value           TEXT NOT NULL,
    claimant        TEXT NOT NULL REFERENCES participants(id),
    owner           TEXT NOT NULL REFERENCES participants(id),
    name            TEXT NOT NULL,             -- sealed
    account         TEXT NOT NULL,             -- sealed
    currency        TEXT NOT NULL,
    status          TEXT NOT NULL,             -- pending | confirmed | cancelled | expired | failed
    reason          TEXT NOT NULL DEFAULT '',  -- why a claim failed
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    ended_at        INTEGER NOT NULL DEFAULT 0,
    moved_at        INTEGER NOT NULL DEFAULT 0,
    notified_at     INTEGER NOT NULL DEFAULT 0,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL DEFAULT 0
);
-- At most one pending claim per alias.
CREATE UNIQUE INDEX party_claims_pending ON party_claims (type, value) WHERE status = 'pending';
CREATE INDEX party_claims_status ON party_claims (status, expires_at);
