// One lead and everything hanging off it, derived from (seed, lead index) alone.

import {
  CAMPAIGNS,
  EVENT_TYPES,
  INDUSTRIES,
  INTENT_TOPICS,
  LEAD_SOURCES,
  LEAD_STATUS,
  SENIORITIES,
  SENIORITY_WEIGHTS,
  TITLES,
  type LeadSourceSpec,
  type Region,
  type Seniority,
} from './catalog.js';
import { customFieldRecord, drawCustomFields, type CustomFieldValues } from './custom-fields.js';
import { DAY_MS, isoUtc, parseDateTime, sfDate, sfDateTime } from './format.js';
import {
  HazardSchedule,
  computeEta,
  computeEventLogMultiplier,
  simulateEvents,
  simulateOutcome,
  type GroundTruthParams,
  type LeadDrivers,
  type LeadGroundTruth,
  type SimulatedEvent,
  type SimulatedOutcome,
} from './ground-truth.js';
import { Rng, Stream } from './rng.js';
import {
  asciiSlug,
  drawPlace,
  type AccountInfo,
  type ErpState,
  type Place,
  type RepInfo,
  type World,
} from './world.js';

export interface LeadContext {
  world: World;
  seed: number;
  params: GroundTruthParams;
  windowStartMs: number;
  dataEndMs: number;
  historyDays: number;
  euShare: number;
}

export interface LeadCore {
  index: number;
  createdMs: number;
  /** Window day index of creation (0 = first day of the history window). */
  createdDay: number;
  region: Region;
  place: Place;
  source: LeadSourceSpec;
  seniority: Seniority;
  title: string;
  industry: string;
  employees: number;
  account: AccountInfo | null;
  erp: ErpState | null;
  intentScore: number;
  intentTopic: string;
  campaign: string | null;
  campaignCount: number;
  ownerId: string | null;
  drivers: LeadDrivers;
  eta: number;
  eventLogMultiplier: number;
  latentInterest: number;
  /** The lead's custom field values, when the world has them (params.customFields). */
  custom: CustomFieldValues | null;
}

const SOURCE_WEIGHTS = LEAD_SOURCES.map((s) => s.weight);
const INDUSTRY_WEIGHTS = INDUSTRIES.map((i) => i.weight);
const UNASSIGNED_SHARE = 0.07;
const MATCH_SHARE = 0.4;

