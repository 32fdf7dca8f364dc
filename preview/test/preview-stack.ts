// What the preview needs, started in-process for its tests: a small generated CRM in the org simulator, the
// real sidecar API (a small model trained by the training code; online store and worklist index filled from
// the org's open leads), and the preview server in front of both.
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { pino } from 'pino';
import { generateDataset } from '@leadrank/crm-generator';
import { startOrgSimulator, type RunningOrgSimulator } from '@leadrank/org-simulator';
import { seedFromDirectory } from '@leadrank/org-simulator/seed';
import { leadProfileSchema } from '../../scoring-sidecar/src/inputs/index.js';
import {
  createInProcessWorklistIndex,
  isInboundSource,
  loadRankingConfig,
  type ClosableWorklistIndex,
  type RankingConfig,
  type WorklistLead,
} from '../../scoring-sidecar/src/ranking/index.js';
import { connectToOrg } from '../../scoring-sidecar/src/salesforce/org-connection.js';
import { REPO_ROOT as SIDECAR_REPO_ROOT } from '../../scoring-sidecar/src/config/index.js';
import { runOpportunityBatch } from '../../scoring-sidecar/src/commands/opportunities.js';
import { startServer } from '../../scoring-sidecar/src/server.js';
import { createInProcessStore, type OnlineFeatureStore } from '../../scoring-sidecar/src/store/index.js';
import { trainSyntheticModel } from '../../scoring-sidecar/test/api-test-kit.js';
import { configDirWithDeadline } from '../../scoring-sidecar/test/support/config-dir.js';
import { startPreviewServer, type PreviewServer } from '../server.js';

export interface PreviewStack {
  sim: RunningOrgSimulator;
  sidecarUrl: string;
  sidecarClient: { clientId: string; clientSecret: string };
  orgClient: { clientId: string; clientSecret: string };
  preview: PreviewServer;
  /** The rep owning the most open leads. */
  busiestRepId: string;
  /** What `leadrank opportunities batch` scored and wrote back to the org's open deals (deal rules). */
  opportunityCycle: { extracted: number; written: number };
  close(): Promise<void>;
}

interface OrgLead {
  Id: string;
  CreatedDate: string;
  LeadSource: string | null;
  Industry: string | null;
  NumberOfEmployees: number | null;
  AnnualRevenue: number | null;
  Country: string | null;
  Lead_Origin__c: string | null;
  HasOptedOutOfEmail: boolean;
  DoNotCall: boolean;
  Data_Region__c: 'US' | 'EU';
  Matched_Account__c: string | null;
  Title: string | null;
  Email: string | null;
  OwnerId: string | null;
  Territory__c: string | null;
  Status: string;
  IsConverted: boolean;
}

const LEAD_QUERY =
  'SELECT Id, CreatedDate, LeadSource, Industry, NumberOfEmployees, AnnualRevenue, Country, Lead_Origin__c, ' +
  'HasOptedOutOfEmail, DoNotCall, Data_Region__c, Matched_Account__c, Title, Email, OwnerId, Territory__c, ' +
  "Status, IsConverted FROM Lead WHERE IsConverted = false AND Data_Region__c = 'US'";

const silent = pino({ level: 'silent' });

