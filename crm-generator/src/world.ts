// Reps, accounts and their ERP history: all derived from (seed, index), so nothing scales with the lead count.

import {
  Faker,
  base,
  da,
  de,
  de_AT,
  en,
  en_CA,
  en_IE,
  en_IN,
  en_US,
  es,
  fi,
  fr,
  it,
  nl,
  nl_BE,
  pl,
  pt_PT,
  sv,
  type LocaleDefinition,
  type Randomizer,
} from '@faker-js/faker';
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import {
  COUNTRIES,
  INDUSTRIES,
  TERRITORIES,
  TERRITORY_SHARE,
  usTerritory,
  type CountrySpec,
  type FakerLocaleKey,
  type PaymentStatus,
  type Region,
} from './catalog.js';
import { makeIdFactory, type KeyPrefixObject } from './ids.js';
import { Rng, Stream, hashUnit } from './rng.js';

const LOCALES: Record<FakerLocaleKey, LocaleDefinition> = {
  en_US,
  en_CA,
  de,
  de_AT,
  fr,
  nl,
  nl_BE,
  es,
  it,
  en_IE,
  sv,
  pl,
  da,
  fi,
  pt_PT,
  en_IN,
};

/**
 * One Faker per locale sharing a randomizer that reads from whichever Rng is current: re-pointing is free,
 * whereas faker.seed() costs ~20 µs per record.
 */
export class FakerPool {
  private current: Rng | undefined;
  private readonly fakers = new Map<FakerLocaleKey, Faker>();
  private readonly randomizer: Randomizer = {
    next: () => {
      if (!this.current) throw new Error('FakerPool used outside use()');
      return uniformFloat64(this.current.gen);
    },
    seed: () => {
      throw new Error('FakerPool randomizer is driven by per-record Rng streams');
    },
  };

  use<T>(locale: FakerLocaleKey, rng: Rng, fn: (faker: Faker) => T): T {
    let f = this.fakers.get(locale);
    if (!f) {
      f = new Faker({ locale: [LOCALES[locale], en, base], randomizer: this.randomizer });
      this.fakers.set(locale, f);
    }
    this.current = rng;
    try {
      return fn(f);
    } finally {
      this.current = undefined;
    }
  }
}

/** Rough population weights, so leads spread over states like real US inbound traffic. */
const US_STATES: readonly (readonly [string, number])[] = [
  ['CA', 39],
  ['TX', 30],
  ['FL', 22],
  ['NY', 20],
  ['PA', 13],
  ['IL', 12.5],
  ['OH', 11.8],
  ['GA', 11],
  ['NC', 10.7],
  ['MI', 10],
  ['NJ', 9.3],
  ['VA', 8.7],
  ['WA', 7.8],
  ['AZ', 7.4],
  ['TN', 7],
  ['MA', 7],
  ['IN', 6.8],
  ['MO', 6.2],
  ['MD', 6.2],
  ['WI', 5.9],
  ['CO', 5.8],
  ['MN', 5.7],
  ['SC', 5.3],
  ['AL', 5.1],
  ['LA', 4.6],
  ['KY', 4.5],
  ['OR', 4.2],
  ['OK', 4],
  ['CT', 3.6],
  ['UT', 3.4],
  ['IA', 3.2],
  ['NV', 3.2],
  ['AR', 3],
  ['MS', 2.9],
  ['KS', 2.9],
  ['NM', 2.1],
  ['NE', 2],
  ['ID', 1.9],
  ['WV', 1.8],
  ['HI', 1.4],
  ['NH', 1.4],
  ['ME', 1.4],
  ['MT', 1.1],
  ['RI', 1.1],
  ['DE', 1],
  ['SD', 0.9],
  ['ND', 0.8],
  ['AK', 0.7],
  ['DC', 0.7],
  ['VT', 0.6],
  ['WY', 0.6],
];
const CA_PROVINCES: readonly (readonly [string, number])[] = [
  ['ON', 14.9],
  ['QC', 8.6],
  ['BC', 5.3],
  ['AB', 4.5],
  ['MB', 1.4],
  ['SK', 1.2],
  ['NS', 1],
  ['NB', 0.8],
  ['NL', 0.5],
  ['PE', 0.2],
];
const US_STATE_WEIGHTS = US_STATES.map(([, w]) => w);
const CA_PROVINCE_WEIGHTS = CA_PROVINCES.map(([, w]) => w);

