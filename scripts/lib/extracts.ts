// The demo's replay of the generated daily extracts into the online store, for the region's own accounts and
// leads only. In production the extracts arrive through POST /v1/extracts/:kind.
import { join } from 'node:path';
import { readExtractFolder } from '../../scoring-sidecar/src/features/training-set-builder.js';
import {
  erpExtractRowSchema,
  marketingExtractRowSchema,
  type ErpExtractRow,
  type MarketingExtractRow,
} from '../../scoring-sidecar/src/inputs/index.js';
import type { OnlineFeatureStore } from '../../scoring-sidecar/src/store/index.js';

export async function loadExtracts(
  store: OnlineFeatureStore,
  dir: string,
  owned: { leadIds: Set<string>; erpAccountNumbers: Set<string> },
): Promise<number> {
  const erp = await readExtractFolder<ErpExtractRow>(
    join(dir, 'erp'),
    erpExtractRowSchema,
    (r) => r.erp_account_number,
  );
  const marketing = await readExtractFolder<MarketingExtractRow>(
    join(dir, 'marketing'),
    marketingExtractRowSchema,
    (r) => r.lead_id,
  );
  const erpRows = [...erp.entries()]
    .filter(([k]) => owned.erpAccountNumbers.has(k))
    .flatMap(([, rows]) => rows);
  const marketingRows = [...marketing.entries()]
    .filter(([k]) => owned.leadIds.has(k))
    .flatMap(([, rows]) => rows);
  for (let i = 0; i < erpRows.length; i += 5_000) await store.putErpRows(erpRows.slice(i, i + 5_000));
  for (let i = 0; i < marketingRows.length; i += 5_000)
    await store.putMarketingRows(marketingRows.slice(i, i + 5_000));
  return erpRows.length + marketingRows.length;
}
