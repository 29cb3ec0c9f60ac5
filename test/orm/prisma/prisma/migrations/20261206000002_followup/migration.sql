-- AlterTable
ALTER TABLE "Post" ADD COLUMN     "body" TEXT;

-- AlterTable (Prisma writes DROP COLUMN + ADD COLUMN for a renamed field;
-- edited to a rename, as Prisma's documentation says)
ALTER TABLE "User" RENAME COLUMN "name" TO "displayName";

-- CreateTable
CREATE TABLE "Comment" (
    "id" BIGSERIAL NOT NULL,
    "tenantId" BIGINT NOT NULL,
    "body" TEXT NOT NULL,
    "userId" BIGINT NOT NULL,

    CONSTRAINT "Comment_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "Post_tenantId_title_idx" ON "Post"("tenantId", "title");

-- AddForeignKey
ALTER TABLE "Comment" ADD CONSTRAINT "Comment_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- rowkeeper for the new table
SELECT rowkeeper.enable_audit('"Comment"');
SELECT rowkeeper.enable_tenant_isolation('"Comment"', 'tenantId');
GRANT SELECT, INSERT, UPDATE, DELETE ON "Comment" TO app;
GRANT USAGE ON SEQUENCE "Comment_id_seq" TO app;