/** Observable drivers, owner and latent interest: no PII, no outcome. */
export function leadCore(ctx: LeadContext, index: number, createdDay: number): LeadCore {
  const { world, seed, params } = ctx;
  const rng = new Rng(seed, Stream.lead, index);
  const region: Region = rng.bool(ctx.euShare) ? 'EU' : 'US';
  const place = drawPlace(rng, region);
  // Business hours (UTC) of the region for most leads, the rest spread over the day.
  const hourLo = region === 'EU' ? 7 : 13;
  const secondOfDay = rng.bool(0.75) ? Math.floor((hourLo + rng.next() * 10) * 3600) : rng.int(86_400);
  const createdMs = ctx.windowStartMs + createdDay * DAY_MS + Math.min(86_399, secondOfDay) * 1000;
  const source = LEAD_SOURCES[rng.weightedIndex(SOURCE_WEIGHTS)] as LeadSourceSpec;
  const seniority = SENIORITIES[rng.weightedIndex(SENIORITY_WEIGHTS)] as Seniority;
  const title = rng.pick(TITLES[seniority]);

  let account: AccountInfo | null = null;
  if (rng.bool(source.name === 'Purchased List' ? 0.25 : MATCH_SHARE)) {
    const [from, to] = world.accountRange(region);
    // Skewed toward low indices: a few accounts attract many leads.
    account = world.account(from + Math.floor((to - from) * Math.pow(rng.next(), 1.6)));
  }
  const industry = account
    ? account.industry
    : (INDUSTRIES[rng.weightedIndex(INDUSTRY_WEIGHTS)] as { name: string }).name;
  const employees = account
    ? account.employees
    : Math.max(1, Math.min(250_000, Math.round(Math.exp(Math.log(120) + 1.6 * rng.normal()))));
  const erp = account ? world.erpStateOn(account.index, createdDay) : null;

  const intentShift = erp?.isCustomer ? 8 : 0;
  const intentScore = Math.round(Math.min(100, Math.max(0, 45 + intentShift + 18 * rng.normal())));
  const intentTopic = rng.pick(INTENT_TOPICS);
  const campaignCount = Math.min(
    8,
    rng.poisson(source.name === 'Webinar' || source.name === 'Content Syndication' ? 1.8 : 1),
  );
  let campaign: string | null = null;
  if (campaignCount > 0) {
    campaign =
      source.name === 'Webinar' && rng.bool(0.5) ? 'Webinar Series: Pipeline Analytics' : rng.pick(CAMPAIGNS);
  }
  let ownerId: string | null = null;
  if (!rng.bool(UNASSIGNED_SHARE)) {
    const reps = world.activeReps(place.territory);
    ownerId = (reps[rng.int(reps.length)] as RepInfo).id;
  }
  const custom = params.customFields ? drawCustomFields(seed, index) : null;
  const drivers: LeadDrivers = {
    leadSource: source.name,
    industry,
    employees,
    seniority,
    country: place.country.name,
    erp: erp
      ? { isCustomer: erp.isCustomer, productsHeld: erp.productsHeld, paymentStatus: erp.paymentStatus }
      : null,
    intentScore,
    campaign,
    campaignCount,
    ...(custom ? { custom: { budgetBand: custom.budgetBand, demoRequested: custom.demoRequested } } : {}),
  };
  const latentInterest = params.latentSigma * new Rng(seed, Stream.leadLatent, index).normal();
  return {
    index,
    createdMs,
    createdDay,
    region,
    place,
    source,
    seniority,
    title,
    industry,
    employees,
    account,
    erp,
    intentScore,
    intentTopic,
    campaign,
    campaignCount,
    ownerId,
    drivers,
    eta: computeEta(drivers, params),
    eventLogMultiplier: computeEventLogMultiplier(drivers, params),
    latentInterest,
    custom,
  };
}

export type SfRecord = Record<string, string | number | boolean | null>;

export interface EngagementEvent {
  eventId: string;
  leadId: string;
  type: string;
  occurredAt: string;
  region: Region;
  source: string;
  properties: Record<string, string | number>;
}

export interface GeneratedLead {
  core: LeadCore;
  lead: SfRecord;
  isActive: boolean;
  outcome: SimulatedOutcome;
  schedule: HazardSchedule;
  truth: LeadGroundTruth;
  /** Time-ordered. */
  events: EngagementEvent[];
  simulatedEvents: SimulatedEvent[];
  tasks: SfRecord[];
  /** LeadHistory rows of Status changes, time-ordered. */
  history: SfRecord[];
  opportunity: SfRecord | null;
  /** Account created by converting an unmatched lead. */
  newAccount: SfRecord | null;
  /** Marketing extract rows: [extract day index, row]. */
  marketingRows: [number, (string | number)[]][];
}

const CONVERSION_ACCOUNT_OFFSET = 2 ** 31;
const OPEN_STAGES = [
  'Prospecting',
  'Qualification',
  'Needs Analysis',
  'Value Proposition',
  'Proposal/Price Quote',
  'Negotiation/Review',
];

