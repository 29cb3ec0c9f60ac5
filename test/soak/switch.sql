-- soak: tenant switches inside one transaction: a row of tenant a, then a
-- row of tenant b, then tenant a again trying b's row (RLS: no row, so no
-- ledger entry, and the audit check finds any entry under the wrong tenant).
-- The two rows are taken in random order, so deadlocks happen (retried).
\set ida random(1, :rows)
\set idb random(1, :rows)
\set ta 1 + :ida % :tenants
\set tb 1 + :idb % :tenants
BEGIN;
SELECT rowkeeper.set_context(actor => 'c' || :client_id, tenant => :ta::text, request_id => 'switch');
WITH u AS (UPDATE soak.@T@ SET balance = balance + 1 WHERE id = :ida RETURNING id)
INSERT INTO soak.ledger (tbl, id, op, tenant) SELECT '@T@', id, 'UPDATE', :ta FROM u;
SELECT rowkeeper.set_context(tenant => :tb::text);
WITH u AS (UPDATE soak.@T@ SET balance = balance + 1 WHERE id = :idb RETURNING id)
INSERT INTO soak.ledger (tbl, id, op, tenant) SELECT '@T@', id, 'UPDATE', :tb FROM u;
SELECT rowkeeper.set_context(tenant => :ta::text);
WITH u AS (UPDATE soak.@T@ SET balance = balance + 1 WHERE id = :idb AND tenant_id <> :ta RETURNING id)
INSERT INTO soak.ledger (tbl, id, op, tenant) SELECT '@T@', id, 'UPDATE', :ta FROM u;
COMMIT;
