-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "cicd";

-- CreateEnum
CREATE TYPE "cicd"."FixMode" AS ENUM ('OFF', 'SUGGEST', 'AUTO');

-- CreateEnum
CREATE TYPE "cicd"."LogState" AS ENUM ('NOT_NEEDED', 'PENDING', 'PARSED', 'FAILED');

-- CreateEnum
CREATE TYPE "cicd"."FixStatus" AS ENUM ('SUGGESTED', 'REQUESTED', 'SUPERSEDED', 'FIXED', 'ACCEPTED', 'FAILED', 'ESCALATED');

-- CreateTable
CREATE TABLE "cicd"."builds" (
    "id" UUID NOT NULL,
    "repository" TEXT NOT NULL,
    "run_id" BIGINT NOT NULL,
    "run_attempt" INTEGER NOT NULL,
    "workflow_name" TEXT,
    "event" TEXT NOT NULL,
    "head_branch" TEXT,
    "head_sha" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "conclusion" TEXT,
    "html_url" TEXT NOT NULL,
    "pull_requests" INTEGER[],
    "task_ids" UUID[],
    "source" TEXT NOT NULL,
    "started_at" TIMESTAMPTZ(3),
    "completed_at" TIMESTAMPTZ(3),
    "log_state" "cicd"."LogState" NOT NULL DEFAULT 'NOT_NEEDED',
    "parse_error_code" TEXT,
    "parse_error" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "builds_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "cicd"."build_jobs" (
    "id" UUID NOT NULL,
    "build_id" UUID NOT NULL,
    "job_id" BIGINT NOT NULL,
    "name" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "conclusion" TEXT,
    "started_at" TIMESTAMPTZ(3),
    "completed_at" TIMESTAMPTZ(3),
    "steps" JSONB NOT NULL,

    CONSTRAINT "build_jobs_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "cicd"."build_failures" (
    "id" UUID NOT NULL,
    "build_id" UUID NOT NULL,
    "job" TEXT,
    "tool" TEXT NOT NULL,
    "file" TEXT,
    "line" INTEGER,
    "column" INTEGER,
    "test_name" TEXT,
    "message" TEXT NOT NULL,
    "excerpt" TEXT NOT NULL,
    "fingerprint" TEXT NOT NULL,
    "occurrences" INTEGER NOT NULL,

    CONSTRAINT "build_failures_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "cicd"."fix_policies" (
    "repository" TEXT NOT NULL,
    "mode" "cicd"."FixMode" NOT NULL,
    "branches" TEXT[],
    "max_attempts_per_pull_request" INTEGER NOT NULL,
    "max_attempts_per_fingerprint" INTEGER NOT NULL,
    "enabled_by" UUID NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "fix_policies_pkey" PRIMARY KEY ("repository")
);

-- CreateTable
CREATE TABLE "cicd"."fix_attempts" (
    "id" UUID NOT NULL,
    "build_id" UUID NOT NULL,
    "repository" TEXT NOT NULL,
    "branch" TEXT NOT NULL,
    "head_sha" TEXT NOT NULL,
    "pull_request" INTEGER,
    "fingerprints" TEXT[],
    "status" "cicd"."FixStatus" NOT NULL,
    "reason" TEXT,
    "requested_by" UUID,
    "task_id" UUID,
    "fix_pull_request" INTEGER,
    "cost_usd" DOUBLE PRECISION,
    "failed_at" TIMESTAMPTZ(3) NOT NULL,
    "fixed_at" TIMESTAMPTZ(3),
    "accepted_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "fix_attempts_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "cicd"."branch_heads" (
    "repository" TEXT NOT NULL,
    "branch" TEXT NOT NULL,
    "head_sha" TEXT NOT NULL,
    "seen_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "branch_heads_pkey" PRIMARY KEY ("repository","branch")
);

-- CreateTable
CREATE TABLE "cicd"."poll_states" (
    "repository" TEXT NOT NULL,
    "etag" TEXT,
    "polled_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "poll_states_pkey" PRIMARY KEY ("repository")
);

-- CreateTable
CREATE TABLE "cicd"."outbox_events" (
    "id" UUID NOT NULL,
    "seq" BIGSERIAL NOT NULL,
    "topic" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "version" INTEGER NOT NULL,
    "payload" JSONB NOT NULL,
    "headers" JSONB NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "published_at" TIMESTAMPTZ(3),
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "last_error" TEXT,
    "next_attempt_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "outbox_events_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "cicd"."processed_events" (
    "consumer_group" TEXT NOT NULL,
    "event_id" UUID NOT NULL,
    "processed_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "processed_events_pkey" PRIMARY KEY ("consumer_group","event_id")
);

-- CreateIndex
CREATE INDEX "builds_repository_head_branch_created_at_id_idx" ON "cicd"."builds"("repository", "head_branch", "created_at" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "builds_log_state_idx" ON "cicd"."builds"("log_state");

-- CreateIndex
CREATE UNIQUE INDEX "builds_repository_run_id_run_attempt_key" ON "cicd"."builds"("repository", "run_id", "run_attempt");

-- CreateIndex
CREATE UNIQUE INDEX "build_jobs_build_id_job_id_key" ON "cicd"."build_jobs"("build_id", "job_id");

-- CreateIndex
CREATE INDEX "build_failures_build_id_idx" ON "cicd"."build_failures"("build_id");

-- CreateIndex
CREATE INDEX "build_failures_fingerprint_idx" ON "cicd"."build_failures"("fingerprint");

-- CreateIndex
CREATE UNIQUE INDEX "fix_attempts_build_id_key" ON "cicd"."fix_attempts"("build_id");

-- CreateIndex
CREATE UNIQUE INDEX "fix_attempts_task_id_key" ON "cicd"."fix_attempts"("task_id");

-- CreateIndex
CREATE INDEX "fix_attempts_repository_branch_idx" ON "cicd"."fix_attempts"("repository", "branch");

-- CreateIndex
CREATE INDEX "fix_attempts_repository_pull_request_idx" ON "cicd"."fix_attempts"("repository", "pull_request");

-- CreateIndex
CREATE INDEX "outbox_events_published_at_seq_idx" ON "cicd"."outbox_events"("published_at", "seq");

-- CreateIndex
CREATE INDEX "outbox_events_topic_key_seq_idx" ON "cicd"."outbox_events"("topic", "key", "seq");

-- CreateIndex
CREATE INDEX "processed_events_processed_at_idx" ON "cicd"."processed_events"("processed_at");

-- AddForeignKey
ALTER TABLE "cicd"."build_jobs" ADD CONSTRAINT "build_jobs_build_id_fkey" FOREIGN KEY ("build_id") REFERENCES "cicd"."builds"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "cicd"."build_failures" ADD CONSTRAINT "build_failures_build_id_fkey" FOREIGN KEY ("build_id") REFERENCES "cicd"."builds"("id") ON DELETE CASCADE ON UPDATE CASCADE;
