// Which experiment the cycle shadows: the region's experiment store (PostgreSQL when DATABASE_URL is set, else
// the experiments.db file its sidecar serves from) read at cycle start. Only a live shadow experiment whose
// treatment is the challenger model is shadow-scored, as the API does (experiments/scoring-arms.ts
// withShadowScoring).
import { existsSync } from 'node:fs';
import { ExperimentService, ExperimentStore } from '../experiments/index.js';
import { databaseUrlOf } from '../shared-state/index.js';

/** The id of the experiment in shadow with the challenger as treatment, or null (no db, none live, other arm). */
export async function liveShadowExperiment(
  experimentsDb: string,
  env: Record<string, string | undefined> = process.env,
): Promise<string | null> {
  const databaseUrl = databaseUrlOf(env);
  // Opening creates the file: a region that never ran an experiment keeps none.
  if (!databaseUrl && !existsSync(experimentsDb)) return null;
  const store = await ExperimentStore.open({ databaseUrl, sqliteFile: experimentsDb });
  try {
    const service = await ExperimentService.open(store);
    await service.close();
    const shadow = service.shadowRanking();
    return shadow?.ranking.kind === 'model' && shadow.ranking.alias === 'challenger'
      ? shadow.experimentId
      : null;
  } finally {
    await store.close();
  }
}
