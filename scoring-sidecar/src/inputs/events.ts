// Engagement events arrive straight from web analytics, marketing automation and the product (never through
// Salesforce: 1.2M a day is far above default platform event allocations).
import { z } from 'zod';

export const EVENT_TYPES = [
  'web_visit',
  'pricing_page_visit',
  'email_open',
  'email_click',
  'form_fill',
  'content_download',
  'webinar_attended',
  'trial_signup',
] as const;

export type EventType = (typeof EVENT_TYPES)[number];

export const engagementEventSchema = z.object({
  eventId: z.string().min(1).max(128),
  leadId: z.string().regex(/^00Q[0-9A-Za-z]{12}([0-9A-Za-z]{3})?$/, 'a Salesforce Lead Id (00Q...)'),
  type: z.enum(EVENT_TYPES),
  occurredAt: z.iso.datetime({ offset: true }),
  region: z.enum(['US', 'EU']),
  source: z.string().max(64).optional(),
  properties: z.record(z.string(), z.unknown()).optional(),
});

export type EngagementEvent = z.infer<typeof engagementEventSchema>;

export const DAY_MS = 86_400_000;

/** Whole UTC days since the epoch: the unit of every event window. */
export function utcDay(ms: number): number {
  return Math.floor(ms / DAY_MS);
}
