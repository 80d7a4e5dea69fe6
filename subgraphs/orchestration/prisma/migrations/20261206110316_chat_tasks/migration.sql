-- AlterTable
ALTER TABLE "coding_tasks" ADD COLUMN     "chat_agent_id" TEXT,
ADD COLUMN     "chat_message_id" UUID,
ADD COLUMN     "conversation_id" UUID;

-- CreateIndex
CREATE UNIQUE INDEX "coding_tasks_chat_message_id_key" ON "coding_tasks"("chat_message_id");

-- CreateIndex
CREATE INDEX "coding_tasks_conversation_id_chat_agent_id_created_at_idx" ON "coding_tasks"("conversation_id", "chat_agent_id", "created_at");
