// Stands in for SOQL error codes (MALFORMED_QUERY, INVALID_FIELD, ...) as the API returns them.
export type SoqlErrorCode =
  'MALFORMED_QUERY' | 'INVALID_FIELD' | 'INVALID_TYPE' | 'INVALID_QUERY_FILTER_OPERATOR';

/** A SOQL error with Salesforce's errorCode; the REST layer answers it as 400. */
export class SoqlError extends Error {
  constructor(
    readonly errorCode: SoqlErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'SoqlError';
  }
}
