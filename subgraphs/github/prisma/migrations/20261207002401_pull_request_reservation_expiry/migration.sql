-- AlterTable
ALTER TABLE "pull_request_reservations" ADD COLUMN     "expires_at" TIMESTAMPTZ(3);

-- Reservations made before this migration: the default lifetime from when they were made, so a stale one (a task
-- path that never stored its pull request) stops linking and is swept like any other.
UPDATE "pull_request_reservations" SET "expires_at" = "created_at" + interval '10 minutes';

ALTER TABLE "pull_request_reservations" ALTER COLUMN "expires_at" SET NOT NULL;

-- CreateIndex
CREATE INDEX "pull_request_reservations_expires_at_idx" ON "pull_request_reservations"("expires_at");
