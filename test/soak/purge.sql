-- soak, its own client (superuser, no tenant): purge what is soft-deleted,
-- in small batches, and seal the audit log
CALL rowkeeper.purge_soft_deleted('soak.acct', older_than => '0', batch_size => 20);
CALL rowkeeper.purge_soft_deleted('soak.item', older_than => '0', batch_size => 20);
SELECT count(*) FROM rowkeeper.seal_audit_log();
\sleep 500 ms
