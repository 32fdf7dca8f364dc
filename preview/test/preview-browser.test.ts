// The local preview in a real browser (Debian chromium via playwright-core) against the org simulator and
// the sidecar API: the rep's ranked worklist, then one lead's score card and history, then the next-best action
// logged as done (a completed Task in the org). With UPDATE_SCREENSHOTS=1 it saves the docs' screenshots
// (docs/img/preview-*.png, used by docs/design.md's journeys and docs/salesforce.md).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sidecarUpstream } from '../upstream.js';
import { connectToOrg } from '../../scoring-sidecar/src/salesforce/org-connection.js';
import { CHROMIUM, CHROMIUM_ARGS, screenshot } from '../../scoring-sidecar/test/support/chromium.js';
import { startPreviewStack, type PreviewStack } from './preview-stack.js';

declare global {
  interface Window {
    leadrankPreview: { publishScoreChange(leadIds: string[]): number };
  }
}

interface SidecarItem {
  leadId: string;
  rank: number;
  score: number;
  band: string;
}

describe('local preview in chromium', () => {
  let work: string;
  let stack: PreviewStack;
  let context: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'leadrank-preview-'));
    stack = await startPreviewStack(work);
    context = await chromium.launchPersistentContext(join(work, 'chromium-profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1280, height: 900 },
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(`${stack.preview.url}?rep=${stack.busiestRepId}`);
  }, 600_000); // generate, train, build the LWC bundle: minutes on a loaded 2-core machine

  afterAll(async () => {
    await context?.close();
    await stack?.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('shows the rep the sidecar ranks, in rank order, each with a band', async () => {
    const items = page.locator('c-ranked-lead-list li[data-id="item"]');
    await items.first().waitFor({ timeout: 30_000 });
    await expect.poll(() => page.locator('[data-id="rep-picker"]').inputValue()).toBe(stack.busiestRepId);

    const shown = await items.evaluateAll((elements) =>
      elements.map((li) => ({
        leadId: li.querySelector('a[data-role="lead-link"]')?.getAttribute('data-id') ?? '',
        rank: Number(li.querySelector('.slds-text-color_weak')?.textContent),
        name: li.querySelector('a[data-role="lead-link"]')?.textContent ?? '',
        score: Number(li.querySelector('[data-id="score"]')?.textContent),
        band: li.querySelector('[data-id="band"]')?.textContent?.trim() ?? '',
      })),
    );
    expect(await screenshot(page, 'preview-worklist.png')).toBeGreaterThan(10_000);
    expect(shown.length).toBeGreaterThan(1);
    expect(await page.locator('c-ranked-lead-list [data-id="notice"]').count()).toBe(0);

    // The same worklist straight from the sidecar: the page must show exactly its order, ranks and bands.
    const answer = await sidecarUpstream(stack.sidecarUrl, stack.sidecarClient).send(
      'GET',
      `/v1/worklists/${stack.busiestRepId}`,
    );
    expect(answer.status).toBe(200);
    const ranked = (JSON.parse(answer.body) as { items: SidecarItem[] }).items;
    expect(shown.map((s) => s.leadId)).toEqual(ranked.map((r) => r.leadId));
    expect(shown.map((s) => s.rank)).toEqual(ranked.map((r) => r.rank));
    expect(shown.map((s) => s.rank)).toEqual(shown.map((_, i) => i + 1));
    expect(shown.map((s) => s.band)).toEqual(ranked.map((r) => r.band));
    expect(shown.map((s) => s.score)).toEqual(ranked.map((r) => r.score));
    for (const item of shown) {
      expect(item.band).toMatch(/^[ABCD]$/);
      expect(item.name.trim().length).toBeGreaterThan(0); // names come from the org, not the sidecar
    }
  });

  it('opens a lead: score, band, reasons and next-best action on the card, and its history', async () => {
    const firstLink = page.locator('c-ranked-lead-list a[data-role="lead-link"]').first();
    const leadId = await firstLink.getAttribute('data-id');
    const listedBand = await page.locator('c-ranked-lead-list [data-id="band"]').first().textContent();
    await firstLink.click();

    const card = page.locator('c-lead-score-card');
    await card.locator('[data-id="score"]').waitFor({ timeout: 30_000 });
    const history = page.locator('c-score-history');
    await history.locator('lightning-datatable, [data-id="empty"]').first().waitFor({ timeout: 30_000 });
    expect(await screenshot(page, 'preview-rep-day.png')).toBeGreaterThan(10_000);
    const live = await sidecarUpstream(stack.sidecarUrl, stack.sidecarClient).send('POST', '/v1/score', {
      leads: [{ id: leadId }],
    });
    const score = (
      JSON.parse(live.body) as {
        scores: { score: number; band: string; nextBestAction: { label: string } | null }[];
      }
    ).scores[0]!;
    expect(Number(await card.locator('[data-id="score"]').textContent())).toBe(score.score);
    expect((await card.locator('[data-id="band"]').textContent())?.trim()).toBe(`Band ${score.band}`);
    expect(`Band ${listedBand?.trim()}`).toBe(`Band ${score.band}`);

    const reasons = card.locator('[data-id="positive-reasons"] li, [data-id="negative-reasons"] li');
    expect(await reasons.count()).toBeGreaterThan(0);
    for (const text of await reasons.allTextContents()) expect(text.trim().length).toBeGreaterThan(3);

    const action = card.locator('[data-id="next-best-action"]');
    expect(score.nextBestAction).not.toBeNull();
    await expect.poll(() => action.locator('h3').textContent()).toBe(score.nextBestAction!.label);
    expect((await action.locator('[data-id="rationale"]').textContent())?.trim().length).toBeGreaterThan(10);

    expect(await history.locator('[data-id="error"]').count()).toBe(0);
    expect(pageErrors).toEqual([]);
  });

  it('refreshes the card live when a new score lands: the score-changed event, no reload', async () => {
    const card = page.locator('c-lead-score-card');
    const leadId = (await page
      .locator('c-ranked-lead-list a[data-role="lead-link"]')
      .first()
      .getAttribute('data-id'))!;
    const shown = Number(await card.locator('[data-id="score"]').textContent());
    await page.evaluate(() => Object.assign(window, { notReloaded: true }));

    // A burst of engagement for the lead through the API: the sidecar rescores it (the event path).
    const upstream = sidecarUpstream(stack.sidecarUrl, stack.sidecarClient);
    const now = Date.now();
    const types = ['trial_signup', 'pricing_page_visit', 'form_fill', 'webinar_attended', 'email_click'];
    const events = Array.from({ length: 40 }, (_, i) => ({
      eventId: `preview-live-${leadId}-${i}`,
      leadId,
      type: types[i % types.length],
      occurredAt: new Date(now - i * 60_000).toISOString(),
      region: 'US',
    }));
    expect((await upstream.send('POST', '/v1/events', { events })).status).toBe(200);
    const rescored = JSON.parse(
      (await upstream.send('POST', '/v1/score', { leads: [{ id: leadId }] })).body,
    ) as {
      scores: { score: number }[];
    };
    const fresh = rescored.scores[0]!.score;
    expect(fresh).not.toBe(shown); // the burst moved the score, so the check below can fail

    // The card keeps the old score until the platform event arrives, then reads the record again.
    expect(Number(await card.locator('[data-id="score"]').textContent())).toBe(shown);
    expect(
      await page.evaluate((id) => window.leadrankPreview.publishScoreChange([id]), leadId),
    ).toBeGreaterThan(0);
    await expect.poll(async () => Number(await card.locator('[data-id="score"]').textContent())).toBe(fresh);
    expect(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(
      true,
    );
    expect(pageErrors).toEqual([]);
  });

  it('logs the next-best action as done: a completed Task on the lead in the org, and a toast', async () => {
    const card = page.locator('c-lead-score-card');
    const label = (await card.locator('[data-id="next-best-action"] h3').textContent())!.trim();
    const leadId = await page
      .locator('c-ranked-lead-list a[data-role="lead-link"]')
      .first()
      .getAttribute('data-id');
    await card.locator('[data-id="log-action"]').click();
    const toast = page.locator('[data-id="toast"]').first();
    await toast.waitFor({ timeout: 30_000 });
    expect(await toast.textContent()).toContain(label);

    const conn = await connectToOrg({
      flow: 'client_credentials',
      loginUrl: stack.sim.url,
      ...stack.orgClient,
    });
    const tasks = await conn.query<{ Subject: string; Status: string }>(
      `SELECT Subject, Status FROM Task WHERE WhoId = '${leadId}'`,
    );
    expect(tasks.records).toContainEqual(
      expect.objectContaining({ Subject: `Leadrank: ${label}`, Status: 'Completed' }),
    );
    expect(await screenshot(page, 'preview-action-logged.png')).toBeGreaterThan(10_000);
    expect(pageErrors).toEqual([]);
  });

  it("opens a deal: the Opportunity score card shows the batch's score, band, reasons and next-best action", async () => {
    expect(stack.opportunityCycle.written).toBeGreaterThan(0);
    const conn = await connectToOrg({
      flow: 'client_credentials',
      loginUrl: stack.sim.url,
      ...stack.orgClient,
    });
    const [deal] = (
      await conn.query<{
        Id: string;
        OwnerId: string;
        Opportunity_Score__c: number;
        Score_Band__c: string;
        Next_Best_Action__c: string | null;
      }>(
        'SELECT Id, OwnerId, Opportunity_Score__c, Score_Band__c, Next_Best_Action__c FROM Opportunity ' +
          'WHERE IsClosed = false AND Opportunity_Score__c != null ORDER BY Opportunity_Score__c DESC LIMIT 1',
      )
    ).records;
    expect(deal).toBeDefined();
    await page.goto(`${stack.preview.url}?rep=${deal!.OwnerId}&deal=${deal!.Id}`);

    // The rep's deal list offers it, and the card is the package's opportunityScoreCard.
    await page.locator(`[data-role="deal-link"][data-id="${deal!.Id}"]`).waitFor({ timeout: 30_000 });
    const card = page.locator('c-opportunity-score-card');
    await card.locator('[data-id="score"]').waitFor({ timeout: 30_000 });
    expect(Number(await card.locator('[data-id="score"]').textContent())).toBe(deal!.Opportunity_Score__c);
    expect((await card.locator('[data-id="band"]').textContent())?.trim()).toContain(deal!.Score_Band__c);
    const reasons = card.locator('[data-id="positive-reasons"] li, [data-id="negative-reasons"] li');
    expect(await reasons.count()).toBeGreaterThan(0);
    expect(await card.locator('[data-id="error"]').count()).toBe(0);

    if (deal!.Next_Best_Action__c) {
      const label = (await card.locator('[data-id="next-best-action"] h3').textContent())!.trim();
      expect(deal!.Next_Best_Action__c).toContain(label);
      await card.locator('[data-id="log-action"]').click();
      await page.locator('[data-id="toast"]').first().waitFor({ timeout: 30_000 });
      const tasks = await conn.query<{ Subject: string; Status: string }>(
        `SELECT Subject, Status FROM Task WHERE WhatId = '${deal!.Id}'`,
      );
      expect(tasks.records).toContainEqual(
        expect.objectContaining({ Subject: `Leadrank: ${label}`, Status: 'Completed' }),
      );
    }
    expect(await screenshot(page, 'preview-deal.png')).toBeGreaterThan(10_000);
    expect(pageErrors).toEqual([]);
  });
});
