// Stands in for the REST sObject resources: CRUD by Id, upsert and retrieve by external Id.
import express, { type Request, type Router } from 'express';
import type { SimulatorContext } from '../context.js';
import type { SObjectDescribe } from '../schema/index.js';
import type { SaveResult, SObjectRecord } from '../store/org-store.js';
import { describeBody, globalEntry } from './describe.js';
import { ApiError } from './errors.js';

export function apiVersionOf(req: Request): string {
  return String(req.params.version ?? '').replace(/^v/, '');
}

export function requireObject(ctx: SimulatorContext, name: string): SObjectDescribe {
  const describe = ctx.schema.object(name);
  if (!describe) throw new ApiError(404, 'NOT_FOUND', 'The requested resource does not exist');
  return describe;
}

export function recordUrl(version: string, type: string, id: string): string {
  return `/services/data/v${version}/sobjects/${type}/${id}`;
}

function bodyRecord(req: Request): SObjectRecord {
  const body: unknown = req.body;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ApiError(400, 'JSON_PARSER_ERROR', 'The request body must be a JSON object');
  }
  return body as SObjectRecord;
}

/** A failed single-record save answers 400 with the row's errors; missing records answer 404. */
function throwIfFailed(result: SaveResult | undefined): SaveResult {
  if (!result) throw new ApiError(500, 'UNKNOWN_EXCEPTION', 'no result');
  if (result.success) return result;
  const first = result.errors[0];
  const status = first && ['NOT_FOUND', 'ENTITY_IS_DELETED'].includes(first.statusCode) ? 404 : 400;
  throw new ApiError(
    status,
    first?.statusCode ?? 'UNKNOWN_EXCEPTION',
    first?.message ?? 'save failed',
    first?.fields,
  );
}

function fieldsParam(req: Request): string[] | undefined {
  const raw = req.query.fields;
  if (typeof raw !== 'string' || raw.trim() === '') return undefined;
  return raw.split(',').map((f) => f.trim());
}

/** `sobjects`: describeGlobal, describe, CRUD by Id, upsert and retrieve by external Id. */
export function sobjectsRouter(ctx: SimulatorContext): Router {
  const router = express.Router({ mergeParams: true });

  router.get('/', (req, res) => {
    const version = apiVersionOf(req);
    res.json({
      encoding: 'UTF-8',
      maxBatchSize: 200,
      sobjects: ctx.schema.objects().map((o) => globalEntry(o, version)),
    });
  });

  router.get('/:object', (req, res) => {
    const describe = requireObject(ctx, req.params.object ?? '');
    res.json({ objectDescribe: globalEntry(describe, apiVersionOf(req)), recentItems: [] });
  });

  router.get('/:object/describe', (req, res) => {
    res.json(describeBody(requireObject(ctx, req.params.object ?? ''), apiVersionOf(req)));
  });

  router.post('/:object', (req, res) => {
    const describe = requireObject(ctx, req.params.object ?? '');
    const result = throwIfFailed(ctx.store.insert(describe.name, [bodyRecord(req)])[0]);
    res.status(201).json({ id: result.id, success: true, errors: [] });
  });

  router.get('/:object/:id', (req, res) => {
    const describe = requireObject(ctx, req.params.object ?? '');
    const record = ctx.store.retrieve(describe.name, req.params.id ?? '', fieldsParam(req));
    if (!record) throw new ApiError(404, 'NOT_FOUND', 'The requested resource does not exist');
    const id = String(ctx.store.retrieve(describe.name, req.params.id ?? '', ['Id'])?.Id);
    res.json({
      attributes: { type: describe.name, url: recordUrl(apiVersionOf(req), describe.name, id) },
      ...record,
    });
  });

  router.patch('/:object/:id', (req, res) => {
    const describe = requireObject(ctx, req.params.object ?? '');
    const { Id: _ignored, ...fields } = bodyRecord(req);
    throwIfFailed(ctx.store.update(describe.name, [{ ...fields, Id: req.params.id }])[0]);
    res.status(204).end();
  });

  router.delete('/:object/:id', (req, res) => {
    const describe = requireObject(ctx, req.params.object ?? '');
    throwIfFailed(ctx.store.delete(describe.name, [req.params.id ?? ''])[0]);
    res.status(204).end();
  });

  router.get('/:object/:field/:value', (req, res) => {
    const describe = requireObject(ctx, req.params.object ?? '');
    const ids = ctx.store.findIds(describe.name, req.params.field ?? '', req.params.value ?? '', 2);
    if (ids.length > 1)
      throw new ApiError(300, 'MULTIPLE_CHOICES', 'more than one record found for external id');
    const record = ids[0] ? ctx.store.retrieve(describe.name, ids[0], fieldsParam(req)) : undefined;
    if (!record || !ids[0]) throw new ApiError(404, 'NOT_FOUND', 'The requested resource does not exist');
    res.json({
      attributes: { type: describe.name, url: recordUrl(apiVersionOf(req), describe.name, ids[0]) },
      ...record,
    });
  });

  router.patch('/:object/:field/:value', (req, res) => {
    const describe = requireObject(ctx, req.params.object ?? '');
    const field = ctx.schema.field(describe.name, req.params.field ?? '');
    const record = { ...bodyRecord(req), [field?.name ?? req.params.field ?? '']: req.params.value };
    const result = ctx.store.upsert(describe.name, req.params.field ?? '', [record])[0];
    if (
      result?.errors[0]?.statusCode === 'DUPLICATE_EXTERNAL_ID' &&
      !result.errors[0].message.startsWith('Duplicate')
    ) {
      throw new ApiError(300, 'DUPLICATE_EXTERNAL_ID', result.errors[0].message);
    }
    const saved = throwIfFailed(result);
    res
      .status(saved.created ? 201 : 200)
      .json({ id: saved.id, success: true, errors: [], created: saved.created });
  });

  return router;
}
