-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "github";

-- CreateEnum
CREATE TYPE "github"."RepositoryAccess" AS ENUM ('APP', 'TOKEN', 'OAUTH');

-- CreateEnum
CREATE TYPE "github"."RepositoryVisibility" AS ENUM ('PUBLIC', 'PRIVATE', 'INTERNAL');

-- CreateEnum
CREATE TYPE "github"."PullRequestState" AS ENUM ('OPEN', 'CLOSED', 'MERGED');

-- CreateTable
CREATE TABLE "github"."repositories" (
    "id" UUID NOT NULL,
    "github_id" BIGINT NOT NULL,
    "owner" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "full_name_key" TEXT NOT NULL,
    "default_branch" TEXT NOT NULL,
    "visibility" "github"."RepositoryVisibility" NOT NULL,
    "access" "github"."RepositoryAccess" NOT NULL,
    "connected_by_id" UUID,
    "html_url" TEXT NOT NULL,
    "clone_url" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "repositories_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "github"."pull_requests" (
    "id" UUID NOT NULL,
    "repository_id" UUID NOT NULL,
    "number" INTEGER NOT NULL,
    "task_id" UUID,
    "title" TEXT NOT NULL,
    "url" TEXT NOT NULL,
    "state" "github"."PullRequestState" NOT NULL,
    "draft" BOOLEAN NOT NULL,
    "head_branch" TEXT NOT NULL,
    "head_sha" TEXT,
    "base_branch" TEXT NOT NULL,
    "mergeable" BOOLEAN,
    "checks_conclusion" TEXT,
    "merge_commit_sha" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "pull_requests_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "github"."user_credentials" (
    "user_id" UUID NOT NULL,
    "login" TEXT NOT NULL,
    "sealed" TEXT NOT NULL,
    "scopes" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "user_credentials_pkey" PRIMARY KEY ("user_id")
);

-- CreateTable
CREATE TABLE "github"."oauth_states" (
    "state_hash" TEXT NOT NULL,
    "user_id" UUID NOT NULL,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,
    "used_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "oauth_states_pkey" PRIMARY KEY ("state_hash")
);

-- CreateTable
CREATE TABLE "github"."webhook_deliveries" (
    "delivery_id" TEXT NOT NULL,
    "event" TEXT NOT NULL,
    "payload" JSONB NOT NULL,
    "received_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "processed_at" TIMESTAMPTZ(3),
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "last_error" TEXT,

    CONSTRAINT "webhook_deliveries_pkey" PRIMARY KEY ("delivery_id")
);

-- CreateTable
CREATE TABLE "github"."outbox_events" (
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
CREATE TABLE "github"."processed_events" (
    "consumer_group" TEXT NOT NULL,
    "event_id" UUID NOT NULL,
    "processed_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "processed_events_pkey" PRIMARY KEY ("consumer_group","event_id")
);

-- CreateIndex
CREATE UNIQUE INDEX "repositories_full_name_key_key" ON "github"."repositories"("full_name_key");

-- CreateIndex
CREATE INDEX "repositories_created_at_id_idx" ON "github"."repositories"("created_at", "id");

-- CreateIndex
CREATE UNIQUE INDEX "pull_requests_task_id_key" ON "github"."pull_requests"("task_id");

-- CreateIndex
CREATE INDEX "pull_requests_repository_id_head_branch_idx" ON "github"."pull_requests"("repository_id", "head_branch");

-- CreateIndex
CREATE UNIQUE INDEX "pull_requests_repository_id_number_key" ON "github"."pull_requests"("repository_id", "number");

-- CreateIndex
CREATE INDEX "oauth_states_expires_at_idx" ON "github"."oauth_states"("expires_at");

-- CreateIndex
CREATE INDEX "webhook_deliveries_processed_at_received_at_idx" ON "github"."webhook_deliveries"("processed_at", "received_at");

-- CreateIndex
CREATE INDEX "outbox_events_published_at_seq_idx" ON "github"."outbox_events"("published_at", "seq");

-- CreateIndex
CREATE INDEX "outbox_events_topic_key_seq_idx" ON "github"."outbox_events"("topic", "key", "seq");

-- CreateIndex
CREATE INDEX "processed_events_processed_at_idx" ON "github"."processed_events"("processed_at");

-- AddForeignKey
ALTER TABLE "github"."pull_requests" ADD CONSTRAINT "pull_requests_repository_id_fkey" FOREIGN KEY ("repository_id") REFERENCES "github"."repositories"("id") ON DELETE CASCADE ON UPDATE CASCADE;
