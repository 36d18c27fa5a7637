-- Listing a participant's claims (GET /v1/claims), as claimant or owner,
-- newest first.
CREATE INDEX party_claims_claimant ON party_claims (claimant, created_at);
CREATE INDEX party_claims_owner ON party_claims (owner, created_at);
