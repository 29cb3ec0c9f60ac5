-- soak: a new row of a random tenant (tenant_id from the context default)
\set t random(1, :tenants)
BEGIN;
SELECT rowkeeper.set_context(actor => 'c' || :client_id, tenant => :t::text, request_id => 'insert');
WITH i AS (INSERT INTO soak.@T@ (balance, note) VALUES (0, 'new') RETURNING id, tenant_id)
INSERT INTO soak.ledger (tbl, id, op, tenant) SELECT '@T@', id, 'INSERT', tenant_id FROM i;
COMMIT;