export function generateLead(ctx: LeadContext, index: number, createdDay: number): GeneratedLead {
  const { world, seed, params, dataEndMs } = ctx;
  const core = leadCore(ctx, index, createdDay);
  const leadId = world.ids('Lead', index + 1);
  const schedule = new HazardSchedule(core.createdMs, core.eta, params);
  const outcome = simulateOutcome(
    schedule,
    core.latentInterest,
    dataEndMs,
    new Rng(seed, Stream.leadOutcome, index),
  );
  const endMs = outcome.atMs === null ? dataEndMs : Math.min(outcome.atMs, dataEndMs);
  const simulatedEvents = simulateEvents(
    core.createdMs,
    endMs,
    core.eventLogMultiplier,
    core.latentInterest,
    new Rng(seed, Stream.leadEvents, index),
    params,
  );
  const events = describeEvents(ctx, index, leadId, core.region, simulatedEvents);
  const tasks = generateTasks(ctx, core, leadId, outcome, endMs);
  const pii = generatePii(ctx, core);

  let opportunity: SfRecord | null = null;
  let newAccount: SfRecord | null = null;
  let convertedAccountId: string | null = null;
  if (outcome.outcome === 'converted' && outcome.atMs !== null) {
    const oppRng = new Rng(seed, Stream.opportunity, index);
    const reps = world.activeReps(core.place.territory);
    const oppOwner = core.ownerId ?? (reps[oppRng.int(reps.length)] as RepInfo).id;
    const opp = generateOpportunity(ctx, core, index, outcome.atMs, oppOwner, pii.company, oppRng);
    if (core.account) {
      convertedAccountId = core.account.id;
    } else {
      convertedAccountId = world.ids('Account', CONVERSION_ACCOUNT_OFFSET + index);
      newAccount = {
        Id: convertedAccountId,
        Name: pii.company,
        Industry: core.industry,
        NumberOfEmployees: core.employees,
        AnnualRevenue: pii.annualRevenue,
        BillingCountry: core.place.country.name,
        Website: pii.website,
        Type: opp.IsWon ? 'Customer - Direct' : 'Prospect',
        OwnerId: oppOwner,
        Territory__c: core.place.territory,
        Data_Region__c: core.region,
        ERP_Account_Number__c: null,
      };
    }
    opportunity = { ...opp, AccountId: convertedAccountId };
  }

  const contacted = tasks.some((t) => t.Status === 'Completed');
  const status =
    outcome.outcome === 'converted'
      ? LEAD_STATUS.converted
      : outcome.outcome === 'closed'
        ? LEAD_STATUS.closed
        : contacted
          ? LEAD_STATUS.working
          : LEAD_STATUS.open;
  const lead: SfRecord = {
    Id: leadId,
    FirstName: pii.firstName,
    LastName: pii.lastName,
    Company: pii.company,
    Title: core.title,
    Email: pii.email,
    Phone: pii.phone,
    Street: pii.street,
    City: pii.city,
    State: core.place.state,
    PostalCode: pii.postalCode,
    Country: core.place.country.name,
    Website: pii.website,
    Industry: core.industry,
    NumberOfEmployees: core.employees,
    AnnualRevenue: pii.annualRevenue,
    LeadSource: core.source.name,
    Status: status,
    OwnerId: core.ownerId,
    IsConverted: outcome.outcome === 'converted',
    ConvertedDate: outcome.outcome === 'converted' && outcome.atMs !== null ? sfDate(outcome.atMs) : null,
    ConvertedAccountId: convertedAccountId,
    ConvertedOpportunityId: opportunity ? (opportunity.Id as string) : null,
    HasOptedOutOfEmail: pii.optedOut,
    DoNotCall: pii.doNotCall,
    CreatedDate: sfDateTime(core.createdMs),
    Territory__c: core.place.territory,
    Data_Region__c: core.region,
    Matched_Account__c: core.account ? core.account.id : null,
    Lead_Origin__c: core.source.origin,
    ...(core.custom ? customFieldRecord(core.custom) : {}),
  };
  const history = statusHistory(ctx, index, leadId, tasks, outcome, endMs);
  const truth: LeadGroundTruth = {
    leadId,
    createdAt: isoUtc(core.createdMs),
    region: core.region,
    drivers: core.drivers,
    eta: core.eta,
    eventLogMultiplier: core.eventLogMultiplier,
    latentInterest: core.latentInterest,
    outcome: outcome.outcome,
    outcomeAt: outcome.atMs === null ? null : isoUtc(outcome.atMs),
  };
  return {
    core,
    lead,
    isActive: outcome.outcome === 'open',
    outcome,
    schedule,
    truth,
    events,
    simulatedEvents,
    tasks,
    history,
    opportunity,
    newAccount,
    marketingRows: marketingRows(ctx, core, leadId),
  };
}

interface Pii {
  firstName: string;
  lastName: string;
  company: string;
  email: string;
  phone: string;
  street: string;
  city: string;
  postalCode: string;
  website: string | null;
  annualRevenue: number | null;
  optedOut: boolean;
  doNotCall: boolean;
}

