// A stand-in for the sidecar API with the documented shapes of POST /oauth/token, GET /v1/worklists/:repId and
// POST /v1/score, scoring with the real rules engine; it accepts any client. preview-stack's default until the
// real API answers (PREVIEW_SIDECAR=real switches).
import type { Server } from 'node:http';
import { join } from 'node:path';
import express from 'express';
import {
  chooseNextBestAction,
  loadActionCatalogue,
  loadRuleSet,
  scoreWithRules,
  type LeadRecord,
} from '../../scoring-sidecar/src/model/rules/index.js';

export interface StubLead {
  Id: string;
  OwnerId: string | null;
  record: Record<string, unknown>;
}

const WORKLIST_SIZE = 25;

export async function startStubSidecar(
  repoRoot: string,
  leads: StubLead[],
): Promise<{ url: string; close(): Promise<void> }> {
  const ruleSet = await loadRuleSet(join(repoRoot, 'config', 'rules', 'default.json'));
  const catalogue = await loadActionCatalogue(join(repoRoot, 'config', 'actions', 'catalogue.json'));
  const byId = new Map(leads.map((lead) => [lead.Id, lead]));
  const token = 'stub-token';

  const scoreOf = (lead: StubLead, now: Date) => {
    const record = lead.record as LeadRecord;
    const rules = scoreWithRules(ruleSet, record, now);
    const action = chooseNextBestAction(catalogue, rules, record, now, 'UTC');
    const reasons = rules.firedRules.map((r) => ({
      direction: r.points < 0 ? 'negative' : 'positive',
      feature: r.developerName,
      contribution: r.points,
      text: r.reasonText,
    }));
    return {
      status: 200,
      leadId: lead.Id,
      score: rules.score,
      band: rules.band,
      probability: null,
      reasons,
      reasonLines: reasons.map((r) => `${r.direction === 'negative' ? '-' : '+'} ${r.text}`),
      nextBestAction: action
        ? { action: action.action, label: action.label, rationale: action.rationale }
        : null,
      source: 'rules',
      fallbackReason: 'no_model',
      modelVersion: rules.ruleSetVersion,
      scoredAt: now.toISOString(),
    };
  };

  const app = express();
  app.post('/oauth/token', (_req, res) => {
    res.json({ access_token: token, token_type: 'Bearer', expires_in: 3600 });
  });
  app.use('/v1', (req, res, next) => {
    if (req.headers.authorization !== `Bearer ${token}`)
      res.status(401).json({ error: { code: 'unauthorized', message: 'no token' } });
    else next();
  });
  app.get('/v1/worklists/:repId', (req, res) => {
    const now = new Date();
    const scored = leads
      .filter((lead) => lead.OwnerId === req.params.repId)
      .map((lead) => scoreOf(lead, now))
      .sort((a, b) => b.score - a.score || (a.leadId < b.leadId ? -1 : 1))
      .slice(0, WORKLIST_SIZE);
    res.json({
      repId: req.params.repId,
      generatedAt: now.toISOString(),
      items: scored.map((s, i) => ({ ...s, rank: i + 1 })),
      excluded: [],
    });
  });
  app.post('/v1/score', express.json(), (req, res) => {
    const now = new Date();
    const items = (req.body as { leads: { id: string }[] }).leads;
    res.json({
      modelVersion: ruleSet.version,
      scores: items.map(({ id }) => {
        const lead = byId.get(id);
        return lead
          ? scoreOf(lead, now)
          : { status: 404, leadId: id, error: { code: 'lead_not_found', message: 'unknown lead' } };
      }),
    });
  });
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
