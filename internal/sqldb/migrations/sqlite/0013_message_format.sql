-- How a participant's callbacks are written (issue 15): json, or
-- iso20022 (pacs.008 notices and confirm requests, answered by pacs.002).
ALTER TABLE participants ADD COLUMN message_format TEXT NOT NULL DEFAULT 'json';
