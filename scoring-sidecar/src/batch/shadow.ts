// Which experiment the cycle shadows: the region's experiments.db (the file its sidecar serves from) read at
// cycle start. Only a live shadow experiment whose treatment is the challenger model is shadow-scored, as the
// API does (experiments/scoring-arms.ts withShadowScoring).
import { existsSync } from 'node:fs';
import { ExperimentService, ExperimentStore } from '../experiments/index.js';

/** The id of the experiment in shadow with the challenger as treatment, or null (no db, none live, other arm). */
export function liveShadowExperiment(experimentsDb: string): string | null {
  // Opening creates the file: a region that never ran an experiment keeps none.
  if (!existsSync(experimentsDb)) return null;
  const store = new ExperimentStore(experimentsDb);
  try {
    const shadow = new ExperimentService(store).shadowRanking();
    return shadow?.ranking.kind === 'model' && shadow.ranking.alias === 'challenger'
      ? shadow.experimentId
      : null;
  } finally {
    store.close();
  }
}
