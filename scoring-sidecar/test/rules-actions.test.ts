import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { chooseNextBestAction, loadActionCatalogue, parseActionCatalogue } from '../src/model/rules/index.js';

const catalogueFile = join(import.meta.dirname, '..', '..', 'config', 'actions', 'catalogue.json');
const catalogue = await loadActionCatalogue(catalogueFile);
// Monday 2025-06-02 10:00 in New York (14:00 UTC); Sunday for the weekend case.
const mondayMorning = new Date('2025-06-02T14:00:00Z');
const sunday = new Date('2025-06-01T14:00:00Z');
const zone = 'America/New_York';
const reachable = { DoNotCall: false, HasOptedOutOfEmail: false, CreatedDate: '2025-05-30T00:00:00Z' };

describe('next-best action from the catalogue', () => {
  it('recommends calling an A-band lead during working hours, with the rationale filled in', () => {
    const nba = chooseNextBestAction(
      catalogue,
      { score: 82, band: 'A', reasons: ['Referred by a partner'] },
      reachable,
      mondayMorning,
      zone,
    );
    expect(nba?.action).toBe('CALL_NOW');
    expect(nba?.rationale).toContain('A-band lead scoring 82');
    expect(nba?.rationale).toContain('Referred by a partner');
    expect(nba?.rationale).not.toMatch(/\{\w+\}/);
  });

  it('falls back to email outside working hours or when the lead asked not to be called', () => {
    const scored = { score: 80, band: 'A' as const, reasons: [] };
    expect(chooseNextBestAction(catalogue, scored, reachable, sunday, zone)?.action).toBe('SEND_EMAIL');
    const noCalls = { ...reachable, DoNotCall: true };
    expect(chooseNextBestAction(catalogue, scored, noCalls, mondayMorning, zone)?.action).toBe('SEND_EMAIL');
  });

  it('gives no action when none is eligible, invites a quiet C-band lead, hands a small D-band company to a partner', () => {
    const quiet = { ...reachable, HasOptedOutOfEmail: true, CreatedDate: '2025-01-01T00:00:00Z' };
    const b = chooseNextBestAction(
      catalogue,
      { score: 55, band: 'B', reasons: [] },
      quiet,
      mondayMorning,
      zone,
    );
    expect(b).toBeNull();
    const c = chooseNextBestAction(
      catalogue,
      { score: 30, band: 'C', reasons: [] },
      { ...reachable, LastActivityDate: '2025-05-01' },
      mondayMorning,
      zone,
    );
    expect(c?.action).toBe('INVITE_TO_EVENT');
    expect(c?.rationale).toContain('No touch for 32 days');
    const d = chooseNextBestAction(
      catalogue,
      { score: 10, band: 'D', reasons: [] },
      { ...reachable, NumberOfEmployees: 12 },
      mondayMorning,
      zone,
    );
    expect(d?.action).toBe('HAND_TO_PARTNER');
  });

  it('rejects unknown template placeholders and names the action', () => {
    const raw = structuredClone(catalogue) as { actions: Record<string, unknown>[] };
    raw.actions[1] = { ...raw.actions[1], rationaleTemplate: 'Hello {firstName}' };
    expect(() => parseActionCatalogue(raw, 'catalogue.json')).toThrow(
      /catalogue.json: action 'Send_Email' \(actions\[1\].rationaleTemplate\): placeholders/,
    );
  });
});
