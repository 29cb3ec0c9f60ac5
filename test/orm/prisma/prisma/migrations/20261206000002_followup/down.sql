SELECT rowkeeper.disable_tenant_isolation('"Comment"');
SELECT rowkeeper.disable_audit('"Comment"');

-- DropForeignKey
ALTER TABLE "Comment" DROP CONSTRAINT "Comment_userId_fkey";

-- DropIndex
DROP INDEX "Post_tenantId_title_idx";

-- DropTable
DROP TABLE "Comment";

-- AlterTable
ALTER TABLE "User" RENAME COLUMN "displayName" TO "name";

-- AlterTable
ALTER TABLE "Post" DROP COLUMN "body";
