-- AlterTable
ALTER TABLE "pull_requests" ADD COLUMN     "opened_recorded_at" TIMESTAMPTZ(3);

-- CreateTable
CREATE TABLE "pull_request_reservations" (
    "repository_id" UUID NOT NULL,
    "head_branch" TEXT NOT NULL,
    "task_id" UUID NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "pull_request_reservations_pkey" PRIMARY KEY ("repository_id","head_branch")
);

-- AddForeignKey
ALTER TABLE "pull_request_reservations" ADD CONSTRAINT "pull_request_reservations_repository_id_fkey" FOREIGN KEY ("repository_id") REFERENCES "repositories"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Pull requests stored before this migration were announced when they were stored (ADR 0036).
UPDATE "pull_requests" SET "opened_recorded_at" = "created_at";
