-- CreateEnum
CREATE TYPE "github"."PullRequestJobStatus" AS ENUM ('PENDING', 'DONE', 'FAILED');

-- CreateTable
CREATE TABLE "github"."pull_request_jobs" (
    "task_id" UUID NOT NULL,
    "task_attempt" INTEGER NOT NULL,
    "payload" JSONB NOT NULL,
    "version" INTEGER NOT NULL DEFAULT 1,
    "status" "github"."PullRequestJobStatus" NOT NULL DEFAULT 'PENDING',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "last_error" TEXT,
    "error_code" TEXT,
    "next_attempt_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lease_until" TIMESTAMPTZ(3),
    "pull_request_id" UUID,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "pull_request_jobs_pkey" PRIMARY KEY ("task_id")
);

-- CreateIndex
CREATE INDEX "pull_request_jobs_status_next_attempt_at_idx" ON "github"."pull_request_jobs"("status", "next_attempt_at");
