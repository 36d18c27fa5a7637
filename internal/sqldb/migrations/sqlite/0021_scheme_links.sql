-- Links between schemes (issue 17): a participant of kind scheme is
-- another payment scheme reached over FSPIOP. fspiop_link_id is the FSP
-- id the far scheme knows this switch by, fspiop_link_key the API key it
-- issued for it (sealed with the data key; '' when none).
ALTER TABLE participants ADD COLUMN fspiop_link_id TEXT NOT NULL DEFAULT '';
ALTER TABLE participants ADD COLUMN fspiop_link_key TEXT NOT NULL DEFAULT '';

-- The operator's routes of alias prefixes to scheme links (package
-- directory, SchemeRoutes): an alias not registered here whose type
-- matches and whose value starts with prefix is looked up, quoted and
-- paid through participant, in currency. The longest prefix wins. Times
-- are unix nanoseconds.
CREATE TABLE scheme_routes (
    type        TEXT NOT NULL,
    prefix      TEXT NOT NULL,
    participant TEXT NOT NULL REFERENCES participants (id),
    currency    TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (type, prefix)
);
