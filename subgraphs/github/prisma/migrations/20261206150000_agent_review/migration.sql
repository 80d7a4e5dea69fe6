-- AlterTable
ALTER TABLE "github"."pull_requests" ADD COLUMN     "reviewed_head_sha" TEXT;
