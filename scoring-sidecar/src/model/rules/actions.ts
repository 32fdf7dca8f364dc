// Next-best-action catalogue (config/actions/catalogue.json) and the choice of one action for a lead.
// Same semantics as NextBestActionSelector.cls.
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { conditionSchema, describeIssues, developerName } from './condition-schema.js';
import { evaluateCondition } from './conditions.js';
import { leadFieldValue, type LeadRecord } from './lead-values.js';
import type { Band } from './rule-set.js';
import type { RulesScore } from './score.js';

export const TEMPLATE_PLACEHOLDERS = ['band', 'score', 'topReason', 'daysSinceLastTouch'] as const;

const eligibilitySchema = z.strictObject({
  bands: z.array(z.enum(['A', 'B', 'C', 'D'])).nonempty(),
  conditions: z.array(conditionSchema).default([]),
  /** Checked in the rep's time zone; weekdays are ISO (1 = Monday … 7 = Sunday); endHour is exclusive. */
  workingHours: z
    .strictObject({
      startHour: z.number().int().min(0).max(23),
      endHour: z.number().int().min(1).max(24),
      weekdays: z.array(z.number().int().min(1).max(7)).nonempty(),
    })
    .refine((hours) => hours.startHour < hours.endHour, 'startHour must be before endHour')
    .optional(),
});

const rationaleTemplate = z
  .string()
  .min(1)
  .max(255)
  .refine(
    (text) =>
      [...text.matchAll(/\{(\w+)\}/g)].every(([, name]) =>
        (TEMPLATE_PLACEHOLDERS as readonly string[]).includes(name ?? ''),
      ),
    `placeholders must be among {${TEMPLATE_PLACEHOLDERS.join('}, {')}}`,
  );

const actionSchema = z.strictObject({
  developerName,
  label: z.string().min(1).max(40),
  action: z.string().regex(/^[A-Z][A-Z0-9_]*$/, 'must be an UPPER_SNAKE_CASE code'),
  priority: z.number().int().min(1).max(999),
  active: z.boolean(),
  taskSubject: z.string().min(1).max(80),
  eligibility: eligibilitySchema,
  rationaleTemplate,
});

export const catalogueSchema = z
  .strictObject({
    version: z.string().min(1),
    description: z.string().optional(),
    actions: z.array(actionSchema),
  })
  .superRefine((catalogue, ctx) => {
    const names = new Set<string>();
    catalogue.actions.forEach((action, index) => {
      if (names.has(action.developerName) || names.has(action.action)) {
        ctx.addIssue({
          code: 'custom',
          path: ['actions', index],
          message: 'duplicate developerName or action',
        });
      }
      names.add(action.developerName).add(action.action);
    });
  });

export type ActionCatalogue = z.infer<typeof catalogueSchema>;
export type NextBestActionDefinition = ActionCatalogue['actions'][number];
export type Eligibility = NextBestActionDefinition['eligibility'];

export interface NextBestAction {
  action: string;
  label: string;
  taskSubject: string;
  rationale: string;
}

export function parseActionCatalogue(raw: unknown, source: string): ActionCatalogue {
  const result = catalogueSchema.safeParse(raw);
  if (!result.success) throw new Error(describeIssues(source, result.error.issues, raw, 'actions', 'action'));
  return result.data;
}

export async function loadActionCatalogue(file: string): Promise<ActionCatalogue> {
  return parseActionCatalogue(JSON.parse(await readFile(file, 'utf8')), file);
}

/** ISO weekday and hour of `now` in `timeZone`. */
/** One formatter per time zone: building an Intl.DateTimeFormat costs ~24 µs, formatting with it ~1 µs. */
const weekdayHourFormats = new Map<string, Intl.DateTimeFormat>();

export function localWeekdayAndHour(now: Date, timeZone: string): { weekday: number; hour: number } {
  let format = weekdayHourFormats.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      weekday: 'short',
      hour: 'numeric',
      hourCycle: 'h23',
    });
    weekdayHourFormats.set(timeZone, format);
  }
  const parts = format.formatToParts(now);
  const weekdayName = parts.find((p) => p.type === 'weekday')?.value ?? '';
  const weekday = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'].indexOf(weekdayName) + 1;
  return { weekday, hour: Number(parts.find((p) => p.type === 'hour')?.value) };
}

export function isEligible(
  eligibility: Eligibility,
  band: Band,
  lead: LeadRecord,
  now: Date,
  timeZone: string,
): boolean {
  if (!eligibility.bands.includes(band)) return false;
  const hours = eligibility.workingHours;
  if (hours) {
    const { weekday, hour } = localWeekdayAndHour(now, timeZone);
    if (!hours.weekdays.includes(weekday) || hour < hours.startHour || hour >= hours.endHour) return false;
  }
  return eligibility.conditions.every((c) =>
    evaluateCondition(c.operator, leadFieldValue(lead, c.field, now), c.value),
  );
}

export function renderRationale(template: string, values: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (_match, name: string) => values[name] ?? '');
}

/** The active eligible action with the lowest priority number, or null when none fits. */
export function chooseNextBestAction(
  catalogue: ActionCatalogue,
  scored: Pick<RulesScore, 'score' | 'band' | 'reasons'>,
  lead: LeadRecord,
  now: Date,
  timeZone: string,
): NextBestAction | null {
  const chosen = catalogue.actions
    .filter((a) => a.active)
    .sort((a, b) => a.priority - b.priority)
    .find((a) => isEligible(a.eligibility, scored.band, lead, now, timeZone));
  if (!chosen) return null;
  const days = leadFieldValue(lead, 'DaysSinceLastTouch', now);
  const rationale = renderRationale(chosen.rationaleTemplate, {
    band: scored.band,
    score: String(scored.score),
    topReason: scored.reasons[0] ?? 'no single strong signal',
    daysSinceLastTouch: typeof days === 'number' ? String(days) : 'unknown',
  });
  return { action: chosen.action, label: chosen.label, taskSubject: chosen.taskSubject, rationale };
}
