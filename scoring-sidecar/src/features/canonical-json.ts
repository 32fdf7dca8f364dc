// Canonical JSON for content hashes (feature specs and the spec configuration a model was trained with).
/** Sorted-key JSON without whitespace: the same bytes Python's json.dumps(sort_keys=True, separators=(',', ':'), ensure_ascii=False) gives. */
// Hand-written: the values are plain strings/arrays/objects, so an RFC 8785 library would add nothing here.
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
