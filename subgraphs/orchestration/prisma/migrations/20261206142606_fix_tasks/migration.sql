-- AlterTable
ALTER TABLE "coding_tasks" ADD COLUMN     "fix_id" UUID;

-- CreateIndex
CREATE UNIQUE INDEX "coding_tasks_fix_id_key" ON "coding_tasks"("fix_id");
