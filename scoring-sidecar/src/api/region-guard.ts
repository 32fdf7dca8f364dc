// The region guard of the /v1 routes: a record's region fields must agree with each other and with this
// deployment; a record that carries lead fields without a region is refused where the stored lead has one and
// a missing region does not mean this deployment's; an extract row must name its region.
// Every check runs before anything is stored or scored: nothing of a refused request is kept.
import type { OnlineFeatureStore, Region } from '../store/index.js';
import { ApiError, regionRefusal, validationError } from './errors.js';

const REGION_VALUES = new Set(['US', 'EU']);

interface ScoreItemRegions {
  id: string;
  region?: string | undefined;
  fields?: { Data_Region__c?: unknown } | undefined;
}

/**
 * The region of one score item: `region` and `fields.Data_Region__c` must agree when both are given (before,
 * `region` silently won), and must be this deployment's. `at` is the item's path ("leads[3]" or "").
 * Undefined when the item names no region at all.
 */
export function scoreItemRegion(item: ScoreItemRegions, at: string, deployment: Region): Region | undefined {
  const path = (field: string) => (at ? `${at}.${field}` : field);
  const fieldRegion = item.fields?.Data_Region__c;
  const fromFields =
    fieldRegion === null || fieldRegion === undefined || fieldRegion === '' ? undefined : fieldRegion;
  if (fromFields !== undefined && (typeof fromFields !== 'string' || !REGION_VALUES.has(fromFields)))
    throw validationError([{ path: path('fields.Data_Region__c'), message: 'must be US or EU' }]);
  if (item.region !== undefined && fromFields !== undefined && item.region !== fromFields)
    throw validationError([
      {
        path: path('region'),
        message: `${item.region} disagrees with ${path('fields.Data_Region__c')} ${String(fromFields)}: the record's region decides, send them equal`,
      },
    ]);
  const region = (item.region ?? fromFields) as Region | undefined;
  if (region !== undefined && region !== deployment)
    throw regionRefusal(`lead ${item.id}`, region, deployment);
  return region;
}

/**
 * Leads without Data_Region__c belong to the US deployment by the org's convention (Apex routes them there;
 * the calibration job reads them as US), so a region-less payload is the US's to score.
 */
export const REGION_OF_UNLABELLED_LEADS: Region = 'US';

/**
 * Items that send lead fields without any region, in a deployment where a missing region does not mean this
 * region, whose stored lead has one: refused (400 naming the field), since the payload would otherwise be
 * scored and audited here by default. One store read, for those items only.
 */
export async function refuseRegionlessPayloads(
  items: { id: string; at: string }[],
  store: OnlineFeatureStore,
  deployment: Region,
): Promise<void> {
  if (items.length === 0 || deployment === REGION_OF_UNLABELLED_LEADS) return;
  const states = await store.getLeadStates(items.map((i) => i.id));
  const issues = items.flatMap((item, i) => {
    const stored = states[i]?.lead.Data_Region__c;
    return stored
      ? [
          {
            path: item.at ? `${item.at}.fields.Data_Region__c` : 'fields.Data_Region__c',
            message: `required: the stored lead ${item.id} has region ${stored}`,
          },
        ]
      : [];
  });
  if (issues.length > 0) throw validationError(issues);
}

/**
 * An extract row's `region` column: required, US or EU, and this deployment's. The error names the line
 * (400 when missing or invalid, 403 for the other region); the route then writes nothing of the extract.
 */
export function extractRowRegionError(
  raw: Record<string, unknown>,
  line: number,
  deployment: Region,
): ApiError | null {
  const tagged = raw.region;
  if (tagged === undefined || tagged === null || tagged === '')
    return new ApiError(
      400,
      'invalid_extract',
      `line ${line}: region: required (US or EU): every row names its region`,
      [{ path: `line ${line}: region`, message: 'required (US or EU)' }],
    );
  if (typeof tagged !== 'string' || !REGION_VALUES.has(tagged))
    return new ApiError(400, 'invalid_extract', `line ${line}: region: must be US or EU`);
  if (tagged !== deployment)
    return new ApiError(
      403,
      'region_refused',
      `line ${line}: the row belongs to region ${tagged}; this is the ${deployment} deployment and does not accept it`,
    );
  return null;
}
