import type { PrismaClient } from '../generated/prisma/client.js';

/** How well fixing failing builds works, for one repository or overall. */
export interface FixStats {
  repository: string | null;
  /** Fixes asked of the agent (REQUESTED at some point). */
  requested: number;
  fixed: number;
  accepted: number;
  failed: number;
  escalated: number;
  /** fixed (accepted included) / concluded (fixed + failed); null before any conclusion. */
  fixRate: number | null;
  /** Mean time from the failing run to the fix's green checks, ms. */
  meanTimeToGreenMs: number | null;
  /** Model cost of the fixes that succeeded, divided by their number, USD. */
  costPerFixUsd: number | null;
}

interface Row {
  requested: bigint;
  fixed: bigint;
  accepted: bigint;
  failed: bigint;
  escalated: bigint;
  mean_ttg_ms: number | null;
  cost_fixed: number | null;
}

/** `ciFixStats`: one aggregate statement over the fix attempts (of `repository`, or all). */
export async function fixStats(prisma: PrismaClient, repository: string | null): Promise<FixStats> {
  const [row] = await prisma.$queryRawUnsafe<Row[]>(
    `SELECT
       count(*) FILTER (WHERE status IN ('REQUESTED','FIXED','ACCEPTED','FAILED')) AS requested,
       count(*) FILTER (WHERE status IN ('FIXED','ACCEPTED')) AS fixed,
       count(*) FILTER (WHERE status = 'ACCEPTED') AS accepted,
       count(*) FILTER (WHERE status = 'FAILED') AS failed,
       count(*) FILTER (WHERE status = 'ESCALATED') AS escalated,
       (avg(EXTRACT(EPOCH FROM (fixed_at - failed_at)) * 1000) FILTER (WHERE fixed_at IS NOT NULL))::float8 AS mean_ttg_ms,
       (sum(cost_usd) FILTER (WHERE status IN ('FIXED','ACCEPTED')))::float8 AS cost_fixed
     FROM "cicd"."fix_attempts"
     WHERE ($1::text IS NULL OR repository = $1)`,
    repository,
  );
  const n = (value: bigint | undefined) => Number(value ?? 0n);
  const fixed = n(row?.fixed);
  const concluded = fixed + n(row?.failed);
  return {
    repository,
    requested: n(row?.requested),
    fixed,
    accepted: n(row?.accepted),
    failed: n(row?.failed),
    escalated: n(row?.escalated),
    fixRate: concluded === 0 ? null : fixed / concluded,
    meanTimeToGreenMs:
      row?.mean_ttg_ms === null || row?.mean_ttg_ms === undefined ? null : Math.round(row.mean_ttg_ms),
    costPerFixUsd:
      fixed === 0 || row?.cost_fixed === null || row?.cost_fixed === undefined
        ? null
        : row.cost_fixed / fixed,
  };
}