export interface Place {
  country: CountrySpec;
  state: string | null;
  territory: string;
}

export function drawPlace(rng: Rng, region: Region): Place {
  const candidates = COUNTRIES.filter((c) => c.region === region);
  const country = candidates[rng.weightedIndex(candidates.map((c) => c.weight))] as CountrySpec;
  if (country.name === 'United States') {
    const state = (US_STATES[rng.weightedIndex(US_STATE_WEIGHTS)] as readonly [string, number])[0];
    return { country, state, territory: usTerritory(state) };
  }
  if (country.name === 'Canada') {
    const state = (CA_PROVINCES[rng.weightedIndex(CA_PROVINCE_WEIGHTS)] as readonly [string, number])[0];
    return { country, state, territory: country.territory ?? 'NA-Canada' };
  }
  return { country, state: null, territory: country.territory ?? '' };
}

export function asciiSlug(text: string, max = 30): string {
  return text
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '')
    .slice(0, max);
}

export interface RepInfo {
  index: number;
  id: string;
  firstName: string;
  lastName: string;
  username: string;
  isActive: boolean;
  territory: string;
  region: Region;
  timeZone: string;
}

export interface ErpState {
  isCustomer: boolean;
  productsHeld: number;
  paymentStatus: PaymentStatus;
  revenue: number;
}

export interface ErpTimeline {
  initial: ErpState;
  /** Sorted by day (day index from the window start, ≥ 1); each state is effective from that day's 00:00 UTC. */
  changes: { day: number; state: ErpState }[];
}

export interface AccountInfo {
  index: number;
  id: string;
  name: string;
  industry: string;
  employees: number;
  annualRevenue: number;
  place: Place;
  region: Region;
  website: string;
  domain: string;
  ownerId: string;
  erpNumber: string;
}

export interface WorldOptions {
  seed: number;
  euShare: number;
  accounts: number;
  reps: number;
  historyDays: number;
}

const ACCOUNT_CACHE_SIZE = 4096;

export class World {
  readonly ids: (object: KeyPrefixObject, n: number) => string;
  readonly fakers = new FakerPool();
  readonly reps: RepInfo[] = [];
  private readonly activeRepsByTerritory = new Map<string, RepInfo[]>();
  readonly euAccounts: number;
  private readonly accountCache = new Map<number, AccountInfo>();

  constructor(readonly options: WorldOptions) {
    if (options.accounts < 2) throw new Error('need at least 2 accounts');
    this.ids = makeIdFactory('Ld', options.seed);
    this.euAccounts = Math.min(
      options.accounts - 1,
      Math.max(1, Math.round(options.accounts * options.euShare)),
    );
    this.buildReps();
  }

  private buildReps(): void {
    const { seed, euShare, reps } = this.options;
    let index = 0;
    for (const t of TERRITORIES) {
      const regionShare = t.region === 'EU' ? euShare : 1 - euShare;
      const count = Math.max(2, Math.round(reps * regionShare * (TERRITORY_SHARE[t.name] ?? 0)));
      const active: RepInfo[] = [];
      for (let k = 0; k < count; k++, index++) {
        const rng = new Rng(seed, Stream.rep, index);
        const [firstName, lastName] = this.fakers.use(t.locale, rng, (f) => [
          f.person.firstName(),
          f.person.lastName(),
        ]);
        const isActive = k === 0 || hashUnit(seed, Stream.rep, index, 7) >= 0.05;
        const rep: RepInfo = {
          index,
          id: this.ids('User', index + 1),
          firstName,
          lastName,
          username: `${asciiSlug(firstName, 20)}.${asciiSlug(lastName, 20)}.${index + 1}@leadrank-demo.example`,
          isActive,
          territory: t.name,
          region: t.region,
          timeZone: t.timeZone,
        };
        this.reps.push(rep);
        if (isActive) active.push(rep);
      }
      this.activeRepsByTerritory.set(t.name, active);
    }
  }

  activeReps(territory: string): readonly RepInfo[] {
    const reps = this.activeRepsByTerritory.get(territory);
    if (!reps || reps.length === 0) throw new Error(`no reps in territory ${territory}`);
    return reps;
  }

  accountRegion(index: number): Region {
    return index < this.euAccounts ? 'EU' : 'US';
  }

