-- soak, its own client (superuser, no tenant): purge what was soft-deleted more than 2 s ago,
-- in small batches, and seal the audit log
CALL rowkeeper.purge_soft_deleted('soak.acct', older_than => '2 seconds', batch_size => 20);
CALL rowkeeper.purge_soft_deleted('soak.item', older_than => '2 seconds', batch_size => 20);
SELECT count(*) FROM rowkeeper.seal_audit_log();
\sleep 500 ms
