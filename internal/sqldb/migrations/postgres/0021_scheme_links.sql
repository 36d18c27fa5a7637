-- Links between schemes (issue 17): a participant of kind scheme is
-- another payment scheme reached over FSPIOP. fspiop_link_id is the FSP
-- id the far scheme knows this switch by, fspiop_link_key the API key it
-- issued for it (sealed with the data key; '' when none).
ALTER TABLE participants ADD COLUMN fspiop_link_id text NOT NULL DEFAULT '';
ALTER TABLE participants ADD COLUMN fspiop_link_key text NOT NULL DEFAULT '';
ALTER TABLE participants DROP CONSTRAINT participants_kind_check;
ALTER TABLE participants ADD CONSTRAINT participants_kind_check CHECK (kind IN ('wallet', 'bank', 'fxp', 'scheme'));

-- The operator's routes of alias prefixes to scheme links (package
-- directory, SchemeRoutes): an alias not registered here whose type
-- matches and whose value starts with prefix is looked up, quoted and
-- paid through participant, in currency. The longest prefix wins. Times
-- are unix nanoseconds.
CREATE TABLE scheme_routes (
    type        text NOT NULL,
    prefix      text NOT NULL,
    participant text NOT NULL REFERENCES participants (id),
    currency    text NOT NULL,
    created_at  bigint NOT NULL,
    updated_at  bigint NOT NULL,
    PRIMARY KEY (type, prefix)
);
