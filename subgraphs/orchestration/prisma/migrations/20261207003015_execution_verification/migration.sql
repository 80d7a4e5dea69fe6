-- AlterTable
ALTER TABLE "execution_results" ADD COLUMN     "verification" JSONB;
