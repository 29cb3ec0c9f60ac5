-- rowkeeper (prisma migrate dev --create-only --name rowkeeper).  Prisma's
-- DateTime is timestamp(3) without time zone, written in UTC: rowkeeper
-- writes updatedAt and deletedAt in UTC too.  enable_soft_delete adds the
-- batch column as "deletedBatch" (the table's convention), which the
-- models declare; enable_tenant_isolation sets the tenant default the
-- models declare with dbgenerated().
SELECT rowkeeper.enable_audit('"User"');
SELECT rowkeeper.enable_updated_at('"User"', 'updatedAt');
SELECT rowkeeper.enable_soft_delete('"User"', 'deletedAt');
SELECT rowkeeper.enable_tenant_isolation('"User"', 'tenantId');
SELECT rowkeeper.enable_audit('"Post"');
SELECT rowkeeper.enable_updated_at('"Post"', 'updatedAt');
SELECT rowkeeper.enable_soft_delete('"Post"', 'deletedAt');
SELECT rowkeeper.enable_tenant_isolation('"Post"', 'tenantId');
GRANT SELECT, INSERT, UPDATE, DELETE ON "User", "Post" TO app;
GRANT USAGE ON SEQUENCE "User_id_seq", "Post_id_seq" TO app;