// PII comes from its own stream so it can never influence (or be influenced by) the outcome.
function generatePii(ctx: LeadContext, core: LeadCore): Pii {
  const rng = new Rng(ctx.seed, Stream.leadPii, core.index);
  return ctx.world.fakers.use(core.place.country.locale, rng, (f) => {
    const firstName = f.person.firstName();
    const lastName = f.person.lastName();
    const company = core.account ? core.account.name : f.company.name();
    const domain = core.account
      ? core.account.domain
      : `${asciiSlug(company) || 'company'}.${core.place.country.domainSuffix}`;
    const website = core.account ? core.account.website : rng.bool(0.7) ? `www.${domain}` : null;
    const annualRevenue = core.account
      ? core.account.annualRevenue
      : rng.bool(0.6)
        ? Math.round((core.employees * rng.range(80_000, 300_000)) / 1000) * 1000
        : null;
    return {
      firstName,
      lastName,
      company,
      email: `${asciiSlug(firstName, 20) || 'x'}.${asciiSlug(lastName, 20) || 'x'}@${domain}`,
      phone: f.phone.number({ style: 'international' }),
      street: f.location.streetAddress(),
      city: f.location.city(),
      postalCode: f.location.zipCode(),
      website,
      annualRevenue,
      optedOut: rng.bool(0.04),
      doNotCall: rng.bool(0.03),
    };
  });
}

const EVENT_SOURCE: Record<string, string> = {
  web_visit: 'website',
  pricing_page_visit: 'website',
  form_fill: 'website',
  content_download: 'website',
  email_open: 'email',
  email_click: 'email',
  webinar_attended: 'webinar',
  trial_signup: 'product',
};
const PAGES = [
  '/',
  '/product',
  '/solutions',
  '/blog/lead-scoring-101',
  '/blog/pipeline-hygiene',
  '/customers',
  '/docs',
];
const FORMS = ['contact-us', 'newsletter', 'demo-request', 'event-registration'];
const ASSETS = [
  'ebook-revops-2026',
  'whitepaper-ai-scoring',
  'case-study-manufacturing',
  'checklist-data-quality',
];
const WEBINARS = ['pipeline-analytics-101', 'forecasting-live', 'crm-hygiene-clinic'];

// Event details come from their own stream and never depend on u: only counts and times carry signal.
function describeEvents(
  ctx: LeadContext,
  index: number,
  leadId: string,
  region: Region,
  simulated: readonly SimulatedEvent[],
): EngagementEvent[] {
  if (simulated.length === 0) return [];
  const rng = new Rng(ctx.seed, Stream.leadEventProps, index);
  const prefix = `ev_${(ctx.seed >>> 0).toString(36)}_${index.toString(36)}_`;
  return simulated.map((e, seq) => {
    const type = EVENT_TYPES[e.typeIndex] as string;
    let properties: Record<string, string | number>;
    switch (type) {
      case 'web_visit':
        properties = { path: rng.pick(PAGES), durationSeconds: Math.round(5 + rng.exp() * 90) };
        break;
      case 'pricing_page_visit':
        properties = { path: '/pricing', durationSeconds: Math.round(5 + rng.exp() * 120) };
        break;
      case 'email_open':
        properties = { campaign: rng.pick(CAMPAIGNS) };
        break;
      case 'email_click':
        properties = { campaign: rng.pick(CAMPAIGNS), linkPath: rng.pick(PAGES) };
        break;
      case 'form_fill':
        properties = { form: rng.pick(FORMS) };
        break;
      case 'content_download':
        properties = { asset: rng.pick(ASSETS) };
        break;
      case 'webinar_attended':
        properties = { webinar: rng.pick(WEBINARS), minutesAttended: 5 + rng.int(56) };
        break;
      default:
        properties = { plan: rng.bool(0.7) ? 'team' : 'business' };
    }
    return {
      eventId: prefix + seq.toString(36),
      leadId,
      type,
      occurredAt: isoUtc(e.atMs),
      region,
      source: EVENT_SOURCE[type] ?? 'website',
      properties,
    };
  });
}

