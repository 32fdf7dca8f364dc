// Stands in for the REST query, queryAll and queryMore resources.
import express, { type Request, type Router } from 'express';
import type { SimulatorContext } from '../context.js';
import { makeId } from '../ids.js';
import type { CompiledQuery } from '../store/org-store.js';
import { ApiError } from './errors.js';
import { apiVersionOf } from './sobjects.js';

const DEFAULT_BATCH = 2000;
const MIN_BATCH = 200;
const LOCATOR_IDLE_MS = 15 * 60 * 1000;
const MAX_LOCATORS = 1000;

interface OpenCursor {
  query: CompiledQuery;
  totalSize: number;
  batchSize: number;
  /** store cursors by the number of records already served */
  positions: Map<number, string>;
  lastUsed: number;
}

/** `Sforce-Query-Options: batchSize=N`, clamped to Salesforce's 200..2000. */
function batchSizeOf(req: Request): number {
  const header = req.headers['sforce-query-options'];
  const match = typeof header === 'string' ? /batchSize\s*=\s*(\d+)/i.exec(header) : null;
  if (!match?.[1]) return DEFAULT_BATCH;
  return Math.min(DEFAULT_BATCH, Math.max(MIN_BATCH, Number(match[1])));
}

/** `query`, `queryAll` and queryMore (`query/<locator>-<position>`), 2,000 records a page by default. */
export function queryRouter(ctx: SimulatorContext): Router {
  const router = express.Router({ mergeParams: true });
  const cursors = new Map<string, OpenCursor>();
  let sequence = 1;

  const evict = (now: number) => {
    for (const [id, c] of cursors) if (now - c.lastUsed > LOCATOR_IDLE_MS) cursors.delete(id);
    while (cursors.size >= MAX_LOCATORS) {
      const oldest = cursors.keys().next().value;
      if (oldest === undefined) break;
      cursors.delete(oldest);
    }
  };

  const respond = (req: Request, locatorId: string | null, cursor: OpenCursor, position: number) => {
    const storeCursor = position === 0 ? null : (cursor.positions.get(position) ?? null);
    const page = ctx.store.page(cursor.query, storeCursor, cursor.batchSize);
    const served = position + page.records.length;
    let nextRecordsUrl: string | undefined;
    if (page.nextCursor) {
      const id = locatorId ?? makeId('01g', sequence++);
      cursor.positions.set(served, page.nextCursor);
      cursor.lastUsed = Date.now();
      if (!locatorId) {
        evict(cursor.lastUsed);
        cursors.set(id, cursor);
      }
      nextRecordsUrl = `/services/data/v${apiVersionOf(req)}/query/${id}-${served}`;
    } else if (locatorId) {
      cursors.delete(locatorId);
    }
    return {
      totalSize: cursor.totalSize,
      done: !page.nextCursor,
      ...(nextRecordsUrl ? { nextRecordsUrl } : {}),
      records: page.records,
    };
  };

  const runQuery = (includeDeleted: boolean) => (req: Request, res: express.Response) => {
    const soql = req.query.q;
    if (typeof soql !== 'string' || soql.trim() === '') {
      throw new ApiError(400, 'MALFORMED_QUERY', "unexpected token: '<EOF>'");
    }
    const query = ctx.store.compileQuery(soql, { includeDeleted });
    const aggregate = (query as { aggregate?: { kind: string } | null }).aggregate;
    const count = ctx.store.count(query);
    const totalSize = aggregate?.kind === 'countField' ? 1 : count;
    const cursor: OpenCursor = {
      query,
      totalSize,
      batchSize: batchSizeOf(req),
      positions: new Map(),
      lastUsed: Date.now(),
    };
    res.json(respond(req, null, cursor, 0));
  };

  router.get('/query', runQuery(false));
  router.get('/queryAll', runQuery(true));

  const more = (req: Request, res: express.Response) => {
    const match = /^([a-zA-Z0-9]{15,18})-(\d+)$/.exec(String(req.params.locator ?? ''));
    const cursor = match?.[1] ? cursors.get(match[1]) : undefined;
    const position = Number(match?.[2] ?? NaN);
    if (!match?.[1] || !cursor || !cursor.positions.has(position)) {
      throw new ApiError(400, 'INVALID_QUERY_LOCATOR', 'invalid query locator');
    }
    res.json(respond(req, match[1], cursor, position));
  };
  router.get('/query/:locator', more);
  router.get('/queryAll/:locator', more);

  return router;
}
