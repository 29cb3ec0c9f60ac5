-- soak: restore one soft-deleted row of a random tenant, locked first so
-- that neither another restore nor the purge takes it meanwhile
\set t random(1, :tenants)
\set skip random(0, 20)
BEGIN;
SELECT rowkeeper.set_context(actor => 'c' || :client_id, tenant => :t::text, request_id => 'restore');
SET LOCAL rowkeeper.show_deleted = on;
WITH c AS (SELECT id FROM soak.@T@ WHERE deleted_at IS NOT NULL
            ORDER BY id OFFSET :skip LIMIT 1 FOR UPDATE SKIP LOCKED)
INSERT INTO soak.ledger (tbl, id, op, tenant)
SELECT '@T@', id, 'RESTORE', :t FROM c WHERE rowkeeper.restore('soak.@T@', jsonb_build_object('id', id)) = 1;
COMMIT;
