// A trace of one score (issue 13, item 4): with the SDK's InMemorySpanExporter in place of OTLP, POST /v1/score
// with the Apex callout's X-Request-Id yields the request span carrying that id and, as its children, the store
// read, the inference, the explanation and the audit append, each with its duration.
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { rm } from 'node:fs/promises';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seeded, syntheticLead } from './api-test-kit.js';
import { modelWithBaseline, startKitSidecar, type KitSidecar } from './monitoring-kit.js';

const exporter = new InMemorySpanExporter();
let kit: KitSidecar;
let work: string;

beforeAll(async () => {
  const model = await modelWithBaseline(1500);
  work = model.work;
  kit = await startKitSidecar(
    { LEADRANK_MODEL_DIR: model.dir },
    { logger: pino({ level: 'silent' }), spanExporter: exporter },
  );
}, 180_000);

afterAll(async () => {
  await kit?.stop();
  await rm(work, { recursive: true, force: true });
});

const durationMs = (s: ReadableSpan) => s.duration[0] * 1000 + s.duration[1] / 1e6;

describe('tracing', () => {
  it('one score shows the request, store read, inference, explanation and audit spans with durations', async () => {
    const lead = syntheticLead(42_000, 'US', Date.now(), seeded(2));
    await kit.sidecar.store.putLeads([lead]);
    exporter.reset();
    const res = await kit.call('POST', '/v1/score', { id: lead.Id }, { 'x-request-id': 'apex-callout-7f3a' });
    expect(res.status).toBe(200);
    expect((res.json as { scores: { source: string }[] }).scores[0]!.source).toBe('model');

    const spans = exporter.getFinishedSpans();
    const request = spans.find((s) => s.name === 'POST /v1/score');
    expect(request).toBeDefined();
    expect(request!.attributes['leadrank.request_id']).toBe('apex-callout-7f3a');
    const traceId = request!.spanContext().traceId;
    const children = spans.filter(
      (s) =>
        s.spanContext().traceId === traceId && s.parentSpanContext?.spanId === request!.spanContext().spanId,
    );
    expect(children.map((s) => s.name).sort()).toEqual(
      ['audit.append', 'model.explain', 'model.inference', 'store.read'].sort(),
    );
    for (const s of [request!, ...children]) expect(durationMs(s)).toBeGreaterThan(0);
    // The stages run inside the request: none outlasts it.
    for (const s of children) expect(durationMs(s)).toBeLessThanOrEqual(durationMs(request!));
  });
});
