-- Liquidity alerts are delivered by the callback deliverer, in order and
-- retried, from a cursor of their own (stream 'alerts', the seq of the
-- last alert delivered). Alerts raised before were sent when raised:
-- start each participant's cursor after them, so that none is sent twice.
INSERT INTO delivery_cursors (participant, stream, position, updated_at)
SELECT participant, 'alerts', MAX(seq), 0 FROM liquidity_alerts
WHERE participant IN (SELECT id FROM participants)
GROUP BY participant;
