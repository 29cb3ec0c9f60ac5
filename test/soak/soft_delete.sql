-- soak: DELETE through the view, a soft delete; RETURNING says whether it
-- happened (a row already deleted is not visible: DELETE 0)
\set id random(1, :rows)
\set t 1 + :id % :tenants
BEGIN;
SELECT rowkeeper.set_context(actor => 'c' || :client_id, tenant => :t::text, request_id => 'delete');
WITH d AS (DELETE FROM soak.@T@ WHERE id = :id RETURNING id)
INSERT INTO soak.ledger (tbl, id, op, tenant) SELECT '@T@', id, 'SOFT_DELETE', :t FROM d;
COMMIT;
