-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "ml_classifier";

-- CreateEnum
CREATE TYPE "ml_classifier"."TaskType" AS ENUM ('BUG_FIX', 'FEATURE', 'REFACTOR', 'TEST', 'DOCUMENTATION', 'CHORE', 'OTHER');

-- CreateEnum
CREATE TYPE "ml_classifier"."TaskComplexity" AS ENUM ('SIMPLE', 'MEDIUM', 'COMPLEX');

-- CreateEnum
CREATE TYPE "ml_classifier"."DecidedBy" AS ENUM ('HEURISTIC', 'MODEL');

-- CreateEnum
CREATE TYPE "ml_classifier"."ModelSource" AS ENUM ('COMMITTED', 'TRAINED');

-- CreateEnum
CREATE TYPE "ml_classifier"."TrainingStatus" AS ENUM ('QUEUED', 'RUNNING', 'SUCCEEDED', 'FAILED');

-- CreateEnum
CREATE TYPE "ml_classifier"."TaskOutcomeKind" AS ENUM ('COMPLETED', 'FAILED');

-- CreateTable
CREATE TABLE "ml_classifier"."classifier_models" (
    "id" UUID NOT NULL,
    "version" TEXT NOT NULL,
    "source" "ml_classifier"."ModelSource" NOT NULL,
    "onnx" BYTEA NOT NULL,
    "sha256" TEXT NOT NULL,
    "metadata" JSONB NOT NULL,
    "metrics" JSONB NOT NULL,
    "active" BOOLEAN NOT NULL DEFAULT false,
    "training_id" UUID,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "activated_at" TIMESTAMPTZ(3),

    CONSTRAINT "classifier_models_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ml_classifier"."model_activations" (
    "id" BIGSERIAL NOT NULL,
    "model_id" UUID NOT NULL,
    "activated_by" UUID,
    "reason" TEXT NOT NULL,
    "activated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "model_activations_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ml_classifier"."task_classifications" (
    "task_id" UUID NOT NULL,
    "title" TEXT NOT NULL,
    "description" TEXT NOT NULL,
    "type" "ml_classifier"."TaskType" NOT NULL,
    "type_confidence" DOUBLE PRECISION NOT NULL,
    "type_decided_by" "ml_classifier"."DecidedBy" NOT NULL,
    "complexity" "ml_classifier"."TaskComplexity" NOT NULL,
    "complexity_confidence" DOUBLE PRECISION NOT NULL,
    "complexity_decided_by" "ml_classifier"."DecidedBy" NOT NULL,
    "probabilities" JSONB NOT NULL,
    "model_version" TEXT NOT NULL,
    "classified_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "task_classifications_pkey" PRIMARY KEY ("task_id")
);

-- CreateTable
CREATE TABLE "ml_classifier"."outcome_examples" (
    "task_id" UUID NOT NULL,
    "execution_id" UUID,
    "outcome" "ml_classifier"."TaskOutcomeKind" NOT NULL,
    "title" TEXT NOT NULL,
    "description" TEXT NOT NULL,
    "files_changed" INTEGER NOT NULL,
    "lines_changed" INTEGER,
    "tool_calls" INTEGER NOT NULL,
    "tokens" INTEGER NOT NULL,
    "complexity" "ml_classifier"."TaskComplexity",
    "recorded_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "outcome_examples_pkey" PRIMARY KEY ("task_id")
);

-- CreateTable
CREATE TABLE "ml_classifier"."classifier_trainings" (
    "id" UUID NOT NULL,
    "status" "ml_classifier"."TrainingStatus" NOT NULL DEFAULT 'QUEUED',
    "phase" TEXT NOT NULL DEFAULT 'queued',
    "progress" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "requested_by" UUID,
    "outcome_examples" INTEGER NOT NULL DEFAULT 0,
    "corpus_examples" INTEGER NOT NULL DEFAULT 0,
    "held_out_examples" INTEGER NOT NULL DEFAULT 0,
    "model_id" UUID,
    "activated" BOOLEAN NOT NULL DEFAULT false,
    "decision" TEXT,
    "comparison" JSONB,
    "error" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "started_at" TIMESTAMPTZ(3),
    "finished_at" TIMESTAMPTZ(3),

    CONSTRAINT "classifier_trainings_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ml_classifier"."outbox_events" (
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
CREATE TABLE "ml_classifier"."processed_events" (
    "consumer_group" TEXT NOT NULL,
    "event_id" UUID NOT NULL,
    "processed_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "processed_events_pkey" PRIMARY KEY ("consumer_group","event_id")
);

-- CreateIndex
CREATE UNIQUE INDEX "classifier_models_version_key" ON "ml_classifier"."classifier_models"("version");

-- CreateIndex
CREATE INDEX "classifier_models_created_at_id_idx" ON "ml_classifier"."classifier_models"("created_at", "id");

-- CreateIndex
CREATE INDEX "model_activations_model_id_idx" ON "ml_classifier"."model_activations"("model_id");

-- CreateIndex
CREATE INDEX "outcome_examples_recorded_at_idx" ON "ml_classifier"."outcome_examples"("recorded_at");

-- CreateIndex
CREATE INDEX "classifier_trainings_created_at_id_idx" ON "ml_classifier"."classifier_trainings"("created_at", "id");

-- CreateIndex
CREATE INDEX "outbox_events_published_at_seq_idx" ON "ml_classifier"."outbox_events"("published_at", "seq");

-- CreateIndex
CREATE INDEX "outbox_events_topic_key_seq_idx" ON "ml_classifier"."outbox_events"("topic", "key", "seq");

-- CreateIndex
CREATE INDEX "processed_events_processed_at_idx" ON "ml_classifier"."processed_events"("processed_at");

-- AddForeignKey
ALTER TABLE "ml_classifier"."model_activations" ADD CONSTRAINT "model_activations_model_id_fkey" FOREIGN KEY ("model_id") REFERENCES "ml_classifier"."classifier_models"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- At most one active model: activation flips the flag in one transaction, and this index refuses a second.
CREATE UNIQUE INDEX "classifier_models_one_active" ON "ml_classifier"."classifier_models"("active") WHERE "active";