const MAX_TASKS = 8;

/** Rep activity: depends on source, age and whether the lead is still open, never on u. */
function generateTasks(
  ctx: LeadContext,
  core: LeadCore,
  leadId: string,
  outcome: SimulatedOutcome,
  endMs: number,
): SfRecord[] {
  if (core.ownerId === null) return [];
  const rng = new Rng(ctx.seed, Stream.leadTasks, core.index);
  const tasks: SfRecord[] = [];
  const priority = core.source.highPriority ? 'High' : 'Normal';
  let t = core.createdMs + Math.floor(rng.exp() * core.source.firstTouchDays * DAY_MS);
  let lastMs = core.createdMs;
  while (t < endMs && tasks.length < MAX_TASKS) {
    const r = rng.next();
    const subtype =
      tasks.length === 0 ? (r < 0.6 ? 'Call' : 'Email') : r < 0.45 ? 'Call' : r < 0.9 ? 'Email' : 'Task';
    let duration: number | null = null;
    if (subtype === 'Call')
      duration = rng.bool(0.35) ? Math.min(3600, Math.round(60 + rng.exp() * 300)) : rng.int(41);
    tasks.push(taskRecord(ctx, core, leadId, tasks.length, subtype, priority, t, 'Completed', duration));
    lastMs = t;
    const ageDays = (t - core.createdMs) / DAY_MS;
    t += Math.floor(rng.exp() * (3 + ageDays / 5) * DAY_MS);
  }
  if (outcome.outcome === 'open' && t >= ctx.dataEndMs && tasks.length < MAX_TASKS) {
    // The next planned touch, still open at dataEnd.
    const rec = taskRecord(
      ctx,
      core,
      leadId,
      tasks.length,
      rng.bool(0.5) ? 'Call' : 'Email',
      priority,
      t,
      'Not Started',
      null,
    );
    rec.CreatedDate = sfDateTime(lastMs);
    tasks.push(rec);
  }
  return tasks;
}

function taskRecord(
  ctx: LeadContext,
  core: LeadCore,
  leadId: string,
  seq: number,
  subtype: 'Call' | 'Email' | 'Task',
  priority: string,
  atMs: number,
  status: 'Completed' | 'Not Started',
  duration: number | null,
): SfRecord {
  const completed = status === 'Completed';
  return {
    Id: ctx.world.ids('Task', core.index * 16 + seq + 1),
    Subject: subtype === 'Call' ? 'Call' : subtype === 'Email' ? 'Email: Follow-up' : 'Follow up',
    Status: status,
    Priority: priority,
    ActivityDate: sfDate(atMs),
    WhoId: leadId,
    OwnerId: core.ownerId,
    TaskSubtype: subtype,
    Type: subtype === 'Task' ? 'Other' : subtype,
    CallDurationInSeconds: duration,
    CompletedDateTime: completed ? sfDateTime(atMs) : null,
    CreatedDate: sfDateTime(atMs),
  };
}

function generateOpportunity(
  ctx: LeadContext,
  core: LeadCore,
  index: number,
  convertedMs: number,
  ownerId: string,
  company: string,
  rng: Rng,
): SfRecord {
  const cycleMs = Math.floor((14 + rng.exp() * 45) * DAY_MS);
  const closeMs = convertedMs + cycleMs;
  const upgrade = core.account !== null && rng.bool(0.35);
  const amountNoise = rng.normal();
  const amount = Math.round((8000 * Math.pow(core.employees, 0.3) * Math.exp(0.5 * amountNoise)) / 100) * 100;
  // Won among closed carries signal from what the deal shows (docs/data.md): existing customers, referrals and
  // target industries win more; a deal priced far above its account's size loses more. About 30 % are won.
  const logit =
    -1.15 +
    (upgrade ? 0.9 : 0) +
    (DEAL_SOURCE_EFFECT[core.source.name] ?? 0) +
    (DEAL_INDUSTRY_EFFECT[core.industry] ?? 0) +
    0.18 * Math.log(core.employees / 100) -
    0.45 * amountNoise;
  const won = rng.bool(1 / (1 + Math.exp(-logit)));
  const closed = closeMs <= ctx.dataEndMs;
  const progress = Math.min(0.999, (ctx.dataEndMs - convertedMs) / cycleMs);
  return {
    Id: ctx.world.ids('Opportunity', index + 1),
    Name: `${company} - New Business`,
    AccountId: null,
    StageName: closed
      ? won
        ? 'Closed Won'
        : 'Closed Lost'
      : (OPEN_STAGES[Math.floor(progress * OPEN_STAGES.length)] ?? 'Prospecting'),
    Amount: amount,
    CloseDate: sfDate(closeMs),
    IsClosed: closed,
    IsWon: closed && won,
    LeadSource: core.source.name,
    Type: upgrade ? 'Existing Customer - Upgrade' : 'New Customer',
    OwnerId: ownerId,
    CreatedDate: sfDateTime(convertedMs),
    Data_Region__c: core.region,
  };
}

