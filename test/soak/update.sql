-- soak: one audited UPDATE through the soft-delete view, for the row's
-- tenant; the ledger row commits with it.  @T@ is the table (soak.sh).
\set id random(1, :rows)
\set t 1 + :id % :tenants
BEGIN;
SELECT rowkeeper.set_context(actor => 'c' || :client_id, tenant => :t::text, request_id => 'update');
WITH u AS (UPDATE soak.@T@ SET balance = balance + 1, note = md5(random()::text) WHERE id = :id RETURNING id)
INSERT INTO soak.ledger (tbl, id, op, tenant) SELECT '@T@', id, 'UPDATE', :t FROM u;
COMMIT;
