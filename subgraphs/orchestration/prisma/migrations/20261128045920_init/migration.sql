-- CreateEnum
CREATE TYPE "TaskStatus" AS ENUM ('PENDING', 'CLASSIFYING', 'QUEUED', 'RUNNING', 'AWAITING_INPUT', 'SUCCEEDED', 'FAILED', 'CANCELLED');

-- CreateEnum
CREATE TYPE "TaskType" AS ENUM ('BUG_FIX', 'FEATURE', 'REFACTOR', 'TEST', 'DOCUMENTATION', 'CHORE', 'OTHER');

-- CreateEnum
CREATE TYPE "TaskComplexity" AS ENUM ('SIMPLE', 'MEDIUM', 'COMPLEX');

-- CreateEnum
CREATE TYPE "ExecutionStrategy" AS ENUM ('SINGLE_SHOT', 'ITERATIVE', 'MULTI_AGENT');

-- CreateEnum
CREATE TYPE "StrategySource" AS ENUM ('OVERRIDE', 'CLASSIFICATION', 'DEFAULT');

-- CreateEnum
CREATE TYPE "TaskPriority" AS ENUM ('LOW', 'NORMAL', 'HIGH', 'URGENT');

-- CreateEnum
CREATE TYPE "ExecutionStatus" AS ENUM ('QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED', 'AWAITING_INPUT', 'LOST');

-- CreateEnum
CREATE TYPE "LogLevel" AS ENUM ('DEBUG', 'INFO', 'WARN', 'ERROR');

-- CreateEnum
CREATE TYPE "LogKind" AS ENUM ('STEP', 'TOOL_CALL', 'COMMAND_OUTPUT', 'LLM_USAGE', 'MESSAGE');

-- CreateTable
CREATE TABLE "coding_tasks" (
    "id" UUID NOT NULL,
    "title" TEXT NOT NULL,
    "description" TEXT NOT NULL,
    "repository" TEXT,
    "command" TEXT,
    "timeout_seconds" INTEGER,
    "creator_id" UUID NOT NULL,
    "type" "TaskType",
    "complexity" "TaskComplexity",
    "strategy_override" "ExecutionStrategy",
    "strategy" "ExecutionStrategy",
    "strategy_source" "StrategySource",
    "priority" "TaskPriority" NOT NULL DEFAULT 'NORMAL',
    "status" "TaskStatus" NOT NULL DEFAULT 'PENDING',
    "version" INTEGER NOT NULL DEFAULT 0,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "lost_count" INTEGER NOT NULL DEFAULT 0,
    "classification_deadline_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    "started_at" TIMESTAMPTZ(3),
    "finished_at" TIMESTAMPTZ(3),

    CONSTRAINT "coding_tasks_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "task_executions" (
    "id" UUID NOT NULL,
    "task_id" UUID NOT NULL,
    "attempt" INTEGER NOT NULL,
    "strategy" "ExecutionStrategy" NOT NULL,
    "executor" TEXT,
    "model" TEXT,
    "status" "ExecutionStatus" NOT NULL DEFAULT 'QUEUED',
    "priority" "TaskPriority" NOT NULL DEFAULT 'NORMAL',
    "queued_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "worker_id" TEXT,
    "lease_expires_at" TIMESTAMPTZ(3),
    "heartbeat_at" TIMESTAMPTZ(3),
    "cancel_requested_at" TIMESTAMPTZ(3),
    "started_at" TIMESTAMPTZ(3),
    "ended_at" TIMESTAMPTZ(3),
    "tokens_in" INTEGER NOT NULL DEFAULT 0,
    "tokens_out" INTEGER NOT NULL DEFAULT 0,
    "cost_usd" DECIMAL(12,6) NOT NULL DEFAULT 0,

    CONSTRAINT "task_executions_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "execution_results" (
    "execution_id" UUID NOT NULL,
    "task_id" UUID NOT NULL,
    "summary" TEXT NOT NULL,
    "changed_files" TEXT[],
    "files_changed" INTEGER NOT NULL DEFAULT 0,
    "additions" INTEGER NOT NULL DEFAULT 0,
    "deletions" INTEGER NOT NULL DEFAULT 0,
    "pull_request_url" TEXT,
    "exit_code" INTEGER,
    "error_code" TEXT,
    "error_message" TEXT,
    "error_cause" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "execution_results_pkey" PRIMARY KEY ("execution_id")
);

