// A generated CRM world served by a running org simulator, as the training-set, training and context-extract tests
// need it: the generator (crm-generator) writes the data under a temporary root, the simulator serves it through
// the Salesforce APIs, and `env` holds the SF_* variables that point the product's org client at it.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import pino from 'pino';
import { generateDataset, type GenerateOptions } from '@leadrank/crm-generator';
import { startOrgSimulator, type RunningOrgSimulator } from '@leadrank/org-simulator';
import type { OrgSchema } from '@leadrank/org-simulator/schema';
import { seedFromDirectory } from '@leadrank/org-simulator/seed';

export interface GeneratedOrg {
  /** The temporary root; the generated data is in `data`. */
  root: string;
  data: string;
  sim: RunningOrgSimulator;
  env: { SF_LOGIN_URL: string; SF_CLIENT_ID: string; SF_CLIENT_SECRET: string };
  /** Stops the simulator and removes the root. */
  close(): Promise<void>;
}

/** Generates `dataset` under a new temporary root named after `name`, and serves it to `app` (a connected app). */
export async function startGeneratedOrg(
  name: string,
  app: { clientId: string; clientSecret: string },
  dataset: Omit<GenerateOptions, 'outDir'>,
  schema?: OrgSchema,
): Promise<GeneratedOrg> {
  const root = await mkdtemp(join(tmpdir(), `${name}-`));
  const data = join(root, 'data');
  await generateDataset({ ...dataset, outDir: data });
  const sim = await startOrgSimulator({
    port: 0,
    clients: [app],
    logger: pino({ level: 'silent' }),
    ...(schema ? { schema } : {}),
  });
  await seedFromDirectory(sim.ctx.store, data);
  return {
    root,
    data,
    sim,
    env: { SF_LOGIN_URL: sim.url, SF_CLIENT_ID: app.clientId, SF_CLIENT_SECRET: app.clientSecret },
    async close() {
      await sim.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}

/** `leadrank <args>` in this process with the given command groups; resolves to the lines it printed. */
export function leadrankInProcess(...groups: ((program: Command) => void)[]) {
  return async (args: string[]): Promise<string[]> => {
    const program = new Command('leadrank').exitOverride();
    for (const register of groups) register(program);
    const lines: string[] = [];
    const log = console.log;
    console.log = (line: unknown) => void lines.push(String(line));
    try {
      await program.parseAsync(['node', 'leadrank', ...args]);
    } finally {
      console.log = log;
    }
    return lines;
  };
}
