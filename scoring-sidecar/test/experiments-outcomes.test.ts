// Outcomes joined from Salesforce (the org simulator) through Bulk API 2.0: conversion, first touch from
// completed Tasks, pipeline from the converted Opportunity, segments, and the pre-period per unit.
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOrgSimulator, type RunningOrgSimulator } from '@leadrank/org-simulator';
import { makeId } from '@leadrank/org-simulator/ids';
import { importPrePeriod, readOutcomes } from '../src/experiments/outcomes.js';
import { ExperimentStore } from '../src/experiments/store.js';
import { connectToOrg } from '../src/salesforce/org-connection.js';

const app = { clientId: 'experiments-test', clientSecret: 'experiments-test-secret' };
let sim: RunningOrgSimulator;
const id = (prefix: string, n: number) => makeId(prefix, n);

beforeAll(async () => {
  sim = await startOrgSimulator({ port: 0, clients: [app], logger: pino({ level: 'silent' }) });
  const { store } = sim.ctx;
  const users = [1, 2].map((n) => ({
    Id: id('005', n),
    LastName: `Rep ${n}`,
    Username: `rep${n}@example.com`,
    Email: `rep${n}@example.com`,
    Alias: `rep${n}`,
  }));
  const userResults = store.insert('User', users, { keepIds: true });
  expect(
    userResults.every((r) => r.success),
    JSON.stringify(userResults),
  ).toBe(true);
  const opp = store.insert(
    'Opportunity',
    [
      {
        Id: id('006', 1),
        Name: 'Deal',
        StageName: 'Prospecting',
        CloseDate: '2025-03-01',
        Amount: 42000,
        CreatedDate: '2025-02-05T00:00:00.000Z',
      },
    ],
    { keepIds: true },
  );
  expect(
    opp.every((r) => r.success),
    JSON.stringify(opp),
  ).toBe(true);
  const lead = (n: number, owner: number, created: string, extra: Record<string, unknown> = {}) => ({
    Id: id('00Q', n),
    LastName: `Lead ${n}`,
    Company: 'Acme',
    OwnerId: id('005', owner),
    CreatedDate: created,
    LeadSource: 'Web',
    Industry: 'Finance',
    NumberOfEmployees: 120,
    Data_Region__c: 'US',
    ...extra,
  });
  const leads = store.insert(
    'Lead',
    [
      // pre-period (before 2025-02-01): rep 1 converts 1 of 2, rep 2 none of 1
      lead(1, 1, '2025-01-10T00:00:00.000Z', {
        IsConverted: true,
        ConvertedDate: '2025-01-20',
        Status: 'Closed - Converted',
      }),
      lead(2, 1, '2025-01-11T00:00:00.000Z'),
      lead(3, 2, '2025-01-12T00:00:00.000Z'),
      // experiment period
      lead(10, 1, '2025-02-02T08:00:00.000Z', {
        IsConverted: true,
        ConvertedDate: '2025-02-05',
        ConvertedOpportunityId: id('006', 1),
        Status: 'Closed - Converted',
      }),
      lead(11, 2, '2025-02-03T08:00:00.000Z', {
        NumberOfEmployees: 5000,
        LeadSource: 'Trade Show',
        Data_Region__c: 'US',
      }),
    ],
    { keepIds: true },
  );
  expect(
    leads.every((r) => r.success),
    JSON.stringify(leads),
  ).toBe(true);
  const tasks = store.insert(
    'Task',
    [
      {
        Id: id('00T', 1),
        WhoId: id('00Q', 10),
        Subject: 'Call',
        Status: 'Completed',
        CreatedDate: '2025-02-02T11:00:00.000Z',
        CompletedDateTime: '2025-02-02T11:00:00.000Z',
      },
      {
        Id: id('00T', 2),
        WhoId: id('00Q', 10),
        Subject: 'Email',
        Status: 'Completed',
        CreatedDate: '2025-02-02T09:00:00.000Z',
        CompletedDateTime: '2025-02-02T09:30:00.000Z',
      },
      {
        Id: id('00T', 3),
        WhoId: id('00Q', 11),
        Subject: 'Call',
        Status: 'Not Started',
        CreatedDate: '2025-02-03T09:00:00.000Z',
      },
    ],
    { keepIds: true },
  );
  expect(
    tasks.every((r) => r.success),
    JSON.stringify(tasks),
  ).toBe(true);
});
afterAll(async () => sim?.close());

describe('outcomes from Salesforce', () => {
  it('joins conversion, first touch, pipeline and segments by lead', async () => {
    const conn = await connectToOrg({ flow: 'client_credentials', loginUrl: sim.url, ...app });
    const rows = await readOutcomes(
      conn,
      { since: new Date('2025-02-01T00:00:00Z') },
      { pollIntervalMs: 20 },
    );
    const byId = new Map(rows.map((r) => [r.leadId, r]));
    expect([...byId.keys()].sort()).toEqual([id('00Q', 10), id('00Q', 11)]);
    const won = byId.get(id('00Q', 10))!;
    expect(won.converted).toBe(true);
    expect(won.amount).toBe(42000);
    expect(won.firstTouchAt).toBe('2025-02-02T09:30:00.000Z'); // the earliest completed task
    expect(won.ownerId).toBe(id('005', 1));
    expect(won.segments).toEqual({
      region: 'US',
      lead_source: 'Web',
      industry: 'Finance',
      company_size: '50-199',
    });
    const open = byId.get(id('00Q', 11))!;
    expect(open.converted).toBe(false);
    expect(open.amount).toBe(0);
    expect(open.firstTouchAt).toBeNull(); // an open task is no touch
    expect(open.segments.company_size).toBe('1000+');
  });

  it('computes each unit’s pre-period conversion', async () => {
    const conn = await connectToOrg({ flow: 'client_credentials', loginUrl: sim.url, ...app });
    const store = await ExperimentStore.open(':memory:');
    const rows = await importPrePeriod(
      conn,
      store,
      'x',
      { start: new Date('2025-02-01T00:00:00Z'), days: 60, unitOf: (owner) => owner },
      { pollIntervalMs: 20 },
    );
    const byUnit = new Map(rows.map((r) => [r.unitId, r]));
    expect(byUnit.get(id('005', 1))).toEqual({ unitId: id('005', 1), leads: 2, conversions: 1 });
    expect(byUnit.get(id('005', 2))).toEqual({ unitId: id('005', 2), leads: 1, conversions: 0 });
    expect(await store.prePeriod('x')).toHaveLength(2);
    await store.close();
  });
});
