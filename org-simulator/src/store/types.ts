// Stands in for the shapes of Salesforce's data API: SaveResult rows, records, query pages, whole-call errors.
import type Database from 'better-sqlite3';
import { makeId } from '../ids.js';
import type { FieldDescribe, SObjectDescribe } from '../schema/index.js';
import type { RecordError } from './values.js';

export interface SaveResult {
  id: string | null;
  success: boolean;
  created?: boolean;
  errors: RecordError[];
}

/** Salesforce JSON values: number, boolean, 'YYYY-MM-DD', '2024-01-31T09:15:00.000+0000', string, null. */
export type SObjectRecord = Record<string, unknown>;

export interface QueryPage {
  records: SObjectRecord[];
  nextCursor: string | null;
}

/** A page as column values in `query.fields` order (Salesforce JSON values), for result files. */
export interface QueryRowsPage {
  rows: unknown[][];
  nextCursor: string | null;
}

export type OrgRegion = 'US' | 'EU' | 'MIXED';

/** A whole-call error (unknown object, bad external id field, operation not allowed). */
export class OrgStoreError extends Error {
  constructor(
    readonly errorCode: string,
    message: string,
    readonly httpStatus = 400,
  ) {
    super(message);
    this.name = 'OrgStoreError';
  }
}

/** One row's errors: caught per row so the other rows of the call still run (allOrNone=false). */
export class RowError extends Error {
  constructor(readonly errors: RecordError[]) {
    super(errors[0]?.message);
  }
}

/** An sObject's table and what the writer checks on it. */
export interface TableInfo {
  describe: SObjectDescribe;
  name: string;
  /** IsDeleted is in the table but not in describe (User) */
  hiddenIsDeleted: boolean;
  requiredOnCreate: FieldDescribe[];
  autoNumber: FieldDescribe | undefined;
}

export type Statement = Database.Statement<unknown[], Record<string, unknown>>;

/** The Id the API user writes as (CreatedById, default OwnerId). */
export const INTEGRATION_USER_ID = makeId('005', 0);

export const REGION_FIELD = 'Data_Region__c';

export function isSqliteConstraint(error: unknown): error is { code: string; message: string } {
  return (
    typeof error === 'object' &&
    error !== null &&
    String((error as { code?: unknown }).code).startsWith('SQLITE_CONSTRAINT')
  );
}
