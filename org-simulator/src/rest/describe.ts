// Stands in for the REST describeGlobal and sObject describe resources.
import type { SObjectDescribe } from '../schema/index.js';

function withVersion(urls: Record<string, string>, version: string): Record<string, string> {
  return Object.fromEntries(Object.entries(urls).map(([k, v]) => [k, v.replace('{version}', version)]));
}

/** Full describe, as `GET sobjects/:object/describe` returns it. */
export function describeBody(describe: SObjectDescribe, version: string): object {
  return { ...describe, urls: withVersion(describe.urls, version) };
}

/** The describeGlobal entry of an object (no fields). */
export function globalEntry(describe: SObjectDescribe, version: string): object {
  const { fields: _fields, childRelationships: _children, recordTypeInfos: _types, ...rest } = describe;
  return { ...rest, urls: withVersion(describe.urls, version) };
}
