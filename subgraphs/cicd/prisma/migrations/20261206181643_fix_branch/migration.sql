-- AlterTable
ALTER TABLE "fix_attempts" ADD COLUMN     "fix_branch" TEXT;

-- CreateIndex
CREATE INDEX "fix_attempts_repository_fix_branch_idx" ON "fix_attempts"("repository", "fix_branch");
