// Where the deployment keeps its files: the repository root, and the region-local state directory.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * The deployment's region-local state directory (experiments.db, monitoring.db): LEADRANK_STATE_DIR, default
 * <root>/var/state/<REGION> (root: the repository, or the batch's LEADRANK_ROOT). The sidecar and the commands
 * resolve it the same way, so `leadrank experiment …` run beside a sidecar changes the experiments it serves.
 */
export function regionStateDir(
  env: Record<string, string | undefined> = process.env,
  root = REPO_ROOT,
): string {
  return env.LEADRANK_STATE_DIR ?? join(root, 'var', 'state', env.REGION ?? 'US');
}
