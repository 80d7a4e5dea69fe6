import type { Principal } from '@cap/runtime';
import DataLoader from 'dataloader';
import type { TaskClassification } from './generated/prisma/client.js';
import type { MlClassifierDeps } from './domain/deps.js';

/** Per-request context: who is calling (from the router's token), the use cases' deps, and batch loaders. */
export interface MlClassifierContext {
  principal: Principal;
  requestId: string;
  deps: MlClassifierDeps;
  loaders: {
    /** Classifications by task id: `tasks { classification }` costs one query per request, not one per task. */
    classification: DataLoader<string, TaskClassification | null>;
  };
}

export function createLoaders(deps: MlClassifierDeps): MlClassifierContext['loaders'] {
  return {
    classification: new DataLoader(async (taskIds) => {
      const rows = await deps.prisma.taskClassification.findMany({ where: { taskId: { in: [...taskIds] } } });
      const byId = new Map(rows.map((row) => [row.taskId, row]));
      return taskIds.map((id) => byId.get(id) ?? null);
    }),
  };
}
