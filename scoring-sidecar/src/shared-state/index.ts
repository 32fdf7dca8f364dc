// Shared state (experiments, monitoring history): one data-access layer over PostgreSQL or embedded SQLite.
export {
  databaseUrlOf,
  openSharedDb,
  type Dialect,
  type SharedDb,
  type SharedStateOptions,
} from './database.js';
