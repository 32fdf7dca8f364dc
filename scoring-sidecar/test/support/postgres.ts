// A uniquely named PostgreSQL database per test (or file) on the server the tests use (DATABASE_URL of the
// test environment, default the local postgres), dropped afterwards. The shared-state layer migrates it.
import { randomUUID } from 'node:crypto';
import pg from 'pg';

export const TEST_POSTGRES_URL =
  process.env.LEADRANK_TEST_POSTGRES_URL ?? 'postgres://postgres:postgres@127.0.0.1:5432/postgres';

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

/** Creates `lrtest_<label>_<random>` and returns its URL; `drop` ends its connections and removes it. */
export async function createTestDatabase(label: string): Promise<TestDatabase> {
  const name = `lrtest_${label.replace(/[^a-z0-9]/gi, '_').toLowerCase()}_${randomUUID().slice(0, 8)}`;
  const admin = new pg.Client({ connectionString: TEST_POSTGRES_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  return {
    url: withDatabase(TEST_POSTGRES_URL, name),
    async drop() {
      const c = new pg.Client({ connectionString: TEST_POSTGRES_URL });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}
