// Outcomes joined from Salesforce through Bulk API 2.0: conversion and owner from Lead, the first touch from
// completed Tasks, pipeline from the converted Opportunity's Amount; and each unit's pre-period conversion
// rate (the CUPED covariate). Three flat queries joined here: Bulk API 2.0 runs no aggregate queries.
import type jsforce from 'jsforce';
import { bulkQuery, type BulkQueryOptions } from '../salesforce/index.js';
import type { ExperimentStore, OutcomeRow, PrePeriodRow } from './store.js';

/** Same bands as the training sets' seg_company_size (training-set-builder.ts keeps its copy private). */
export function companySizeBand(employees: number | null): string | null {
  if (employees === null) return null;
  if (employees < 50) return '1-49';
  if (employees < 200) return '50-199';
  if (employees < 1000) return '200-999';
  return '1000+';
}

type Query = (soql: string) => AsyncIterable<Record<string, string | null>>;

function querier(conn: jsforce.Connection, opts: BulkQueryOptions): Query {
  return (soql) => bulkQuery(conn, soql, opts);
}

const soqlDateTime = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');
const num = (v: string | null | undefined) => (v === null || v === undefined || v === '' ? null : Number(v));

export interface OutcomeWindow {
  /** Leads created from here on are the experiment's. */
  since: Date;
  until?: Date;
  /** Only this region's leads (each deployment joins its own region). */
  region?: string;
}

/** Reads the window's leads with their outcomes; pure Salesforce reading, nothing stored. */
export async function readOutcomes(
  conn: jsforce.Connection,
  window: OutcomeWindow,
  opts: BulkQueryOptions = {},
): Promise<OutcomeRow[]> {
  const query = querier(conn, opts);
  const range =
    `CreatedDate >= ${soqlDateTime(window.since)}` +
    (window.until ? ` AND CreatedDate < ${soqlDateTime(window.until)}` : '');
  const regionFilter = window.region ? ` AND Data_Region__c = '${window.region.replace(/'/g, "\\'")}'` : '';
  const leads: OutcomeRow[] = [];
  const opportunityOf = new Map<string, string>();
  for await (const r of query(
    'SELECT Id, OwnerId, CreatedDate, IsConverted, ConvertedDate, ConvertedOpportunityId, LeadSource, Industry, ' +
      `NumberOfEmployees, Data_Region__c FROM Lead WHERE ${range}${regionFilter}`,
  )) {
    const converted = r.IsConverted === 'true';
    leads.push({
      leadId: r.Id!,
      ownerId: r.OwnerId ?? null,
      createdAt: new Date(r.CreatedDate!).toISOString(),
      converted,
      convertedAt: converted && r.ConvertedDate ? new Date(r.ConvertedDate).toISOString() : null,
      firstTouchAt: null,
      amount: 0,
      segments: {
        region: r.Data_Region__c ?? null,
        lead_source: r.LeadSource ?? null,
        industry: r.Industry ?? null,
        company_size: companySizeBand(num(r.NumberOfEmployees)),
      },
    });
    if (converted && r.ConvertedOpportunityId) opportunityOf.set(r.ConvertedOpportunityId, r.Id!);
  }
  const byId = new Map(leads.map((l) => [l.leadId, l]));
  for await (const t of query(
    `SELECT WhoId, CreatedDate, CompletedDateTime FROM Task WHERE Status = 'Completed' AND ${range}`,
  )) {
    const lead = t.WhoId ? byId.get(t.WhoId) : undefined;
    if (!lead) continue;
    const at = new Date(t.CompletedDateTime ?? t.CreatedDate!).toISOString();
    if (lead.firstTouchAt === null || at < lead.firstTouchAt) lead.firstTouchAt = at;
  }
  if (opportunityOf.size > 0) {
    for await (const o of query(`SELECT Id, Amount FROM Opportunity WHERE ${range}`)) {
      const lead = byId.get(opportunityOf.get(o.Id!) ?? '');
      if (lead) lead.amount = num(o.Amount) ?? 0;
    }
  }
  return leads;
}

/** Joins the window's outcomes into the experiment's store; returns how many leads were read. */
export async function importOutcomes(
  conn: jsforce.Connection,
  store: ExperimentStore,
  experimentId: string,
  window: OutcomeWindow,
  opts: BulkQueryOptions = {},
): Promise<number> {
  const rows = await readOutcomes(conn, window, opts);
  await store.upsertOutcomes(experimentId, rows);
  return rows.length;
}

/**
 * Each unit's conversion over the `days` before `start` (leads created then, converted by `start`): the CUPED
 * covariate. Reps map to units through `unitOf` (the rep itself, or its team).
 */
export async function importPrePeriod(
  conn: jsforce.Connection,
  store: ExperimentStore,
  experimentId: string,
  p: { start: Date; days: number; unitOf: (ownerId: string) => string | null; region?: string },
  opts: BulkQueryOptions = {},
): Promise<PrePeriodRow[]> {
  const since = new Date(p.start.getTime() - p.days * 86_400_000);
  const rows = await readOutcomes(
    conn,
    { since, until: p.start, ...(p.region ? { region: p.region } : {}) },
    opts,
  );
  const byUnit = new Map<string, PrePeriodRow>();
  for (const r of rows) {
    const unitId = r.ownerId ? p.unitOf(r.ownerId) : null;
    if (!unitId) continue;
    const acc = byUnit.get(unitId) ?? { unitId, leads: 0, conversions: 0 };
    acc.leads += 1;
    if (r.converted && r.convertedAt !== null && r.convertedAt < p.start.toISOString()) acc.conversions += 1;
    byUnit.set(unitId, acc);
  }
  const result = [...byUnit.values()];
  await store.setPrePeriod(experimentId, result);
  return result;
}