-- CreateTable
CREATE TABLE "task_inputs" (
    "id" UUID NOT NULL,
    "task_id" UUID NOT NULL,
    "execution_id" UUID NOT NULL,
    "question" TEXT NOT NULL,
    "answer" TEXT,
    "asked_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "answered_at" TIMESTAMPTZ(3),
    "answered_by" UUID,

    CONSTRAINT "task_inputs_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "task_logs" (
    "task_id" UUID NOT NULL,
    "seq" INTEGER NOT NULL,
    "execution_id" UUID,
    "level" "LogLevel" NOT NULL,
    "kind" "LogKind" NOT NULL,
    "message" TEXT NOT NULL,
    "data" JSONB,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "task_logs_pkey" PRIMARY KEY ("task_id","seq")
);

-- CreateTable
CREATE TABLE "task_log_counters" (
    "task_id" UUID NOT NULL,
    "last_seq" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "task_log_counters_pkey" PRIMARY KEY ("task_id")
);

-- CreateTable
CREATE TABLE "outbox_events" (
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
CREATE TABLE "processed_events" (
    "consumer_group" TEXT NOT NULL,
    "event_id" UUID NOT NULL,
    "processed_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "processed_events_pkey" PRIMARY KEY ("consumer_group","event_id")
);

-- CreateIndex
CREATE INDEX "coding_tasks_created_at_id_idx" ON "coding_tasks"("created_at", "id");

-- CreateIndex
CREATE INDEX "coding_tasks_status_created_at_idx" ON "coding_tasks"("status", "created_at");

-- CreateIndex
CREATE INDEX "coding_tasks_creator_id_created_at_idx" ON "coding_tasks"("creator_id", "created_at");

-- CreateIndex
CREATE INDEX "coding_tasks_repository_created_at_idx" ON "coding_tasks"("repository", "created_at");

-- CreateIndex
CREATE INDEX "coding_tasks_status_classification_deadline_at_idx" ON "coding_tasks"("status", "classification_deadline_at");

-- CreateIndex
CREATE INDEX "task_executions_status_priority_queued_at_idx" ON "task_executions"("status", "priority", "queued_at");

-- CreateIndex
CREATE INDEX "task_executions_status_lease_expires_at_idx" ON "task_executions"("status", "lease_expires_at");

-- CreateIndex
CREATE UNIQUE INDEX "task_executions_task_id_attempt_key" ON "task_executions"("task_id", "attempt");

-- CreateIndex
CREATE UNIQUE INDEX "task_executions_one_active_per_task" ON "task_executions"("task_id") WHERE (ended_at IS NULL);

-- CreateIndex
CREATE INDEX "execution_results_task_id_idx" ON "execution_results"("task_id");

-- CreateIndex
CREATE INDEX "task_inputs_task_id_asked_at_idx" ON "task_inputs"("task_id", "asked_at");

-- CreateIndex
CREATE INDEX "outbox_events_published_at_seq_idx" ON "outbox_events"("published_at", "seq");

-- CreateIndex
CREATE INDEX "outbox_events_topic_key_seq_idx" ON "outbox_events"("topic", "key", "seq");

-- CreateIndex
CREATE INDEX "processed_events_processed_at_idx" ON "processed_events"("processed_at");

-- AddForeignKey
ALTER TABLE "task_executions" ADD CONSTRAINT "task_executions_task_id_fkey" FOREIGN KEY ("task_id") REFERENCES "coding_tasks"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "execution_results" ADD CONSTRAINT "execution_results_execution_id_fkey" FOREIGN KEY ("execution_id") REFERENCES "task_executions"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "task_inputs" ADD CONSTRAINT "task_inputs_task_id_fkey" FOREIGN KEY ("task_id") REFERENCES "coding_tasks"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "task_logs" ADD CONSTRAINT "task_logs_task_id_fkey" FOREIGN KEY ("task_id") REFERENCES "coding_tasks"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "task_log_counters" ADD CONSTRAINT "task_log_counters_task_id_fkey" FOREIGN KEY ("task_id") REFERENCES "coding_tasks"("id") ON DELETE CASCADE ON UPDATE CASCADE;
