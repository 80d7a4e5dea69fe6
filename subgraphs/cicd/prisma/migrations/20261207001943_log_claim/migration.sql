-- AlterTable
ALTER TABLE "builds" ADD COLUMN     "log_claim_expires_at" TIMESTAMPTZ(3),
ADD COLUMN     "log_claimed_by" TEXT;
