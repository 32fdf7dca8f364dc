// Stands in for the REST sObject Collections and composite endpoints (allOrNone, up to 200 rows).
import express, { type Router } from 'express';
import type { SimulatorContext } from '../context.js';
import { keyPrefixOf, toId18 } from '../ids.js';
import type { SaveResult, SObjectRecord } from '../store/org-store.js';
import { ApiError } from './errors.js';
import { apiVersionOf, recordUrl, requireObject } from './sobjects.js';

const MAX_RECORDS = 200;
const ROLLED_BACK = {
  statusCode: 'ALL_OR_NONE_OPERATION_ROLLED_BACK',
  message: 'Record rolled back because not all records were valid and the request was using AllOrNone header',
  fields: [] as string[],
};

class Rollback extends Error {}

function failed(statusCode: string, message: string): SaveResult {
  return { id: null, success: false, errors: [{ statusCode, message, fields: [] }] };
}

function checkSize(n: number): void {
  if (n > MAX_RECORDS) {
    throw new ApiError(
      400,
      'EXCEEDED_ID_LIMIT',
      `record limit reached. cannot submit more than ${MAX_RECORDS} records into this call`,
    );
  }
}

/** Salesforce's response rows: `{ id, success, errors }`, plus `created` for upserts. */
function toResponse(results: SaveResult[]): object[] {
  return results.map((r) => ({
    id: r.id,
    success: r.success,
    errors: r.errors,
    ...(r.created === undefined ? {} : { created: r.created }),
  }));
}

/**
 * Runs `perRow` for each row in one transaction. allOrNone: any failure rolls everything back; failed rows
 * keep their errors and the others report ALL_OR_NONE_OPERATION_ROLLED_BACK.
 */
function runCollection<T>(
  ctx: SimulatorContext,
  rows: T[],
  allOrNone: boolean,
  perRow: (row: T) => SaveResult,
): SaveResult[] {
  let results: SaveResult[] = [];
  try {
    ctx.store.transaction(() => {
      results = rows.map(perRow);
      if (allOrNone && results.some((r) => !r.success)) throw new Rollback();
    });
  } catch (error) {
    if (!(error instanceof Rollback)) throw error;
    return results.map((r) => (r.success ? { id: null, success: false, errors: [ROLLED_BACK] } : r));
  }
  return results;
}

function recordsBody(body: unknown): { allOrNone: boolean; records: SObjectRecord[] } {
  const b = body as { allOrNone?: unknown; records?: unknown } | undefined;
  if (!b || !Array.isArray(b.records))
    throw new ApiError(400, 'JSON_PARSER_ERROR', 'records must be an array');
  return { allOrNone: b.allOrNone === true, records: b.records as SObjectRecord[] };
}

function typeOf(record: SObjectRecord): string | undefined {
  const attributes = record?.attributes as { type?: unknown } | undefined;
  return typeof attributes?.type === 'string' ? attributes.type : undefined;
}

/** `composite/sobjects`: create, update, delete and retrieve up to 200 records per call. */
export function compositeRouter(ctx: SimulatorContext): Router {
  const router = express.Router({ mergeParams: true });

  const save = (kind: 'insert' | 'update') => (record: SObjectRecord) => {
    const type = typeOf(record);
    const describe = type ? ctx.schema.object(type) : undefined;
    if (!describe)
      return failed(
        'INVALID_TYPE',
        type ? `sObject type '${type}' is not supported.` : 'sObject type not specified in attributes',
      );
    const result =
      kind === 'insert'
        ? ctx.store.insert(describe.name, [record])
        : ctx.store.update(describe.name, [record]);
    return result[0] ?? failed('UNKNOWN_EXCEPTION', 'no result');
  };

  // A rep's edit holding the row: the faults' lockErrorRate fails a row as Salesforce does under contention.
  const locked = (perRow: (record: SObjectRecord) => SaveResult) => (record: SObjectRecord) => {
    const rate = ctx.faults.config().lockErrorRate;
    if (rate > 0 && ctx.faults.random() < rate)
      return failed('UNABLE_TO_LOCK_ROW', 'unable to obtain exclusive access to this record or 1 records');
    return perRow(record);
  };

  router.post('/sobjects', (req, res) => {
    const { allOrNone, records } = recordsBody(req.body);
    checkSize(records.length);
    const withId = records.findIndex((r) => r && (r.Id !== undefined || r.id !== undefined));
    if (withId >= 0) throw new ApiError(400, 'INVALID_FIELD', 'Cannot specify an ID in an insert call');
    res.json(toResponse(runCollection(ctx, records, allOrNone, save('insert'))));
  });

  router.patch('/sobjects', (req, res) => {
    const { allOrNone, records } = recordsBody(req.body);
    checkSize(records.length);
    res.json(toResponse(runCollection(ctx, records, allOrNone, locked(save('update')))));
  });

  // Upsert on an external id field, up to 200 records (Salesforce: PATCH composite/sobjects/{object}/{field}).
  router.patch('/sobjects/:object/:field', (req, res) => {
    const describe = requireObject(ctx, req.params.object ?? '');
    const field = req.params.field ?? '';
    const { allOrNone, records } = recordsBody(req.body);
    checkSize(records.length);
    res.json(
      toResponse(
        runCollection(ctx, records, allOrNone, (record) => {
          const type = typeOf(record);
          if (type && type !== describe.name)
            return failed('INVALID_TYPE', `record type ${type} is not ${describe.name}`);
          const { attributes: _attributes, ...fields } = record;
          return (
            ctx.store.upsert(describe.name, field, [fields])[0] ?? failed('UNKNOWN_EXCEPTION', 'no result')
          );
        }),
      ),
    );
  });

  router.delete('/sobjects', (req, res) => {
    const ids = String(req.query.ids ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
    if (ids.length === 0) throw new ApiError(400, 'MISSING_ARGUMENT', 'ids parameter is required');
    checkSize(ids.length);
    const allOrNone = String(req.query.allOrNone ?? 'false').toLowerCase() === 'true';
    const results = runCollection(ctx, ids, allOrNone, (raw) => {
      const id = toId18(raw);
      const describe = id ? ctx.schema.objectByKeyPrefix(keyPrefixOf(id)) : undefined;
      if (!id || !describe) return { ...failed('MALFORMED_ID', `malformed id ${raw}`), id: raw };
      return ctx.store.delete(describe.name, [id])[0] ?? failed('UNKNOWN_EXCEPTION', 'no result');
    });
    res.json(toResponse(results));
  });

  router.get('/sobjects/:object', (req, res) => {
    const describe = requireObject(ctx, req.params.object ?? '');
    const ids = String(req.query.ids ?? '')
      .split(',')
      .filter(Boolean);
    const fields = String(req.query.fields ?? '')
      .split(',')
      .filter(Boolean);
    if (ids.length === 0 || fields.length === 0)
      throw new ApiError(400, 'MISSING_ARGUMENT', 'ids and fields are required');
    checkSize(ids.length);
    const version = apiVersionOf(req);
    res.json(
      ids.map((id) => {
        const record = ctx.store.retrieve(describe.name, id, fields);
        const id18 = toId18(id) ?? id;
        return record
          ? { attributes: { type: describe.name, url: recordUrl(version, describe.name, id18) }, ...record }
          : null;
      }),
    );
  });

  return router;
}
