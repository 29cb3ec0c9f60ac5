-- soak: insert a row again under a key of the table's range, once the purge
-- has removed it (ON CONFLICT DO NOTHING while it exists, deleted or not);
-- tenant_id comes from the context's default.  Keys stay in 1..rows, so
-- the writers keep finding rows however much the purge removes.
\set id random(1, :rows)
\set t 1 + :id % :tenants
BEGIN;
SELECT rowkeeper.set_context(actor => 'c' || :client_id, tenant => :t::text, request_id => 'insert');
WITH i AS (INSERT INTO soak.@T@ (id, balance, note) VALUES (:id, 0, 'again') ON CONFLICT (id) DO NOTHING RETURNING id)
INSERT INTO soak.ledger (tbl, id, op, tenant) SELECT '@T@', id, 'INSERT', :t FROM i;
COMMIT;
