-- AlterTable
ALTER TABLE "coding_tasks" ADD COLUMN     "base_branch" TEXT;
