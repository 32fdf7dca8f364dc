// The preview server's relay and the adapters' mapping of sidecar answers, without a browser.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scoreFields, worklistFromSidecar } from '../adapters/lead-scores.js';
import { startPreviewServer, type PreviewServer } from '../server.js';

const sidecarItem = {
  rank: 1,
  leadId: '00QLd00B000001AIEA',
  score: 82,
  band: 'A',
  source: 'model',
  reasons: [{ text: 'Visited pricing', direction: 'positive' }],
  reasonLines: ['+ Visited pricing', '- Free email domain'],
  nextBestAction: { action: 'call_now', label: 'Call now', rationale: 'A-band lead scoring 82.' },
  modelVersion: 'lgbm-test',
  scoredAt: '2026-01-01T10:00:00.000Z',
};

describe('sidecar answers in Salesforce shapes', () => {
  it('keeps the sidecar order, takes names from the org and drops leads the org does not return', () => {
    const hidden = { ...sidecarItem, rank: 2, leadId: '00QLd00B000002AIEA' };
    const worklist = worklistFromSidecar(
      { items: [sidecarItem, hidden] },
      new Map([[sidecarItem.leadId, { Name: 'Ada Example', Company: 'Example Ltd' }]]),
    );
    expect(worklist.items).toEqual([
      {
        leadId: sidecarItem.leadId,
        rank: 1,
        name: 'Ada Example',
        company: 'Example Ltd',
        score: 82,
        band: 'A',
        reasons: ['+ Visited pricing', '- Free email domain'],
        nextBestAction: 'Call now: A-band lead scoring 82.',
        source: 'Model',
        scoredAt: sidecarItem.scoredAt,
      },
    ]);
  });

  it('writes a score as the Lead fields Apex would store', () => {
    const fields = scoreFields({ ...sidecarItem, source: 'rules', reasonLines: undefined });
    expect(fields.Score_Reasons__c).toBe('+ Visited pricing');
    expect(fields.Next_Best_Action__c).toBe('Call now: A-band lead scoring 82.');
    expect(fields.Score_Source__c).toBe('Rules');
    expect(fields.Lead_Score__c).toBe(82);
  });
});

describe('preview relay', () => {
  let work: string;
  let upstream: Server;
  let preview: PreviewServer;
  const seen: { path: string; auth: string | undefined }[] = [];

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'leadrank-preview-relay-'));
    mkdirSync(join(work, 'bundle'));
    writeFileSync(join(work, 'bundle', 'preview.js'), '// stand-in bundle\n');
    // One fake upstream for both: the sidecar's token route, the org's token route and their data routes.
    const app = express();
    app.use(express.urlencoded({ extended: false }));
    app.post('/oauth/token', (_req, res) =>
      res.json({ access_token: 'sidecar-token', token_type: 'Bearer', expires_in: 600 }),
    );
    app.post('/services/oauth2/token', (req, res) => {
      const base = `http://${req.headers.host}`;
      res.json({
        access_token: 'org-token',
        instance_url: base,
        id: `${base}/id/00D/005`,
        token_type: 'Bearer',
      });
    });
    app.use((req, res) => {
      seen.push({ path: req.originalUrl, auth: req.headers.authorization });
      res.status(req.path.includes('missing') ? 404 : 200).json({ ok: true, path: req.originalUrl });
    });
    upstream = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    const address = upstream.address();
    const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    preview = await startPreviewServer({
      sidecarUrl: base,
      sidecarClient: { clientId: 's', clientSecret: 's-secret' },
      orgUrl: base,
      orgClient: { clientId: 'o', clientSecret: 'o-secret' },
      outDir: join(work, 'bundle'),
      logger: pino({ level: 'silent' }),
    });
  });

  afterAll(async () => {
    await preview?.close();
    await new Promise((resolve) => upstream?.close(resolve));
    rmSync(work, { recursive: true, force: true });
  });

  async function pageToken(): Promise<string> {
    const html = await (await fetch(`${preview.url}?rep=005Ld00B0000006IEA`)).text();
    const config = JSON.parse(/id="leadrank-preview-config">(.*?)<\/script>/.exec(html)![1]!);
    expect(config.initialRepId).toBe('005Ld00B0000006IEA');
    return config.token;
  }

  it('refuses relay calls without the page token', async () => {
    const response = await fetch(`${preview.url}api/sidecar/v1/worklists/005Ld00B0000006IEA`);
    expect(response.status).toBe(401);
    const forged = await fetch(`${preview.url}api/sidecar/v1/worklists/005Ld00B0000006IEA`, {
      headers: { Authorization: 'Bearer eyJhbGciOiJIUzI1NiJ9.e30.AAAA' },
    });
    expect(forged.status).toBe(401);
    expect(seen).toEqual([]);
  });

  it('relays allowed routes with the upstream credentials and passes statuses through', async () => {
    const headers = { Authorization: `Bearer ${await pageToken()}` };
    const worklist = await fetch(`${preview.url}api/sidecar/v1/worklists/005Ld00B0000006IEA`, { headers });
    expect(worklist.status).toBe(200);
    const query = await fetch(`${preview.url}api/org/query?q=${encodeURIComponent('SELECT Id FROM User')}`, {
      headers,
    });
    expect(query.status).toBe(200);
    const missing = await fetch(`${preview.url}api/org/sobjects/Lead/missing`, { headers });
    expect(missing.status).toBe(404);
    expect(seen.map((s) => [s.path, s.auth])).toEqual([
      ['/v1/worklists/005Ld00B0000006IEA', 'Bearer sidecar-token'],
      ['/services/data/v62.0/query?q=SELECT%20Id%20FROM%20User', 'Bearer org-token'],
      ['/services/data/v62.0/sobjects/Lead/missing', 'Bearer org-token'],
    ]);
  });

  it('relays nothing outside its allow-list', async () => {
    const headers = { Authorization: `Bearer ${await pageToken()}`, 'Content-Type': 'application/json' };
    const before = seen.length;
    const del = await fetch(`${preview.url}api/org/sobjects/Lead/00QLd00B000001AIEA`, {
      method: 'DELETE',
      headers,
    });
    const events = await fetch(`${preview.url}api/sidecar/v1/events`, {
      method: 'POST',
      headers,
      body: '{}',
    });
    expect([del.status, events.status]).toEqual([404, 404]);
    expect(seen.length).toBe(before);
  });
});
