-- AlterTable
ALTER TABLE "coding_tasks" ADD COLUMN     "allow_network" BOOLEAN NOT NULL DEFAULT false,
ADD COLUMN     "budgets" JSONB,
ADD COLUMN     "setup_command" TEXT,
ADD COLUMN     "verify_command" TEXT;

-- AlterTable
ALTER TABLE "execution_results" ADD COLUMN     "branch" TEXT,
ADD COLUMN     "commit_sha" TEXT,
ADD COLUMN     "diff" TEXT,
ADD COLUMN     "model_calls" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "stop_reason" TEXT,
ADD COLUMN     "tool_calls" INTEGER NOT NULL DEFAULT 0;

-- CreateTable
CREATE TABLE "agent_conversations" (
    "task_id" UUID NOT NULL,
    "state" TEXT NOT NULL,
    "size_bytes" INTEGER NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "agent_conversations_pkey" PRIMARY KEY ("task_id")
);

-- AddForeignKey
ALTER TABLE "agent_conversations" ADD CONSTRAINT "agent_conversations_task_id_fkey" FOREIGN KEY ("task_id") REFERENCES "coding_tasks"("id") ON DELETE CASCADE ON UPDATE CASCADE;