  /** Index range [from, to) of accounts in a region. */
  accountRange(region: Region): [number, number] {
    return region === 'EU' ? [0, this.euAccounts] : [this.euAccounts, this.options.accounts];
  }

  account(index: number): AccountInfo {
    const cached = this.accountCache.get(index);
    if (cached) return cached;
    const info = this.buildAccount(index);
    if (this.accountCache.size >= ACCOUNT_CACHE_SIZE) {
      const oldest = this.accountCache.keys().next().value;
      if (oldest !== undefined) this.accountCache.delete(oldest);
    }
    this.accountCache.set(index, info);
    return info;
  }

  private buildAccount(index: number): AccountInfo {
    const { seed } = this.options;
    const rng = new Rng(seed, Stream.account, index);
    const region = this.accountRegion(index);
    const place = drawPlace(rng, region);
    const industry = (INDUSTRIES[rng.weightedIndex(INDUSTRIES.map((i) => i.weight))] as { name: string })
      .name;
    const employees = Math.max(
      1,
      Math.min(250_000, Math.round(Math.exp(Math.log(150) + 1.5 * rng.normal()))),
    );
    const annualRevenue = Math.round((employees * rng.range(80_000, 300_000)) / 1000) * 1000;
    const reps = this.activeReps(place.territory);
    const owner = reps[rng.int(reps.length)] as RepInfo;
    const name = this.fakers.use(place.country.locale, rng, (f) => f.company.name());
    const domain = `${asciiSlug(name) || 'company'}.${place.country.domainSuffix}`;
    return {
      index,
      id: this.ids('Account', index + 1),
      name,
      industry,
      employees,
      annualRevenue,
      place,
      region,
      website: `www.${domain}`,
      domain,
      ownerId: owner.id,
      erpNumber: `ERP-${String(100_000 + index).padStart(8, '0')}`,
    };
  }

  erpTimeline(index: number): ErpTimeline {
    const rng = new Rng(this.options.seed, Stream.accountErp, index);
    const isCustomer = rng.bool(0.3);
    const initial: ErpState = isCustomer ? newCustomer(rng) : prospect();
    const n = rng.poisson(0.8);
    const days: number[] = [];
    for (let i = 0; i < n; i++) days.push(1 + rng.int(this.options.historyDays));
    days.sort((a, b) => a - b);
    const changes: ErpTimeline['changes'] = [];
    let state = initial;
    for (const day of days) {
      const next = evolveErp(state, rng);
      if (sameErp(next, state)) continue; // the ERP only exports real changes
      state = next;
      changes.push({ day, state });
    }
    return { initial, changes };
  }

  /** ERP state effective on window day `day` (changes dated ≤ day apply). */
  erpStateOn(index: number, day: number): ErpState {
    const tl = this.erpTimeline(index);
    let state = tl.initial;
    for (const c of tl.changes) {
      if (c.day > day) break;
      state = c.state;
    }
    return state;
  }
}

function sameErp(a: ErpState, b: ErpState): boolean {
  return (
    a.isCustomer === b.isCustomer &&
    a.productsHeld === b.productsHeld &&
    a.paymentStatus === b.paymentStatus &&
    a.revenue === b.revenue
  );
}

function prospect(): ErpState {
  return { isCustomer: false, productsHeld: 0, paymentStatus: 'none', revenue: 0 };
}

function newCustomer(rng: Rng): ErpState {
  return {
    isCustomer: true,
    productsHeld: 1 + Math.min(rng.poisson(1.0), 5),
    paymentStatus: drawPayment(rng),
    revenue: Math.round(Math.exp(Math.log(40_000) + 0.9 * rng.normal())),
  };
}

function drawPayment(rng: Rng): PaymentStatus {
  const r = rng.next();
  return r < 0.85 ? 'current' : r < 0.96 ? 'late' : 'delinquent';
}

function evolveErp(s: ErpState, rng: Rng): ErpState {
  if (rng.bool(0.08)) return s.isCustomer ? prospect() : newCustomer(rng);
  if (!s.isCustomer) return { ...s };
  const next: ErpState = { ...s, revenue: Math.round(s.revenue * Math.exp(0.1 * rng.normal())) };
  if (rng.bool(0.25)) next.productsHeld = Math.max(1, Math.min(6, s.productsHeld + (rng.bool(0.6) ? 1 : -1)));
  if (rng.bool(0.3)) next.paymentStatus = drawPayment(rng);
  return next;
}
