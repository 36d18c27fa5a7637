-- The tree size of the newest audit checkpoint signed, kept apart from the
-- audit directory: a checkpoints file cut short or restored from an older
-- copy then stops start-up like a missing one (package audit, Watermark).
CREATE TABLE audit_watermark (
    id         bigint PRIMARY KEY CHECK (id = 1),
    size       bigint NOT NULL,
    updated_at bigint NOT NULL
);