/** Log-odds of winning a deal by where its lead came from and its industry (the generator's ground truth). */
const DEAL_SOURCE_EFFECT: Readonly<Record<string, number>> = {
  'Partner Referral': 0.7,
  'Employee Referral': 0.8,
  Web: 0.2,
  'Purchased List': -0.6,
  'Content Syndication': -0.4,
};
const DEAL_INDUSTRY_EFFECT: Readonly<Record<string, number>> = {
  Technology: 0.35,
  Finance: 0.25,
  Government: -0.5,
  Education: -0.3,
};

/** First row in the extract dated creation day + 1; rarely one later drift (noise: the truth uses creation values). */
function marketingRows(ctx: LeadContext, core: LeadCore, leadId: string): [number, (string | number)[]][] {
  const rows: [number, (string | number)[]][] = [];
  const day = core.createdDay + 1;
  const date = (d: number): string => sfDate(ctx.windowStartMs + d * DAY_MS);
  rows.push([
    day,
    [leadId, date(day), core.campaignCount, core.campaign ?? '', core.intentScore, core.intentTopic],
  ]);
  const rng = new Rng(ctx.seed, Stream.leadMarketing, core.index);
  if (rng.bool(0.12)) {
    const later = day + 1 + rng.int(45);
    const intent = Math.round(Math.min(100, Math.max(0, core.intentScore + 10 * rng.normal())));
    const touched = rng.bool(0.5);
    const count = touched ? core.campaignCount + 1 : core.campaignCount;
    const campaign = touched ? rng.pick(CAMPAIGNS) : (core.campaign ?? '');
    if (later <= ctx.historyDays)
      rows.push([later, [leadId, date(later), count, campaign, intent, core.intentTopic]]);
  }
  return rows;
}

/**
 * Status changes as field history tracking records them: contacted at the first completed task, then closed
 * (converted or not) at the outcome. Reps' activity carries no hidden signal, so neither does this.
 */
function statusHistory(
  ctx: LeadContext,
  index: number,
  leadId: string,
  tasks: SfRecord[],
  outcome: SimulatedOutcome,
  endMs: number,
): SfRecord[] {
  const changes: { atMs: number; from: string; to: string }[] = [];
  const firstTouch = tasks.find((t) => t.Status === 'Completed');
  const touchedMs = firstTouch ? parseDateTime(firstTouch.CreatedDate as string) : null;
  let status: string = LEAD_STATUS.open;
  if (touchedMs !== null && touchedMs <= endMs && (outcome.atMs === null || touchedMs < outcome.atMs)) {
    changes.push({ atMs: touchedMs, from: status, to: LEAD_STATUS.working });
    status = LEAD_STATUS.working;
  }
  if (outcome.atMs !== null && outcome.outcome !== 'open') {
    const to = outcome.outcome === 'converted' ? LEAD_STATUS.converted : LEAD_STATUS.closed;
    changes.push({ atMs: outcome.atMs, from: status, to });
  }
  return changes.map((c, k) => ({
    Id: ctx.world.ids('LeadHistory', index * 4 + k + 1),
    LeadId: leadId,
    Field: 'Status',
    DataType: 'Text',
    OldValue: c.from,
    NewValue: c.to,
    CreatedDate: sfDateTime(c.atMs),
  }));
}