export async function startPreviewStack(work: string): Promise<PreviewStack> {
  const today = new Date();
  today.setUTCHours(0, 0, 0, 0);
  const crmDir = join(work, 'crm');
  await generateDataset({
    outDir: crmDir,
    seed: 11,
    active: 300,
    historical: 100,
    dataEnd: today.toISOString(),
    euShare: 0,
    historyDays: 60,
    reps: 4,
    logger: silent,
  });

  const orgClient = {
    clientId: 'leadrank-preview-test',
    clientSecret: randomBytes(18).toString('base64url'),
  };
  const sim = await startOrgSimulator({ port: 0, clients: [orgClient], logger: silent });
  await seedFromDirectory(sim.ctx.store, crmDir);

  const conn = await connectToOrg({ flow: 'client_credentials', loginUrl: sim.url, ...orgClient });
  // The open deals get their score fields as in production: the opportunity batch writes them back.
  const opportunityCycle = await runOpportunityBatch(
    {
      REGION: 'US',
      // The cycle's report and audit entries go under the test's work dir, not the repository's var/.
      LEADRANK_ROOT: work,
      LEADRANK_CONFIG_DIR: join(SIDECAR_REPO_ROOT, 'config'),
      SF_LOGIN_URL: sim.url,
      SF_CLIENT_ID: orgClient.clientId,
      SF_CLIENT_SECRET: orgClient.clientSecret,
    },
    silent,
  );
  const leads = (await conn.query<OrgLead>(LEAD_QUERY, { autoFetch: true, maxFetch: 100_000 })).records;

  const store = createInProcessStore('US');
  await store.putLeads(
    leads.map((lead) =>
      leadProfileSchema.parse({
        ...lead,
        Company: null,
        Phone: null,
        FirstName: null,
        LastName: null,
        Street: null,
      }),
    ),
  );
  const ranking = loadRankingConfig(join(SIDECAR_REPO_ROOT, 'config', 'ranking.json'));
  const worklistIndex = createInProcessWorklistIndex('US', {
    closedStatuses: ranking.candidates.closedStatuses,
  });
  await worklistIndex.upsert(leads.map((lead) => worklistLeadOf(lead, ranking)));
  const owned = new Map<string, number>();
  for (const lead of leads) {
    if (lead.OwnerId && !ranking.candidates.closedStatuses.includes(lead.Status))
      owned.set(lead.OwnerId, (owned.get(lead.OwnerId) ?? 0) + 1);
  }
  const busiestRepId = [...owned.entries()].sort((a, b) => b[1] - a[1])[0]![0];

  const sidecarClient = { clientId: 'leadrank-preview', clientSecret: randomBytes(18).toString('base64url') };
  const sidecar = await startRealSidecar(work, sidecarClient, store, worklistIndex);

  const preview = await startPreviewServer({
    port: 0,
    sidecarUrl: sidecar.url,
    sidecarClient,
    orgUrl: sim.url,
    orgClient,
    outDir: join(work, 'preview'),
    rebuild: true,
    logger: silent,
  });

  return {
    sim,
    sidecarUrl: sidecar.url,
    sidecarClient,
    orgClient,
    preview,
    busiestRepId,
    opportunityCycle,
    close: async () => {
      await preview.close();
      await sidecar.close();
      await sim.close();
    },
  };
}

/** The real sidecar API: a small model trained by the training code, the stores filled from the org. */
async function startRealSidecar(
  work: string,
  client: { clientId: string; clientSecret: string },
  store: OnlineFeatureStore,
  worklistIndex: ClosableWorklistIndex,
): Promise<{ url: string; close(): Promise<void> }> {
  const modelDir = await trainSyntheticModel(join(work, 'model'), 1500);
  // The shipped config with a looser deadline: the page is meant to show the model's score, not a slow
  // request's rules fallback (test/support/config-dir.ts).
  const configDir = configDirWithDeadline(work, 2000);
  const sidecar = await startServer(
    {
      REGION: 'US',
      LEADRANK_CONFIG_DIR: configDir,
      PORT: '0',
      HOST: '127.0.0.1',
      LEADRANK_MODEL_DIR: modelDir,
      LEADRANK_AUDIT_DIR: join(work, 'audit'),
      LEADRANK_AUDIT_FSYNC: 'none',
      LEADRANK_TOKEN_SIGNING_KEY: randomBytes(32).toString('base64url'),
      LEADRANK_CLIENTS: JSON.stringify([
        {
          clientId: client.clientId,
          clientSecretSha256: createHash('sha256').update(client.clientSecret).digest('hex'),
          region: 'US',
          name: 'local preview',
        },
      ]),
    },
    { store, worklistIndex, logger: silent },
  );
  return { url: `http://127.0.0.1:${sidecar.port}`, close: () => sidecar.stop() };
}

function worklistLeadOf(lead: OrgLead, ranking: RankingConfig): WorklistLead {
  return {
    leadId: lead.Id,
    region: lead.Data_Region__c,
    ownerId: lead.OwnerId,
    territory: lead.Territory__c,
    status: lead.Status,
    isConverted: lead.IsConverted,
    hasOptedOutOfEmail: lead.HasOptedOutOfEmail,
    doNotCall: lead.DoNotCall,
    createdAt: lead.CreatedDate,
    leadSource: lead.LeadSource,
    isInbound: isInboundSource(lead.LeadSource, ranking),
    accountKey: lead.Matched_Account__c,
    employees: lead.NumberOfEmployees,
    annualRevenue: lead.AnnualRevenue,
    lastTouchAt: null,
  };
}
