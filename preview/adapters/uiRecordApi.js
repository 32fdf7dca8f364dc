// lightning/uiRecordApi for the preview: getRecord reads the lead from the org and lays the sidecar's live
// score (POST /v1/score) over its stored score fields, so the card shows what the sidecar would write back.
import { org, sidecar } from './http';
import { scoreFields } from './lead-scores';

const SCORE_FIELDS = Object.keys(scoreFields({}));

function fieldName(field) {
  if (typeof field === 'string') {
    return field.includes('.') ? field.slice(field.indexOf('.') + 1) : field;
  }
  return field.fieldApiName;
}

function objectName(fields) {
  const first = fields[0];
  if (!first) {
    return 'Lead';
  }
  return typeof first === 'string' ? first.split('.')[0] : first.objectApiName;
}

async function liveScore(recordId) {
  try {
    const answer = await sidecar('/v1/score', { method: 'POST', body: { leads: [{ id: recordId }] } });
    const entry = (answer.scores || []).find((score) => score.status === 200);
    return entry ? scoreFields(entry) : null;
  } catch {
    return null; // the stored score fields still tell the story, as in Salesforce when the sidecar is down
  }
}

export async function fetchRecord(recordId, fields) {
  const apiName = objectName(fields);
  const names = fields.map(fieldName);
  const [stored, live] = await Promise.all([
    org(`/sobjects/${apiName}/${encodeURIComponent(recordId)}?fields=${names.join(',')}`),
    apiName === 'Lead' && names.some((name) => SCORE_FIELDS.includes(name)) ? liveScore(recordId) : null,
  ]);
  const values = { ...stored, ...(live || {}) };
  const recordFields = {};
  for (const name of names) {
    recordFields[name] = { value: values[name] === undefined ? null : values[name], displayValue: null };
  }
  return { apiName, id: stored.Id || recordId, fields: recordFields };
}

/** Connected getRecord wires, so notifyRecordUpdateAvailable can re-read their records. */
const liveWires = new Set();

export class getRecord {
  constructor(dataCallback) {
    this.dataCallback = dataCallback;
    this.generation = 0;
    this.config = undefined;
  }

  connect() {
    liveWires.add(this);
  }

  disconnect() {
    this.generation += 1;
    liveWires.delete(this);
  }

  update(config) {
    this.config = config;
    const { recordId, fields = [], optionalFields = [] } = config || {};
    if (!recordId) {
      return;
    }
    const generation = ++this.generation;
    fetchRecord(recordId, [...fields, ...optionalFields]).then(
      (data) => generation === this.generation && this.dataCallback({ data, error: undefined }),
      (error) => generation === this.generation && this.dataCallback({ data: undefined, error }),
    );
  }
}

/** As on the platform: every wire showing one of these records reads it again. */
export async function notifyRecordUpdateAvailable(items) {
  const ids = new Set((items || []).map((item) => item.recordId));
  for (const wire of liveWires) {
    if (wire.config && ids.has(wire.config.recordId)) wire.update(wire.config);
  }
}

export function getFieldValue(record, field) {
  if (!record || !record.fields) {
    return undefined;
  }
  const entry = record.fields[fieldName(field)];
  return entry ? entry.value : undefined;
}

export function getFieldDisplayValue(record, field) {
  if (!record || !record.fields) {
    return undefined;
  }
  const entry = record.fields[fieldName(field)];
  return entry ? entry.displayValue : undefined;
}
