// REST `query` / `queryAll` with queryMore (nextRecordsUrl): small, selective reads such as an incremental
// sync's changes since a watermark, where a Bulk job's create-poll-fetch round trips cost more than the rows.
import type { SalesforceTransport } from './transport.js';

export type SObjectRow = Record<string, unknown>;

interface QueryPage {
  totalSize: number;
  done: boolean;
  nextRecordsUrl?: string;
  records: (SObjectRow & { attributes?: unknown })[];
}

/** Yields every record of `soql` (without `attributes`); `all` runs queryAll (deleted and merged rows too). */
export async function* restQuery(
  t: SalesforceTransport,
  soql: string,
  opts: { all?: boolean } = {},
): AsyncGenerator<SObjectRow> {
  let path: string | undefined = `/${opts.all ? 'queryAll' : 'query'}?q=${encodeURIComponent(soql)}`;
  while (path) {
    const page: QueryPage = await t.request<QueryPage>({ method: 'GET', path });
    for (const { attributes: _a, ...record } of page.records) yield record;
    path = page.done ? undefined : page.nextRecordsUrl;
  }
}
