-- The directory's data at rest, alias quotas, operator removals and
-- portability claims (issue 13).
--
-- End users' names and account references in parties are stored sealed
-- (AES-256-GCM, see internal/seal) from now on; account_index is the
-- blind index of the account reference, by which the aliases of one
-- account are counted for the quota. Rows written before have an empty
-- account_index: the directory re-seals them in the background, finding
-- them through parties_unsealed, which is empty once it is done.
ALTER TABLE parties ADD COLUMN account_index text NOT NULL DEFAULT '';
CREATE INDEX parties_account ON parties (participant, account_index);
CREATE INDEX parties_unsealed ON parties (type, value) WHERE account_index = '';
COMMENT ON COLUMN parties.account_index IS 'blind index (keyed HMAC) of the account reference; empty: not yet sealed';

CREATE TABLE party_removals (
    seq         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    type        text NOT NULL,
    value       text NOT NULL,
    participant text NOT NULL,
    reason      text NOT NULL,
    removed_at  bigint NOT NULL
);
COMMENT ON TABLE party_removals IS 'aliases removed by the operator, and why';

CREATE TABLE party_claims (
    id              text PRIMARY KEY,
    type            text NOT NULL,
    value           text NOT NULL,
    claimant        text NOT NULL REFERENCES participants(id),
    owner           text NOT NULL REFERENCES participants(id),
    name            text NOT NULL,
    account         text NOT NULL,
    currency        text NOT NULL,
    status          text NOT NULL CHECK (status IN ('pending', 'confirmed', 'cancelled', 'expired', 'failed')),
    reason          text NOT NULL DEFAULT '',
    created_at      bigint NOT NULL,
    expires_at      bigint NOT NULL,
    ended_at        bigint NOT NULL DEFAULT 0,
    moved_at        bigint NOT NULL DEFAULT 0,
    notified_at     bigint NOT NULL DEFAULT 0,
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at bigint NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX party_claims_pending ON party_claims (type, value) WHERE status = 'pending';
CREATE INDEX party_claims_status ON party_claims (status, expires_at);
COMMENT ON TABLE party_claims IS 'portability claims: an alias asked to move to the claimant; name and account sealed';
