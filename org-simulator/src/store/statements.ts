// Stands in for nothing in Salesforce: the simulator's cache of prepared SQLite statements.
import type Database from 'better-sqlite3';
import type { Statement } from './types.js';

const STATEMENT_CACHE_SIZE = 500;

/** Prepared statements by SQL text, oldest evicted first once the cache is full. */
export class StatementCache {
  private readonly statements = new Map<string, Statement>();

  constructor(private readonly db: Database.Database) {}

  get(sql: string): Statement {
    let s = this.statements.get(sql);
    if (!s) {
      if (this.statements.size >= STATEMENT_CACHE_SIZE) {
        const oldest = this.statements.keys().next().value;
        if (oldest !== undefined) this.statements.delete(oldest);
      }
      s = this.db.prepare(sql) as Statement;
      this.statements.set(sql, s);
    }
    return s;
  }
}
