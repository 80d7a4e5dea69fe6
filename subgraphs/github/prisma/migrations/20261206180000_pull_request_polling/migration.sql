-- AlterTable
ALTER TABLE "github"."pull_requests" ADD COLUMN     "next_poll_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
ADD COLUMN     "poll_etag" TEXT;

-- CreateIndex
CREATE INDEX "pull_requests_state_next_poll_at_idx" ON "github"."pull_requests"("state", "next_poll_at");
