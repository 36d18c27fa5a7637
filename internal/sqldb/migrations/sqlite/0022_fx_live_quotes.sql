-- Live FX quotes (issue 17): 1 when an FX provider answers live FX quote
-- requests by callback (fx.quote), 0 otherwise.
ALTER TABLE participants ADD COLUMN fx_live_quotes INTEGER NOT NULL DEFAULT 0;
