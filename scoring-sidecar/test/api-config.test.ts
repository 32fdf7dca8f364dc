// Start-up configuration: config/*.json and the auth environment fail early with the file (or variable)
// and the field named.
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthenticatorFromEnv } from '../src/api/auth.js';
import { loadBatchConfig, withOverrides } from '../src/batch/index.js';
import {
  ConfigError,
  leadTimeZone,
  loadRegionsConfig,
  loadScoringConfig,
  overridesFromEnv,
} from '../src/config/index.js';
import { loadWritebackConfig, writebackWithOverrides } from '../src/writeback/index.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'api-config-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function withFile(name: string, content: unknown): Promise<string> {
  const file = join(dir, name);
  await writeFile(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

describe('config/scoring.json and config/regions.json', () => {
  it('loads the shipped files', () => {
    const scoring = loadScoringConfig();
    expect(scoring.limits.maxLeadsPerRequest).toBe(1000);
    const regions = loadRegionsConfig();
    expect(leadTimeZone(regions, 'EU', 'Germany')).toBe('Europe/Berlin');
    expect(leadTimeZone(regions, 'EU', null)).toBe(regions.regions.EU.defaultTimeZone);
  });

  it('names the file and the field of a bad value', async () => {
    const good = loadScoringConfig();
    const file = await withFile('scoring-bad.json', {
      ...good,
      microBatch: { windowMs: 2, maxRows: 'many' },
    });
    expect(() => loadScoringConfig(file)).toThrow(ConfigError);
    expect(() => loadScoringConfig(file)).toThrow(
      `${file}: microBatch.maxRows: Invalid input: expected number`,
    );
    const bands = await withFile('scoring-bands.json', { ...good, bands: { A: 20, B: 50, C: 25 } });
    expect(() => loadScoringConfig(bands)).toThrow(/bands: thresholds must satisfy A > B > C/);
    const extra = await withFile('scoring-extra.json', { ...good, surprise: true });
    expect(() => loadScoringConfig(extra)).toThrow(/surprise/);
  });

  it('refuses an unknown time zone and a file that is not JSON', async () => {
    const regions = loadRegionsConfig();
    const file = await withFile('regions-bad.json', {
      ...regions,
      countryTimeZones: { Atlantis: 'Ocean/Atlantis' },
    });
    expect(() => loadRegionsConfig(file)).toThrow(
      `${file}: countryTimeZones.Atlantis: must be an IANA time zone`,
    );
    const broken = await withFile('broken.json', '{ nope');
    expect(() => loadScoringConfig(broken)).toThrow(`${broken}: cannot read JSON`);
  });
});

describe('overrides of config/batch.json and config/writeback.json (one shared merge)', () => {
  it('merges a section key by key, replaces a scalar, and validates the result naming the field', () => {
    const batch = withOverrides(loadBatchConfig(), {
      schedule: { everyMs: 1000 },
      lockRetry: { maxRounds: 2 },
    });
    expect(batch.schedule.everyMs).toBe(1000);
    expect(batch.lockRetry).toEqual({ ...loadBatchConfig().lockRetry, maxRounds: 2 });
    const writeback = writebackWithOverrides(loadWritebackConfig(), {
      flushMs: 50,
      retry: { maxAttempts: 9 },
    });
    expect(writeback.flushMs).toBe(50);
    expect(writeback.retry).toEqual({ ...loadWritebackConfig().retry, maxAttempts: 9 });
    expect(() => writebackWithOverrides(loadWritebackConfig(), { flushMs: -1 })).toThrow(
      /config\/writeback\.json \(overridden\): flushMs: /,
    );
    expect(() => withOverrides(loadBatchConfig(), { queue: { concurrency: 0 } })).toThrow(
      /config\/batch\.json \(overridden\): queue\.concurrency: /,
    );
  });

  it('reads the environment variable, naming it when it is not a JSON object', () => {
    expect(overridesFromEnv({}, 'LEADRANK_BATCH_OVERRIDES')).toEqual({});
    expect(overridesFromEnv({ X: '{"flushMs": 5}' }, 'X')).toEqual({ flushMs: 5 });
    expect(() => overridesFromEnv({ X: '{flushMs' }, 'X')).toThrow(/^X: not JSON/);
    expect(() => overridesFromEnv({ X: '[1]' }, 'X')).toThrow(/^X: must be a JSON object/);
  });
});

describe('auth environment', () => {
  const client = {
    clientId: 'c',
    clientSecretSha256: createHash('sha256').update('s').digest('hex'),
    region: 'US',
    name: 'n',
  };

  it('names the variable and the field of a bad client list', async () => {
    await expect(
      createAuthenticatorFromEnv(
        {
          LEADRANK_CLIENTS: JSON.stringify([{ ...client, region: 'APAC' }]),
          LEADRANK_TOKEN_SIGNING_KEY: 'k'.repeat(32),
        },
        60,
      ),
    ).rejects.toThrow(/^LEADRANK_CLIENTS: 0\.region: /);
    await expect(createAuthenticatorFromEnv({ LEADRANK_CLIENTS: '[' }, 60)).rejects.toThrow(
      /LEADRANK_CLIENTS is not valid JSON/,
    );
  });

  it('needs a signing key of at least 32 bytes when clients are configured', async () => {
    await expect(
      createAuthenticatorFromEnv({ LEADRANK_CLIENTS: JSON.stringify([client]) }, 60),
    ).rejects.toThrow(/LEADRANK_TOKEN_SIGNING_KEY is not/);
    await expect(
      createAuthenticatorFromEnv(
        { LEADRANK_CLIENTS: JSON.stringify([client]), LEADRANK_TOKEN_SIGNING_KEY: 'short' },
        60,
      ),
    ).rejects.toThrow(/at least 32 bytes/);
  });

  it('issues tokens that expire: an expired token is refused', async () => {
    let now = Date.parse('2026-01-01T00:00:00Z');
    const { Authenticator } = await import('../src/api/auth.js');
    const auth = new Authenticator({
      clients: [client as never],
      signingKey: 'k'.repeat(32),
      callerKeys: new Map(),
      tokenTtlSeconds: 60,
      now: () => now,
    });
    const { token } = await auth.issueToken('c', 's');
    await expect(auth.authenticate(`Bearer ${token.access_token}`)).resolves.toMatchObject({
      id: 'c',
      region: 'US',
    });
    now += 61_000;
    await expect(auth.authenticate(`Bearer ${token.access_token}`)).rejects.toThrow(/invalid token/);
    await expect(auth.issueToken('c', 'wrong')).rejects.toThrow(/unknown client or wrong secret/);
  });
});
