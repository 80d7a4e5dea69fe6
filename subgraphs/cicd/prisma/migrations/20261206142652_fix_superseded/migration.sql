-- AlterTable
ALTER TABLE "fix_attempts" ADD COLUMN     "fix_head_sha" TEXT,
ADD COLUMN     "superseded_by" TEXT,
ADD COLUMN     "task_finished_at" TIMESTAMPTZ(3);
