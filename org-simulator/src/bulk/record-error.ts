// Stands in for the sf__Error cell of Bulk API 2.0 failedResults.
import type { SaveResult } from '../store/org-store.js';

type RecordError = SaveResult['errors'][number];

/** The sf__Error cell of failedResults: `CODE:message:Field1,Field2 --` (fields empty: `CODE:message:--`). */
export function formatRecordError(errors: readonly RecordError[]): string {
  return errors
    .map((e) => `${e.statusCode}:${e.message}:${e.fields.length > 0 ? `${e.fields.join(',')} ` : ''}--`)
    .join(' ');
}

export function lockError(id: string): RecordError {
  return {
    statusCode: 'UNABLE_TO_LOCK_ROW',
    message: `unable to obtain exclusive access to this record or 1 records: ${id}`,
    fields: [],
  };
}
