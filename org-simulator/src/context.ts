// Stands in for the org instance itself: store, schema, sessions, limits and faults one server shares.
import type pino from 'pino';
import type { FaultInjector } from './faults.js';
import type { ApiUsage } from './limits.js';
import type { OrgSchema } from './schema/index.js';
import type { OrgStore } from './store/org-store.js';

/** Everything a route handler needs; one per running simulator. */
export interface SimulatorContext {
  store: OrgStore;
  schema: OrgSchema;
  faults: FaultInjector;
  apiUsage: ApiUsage;
  logger: pino.Logger;
  /** default '62.0' */
  apiVersion: string;
  /** e.g. http://127.0.0.1:8787, known once the server listens */
  instanceUrl(): string;
}
