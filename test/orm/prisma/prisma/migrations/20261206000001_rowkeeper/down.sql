-- the down script of 20261206000001_rowkeeper (Prisma has no down
-- migrations; applied like `prisma db execute --file down.sql`)
REVOKE ALL ON "User", "Post" FROM app;
REVOKE ALL ON SEQUENCE "User_id_seq", "Post_id_seq" FROM app;
SELECT rowkeeper.disable_tenant_isolation('"Post"');
SELECT rowkeeper.disable_soft_delete('"Post"', force => true);
SELECT rowkeeper.disable_updated_at('"Post"', 'updatedAt');
SELECT rowkeeper.disable_audit('"Post"');
SELECT rowkeeper.disable_tenant_isolation('"User"');
SELECT rowkeeper.disable_soft_delete('"User"', force => true);
SELECT rowkeeper.disable_updated_at('"User"', 'updatedAt');
SELECT rowkeeper.disable_audit('"User"');
ALTER TABLE "Post" DROP COLUMN "deletedBatch";
ALTER TABLE "User" DROP COLUMN "deletedBatch";
