// Stands in for the Bulk API 2.0 job state machine (ingest and query).

export type JobState = 'Open' | 'UploadComplete' | 'InProgress' | 'JobComplete' | 'Failed' | 'Aborted';
export type JobKind = 'ingest' | 'query';

export const FINAL_STATES: ReadonlySet<JobState> = new Set(['JobComplete', 'Failed', 'Aborted']);

/** States a client may ask for with PATCH, and the states it may ask from. */
const CLIENT_TRANSITIONS: Record<JobKind, Partial<Record<JobState, readonly JobState[]>>> = {
  ingest: {
    UploadComplete: ['Open'],
    Aborted: ['Open', 'UploadComplete', 'InProgress'],
  },
  query: {
    Aborted: ['UploadComplete', 'InProgress'],
  },
};

/** Transitions the simulator itself makes while processing. */
const SERVER_TRANSITIONS: Partial<Record<JobState, readonly JobState[]>> = {
  UploadComplete: ['InProgress', 'Failed'],
  InProgress: ['JobComplete', 'Failed'],
};

export function isFinal(state: JobState): boolean {
  return FINAL_STATES.has(state);
}

export function isJobState(value: unknown): value is JobState {
  return (
    typeof value === 'string' &&
    ['Open', 'UploadComplete', 'InProgress', 'JobComplete', 'Failed', 'Aborted'].includes(value)
  );
}

/** Why a client-requested transition is refused, or null when it is allowed. */
export function clientTransitionError(kind: JobKind, from: JobState, to: unknown): string | null {
  if (!isJobState(to)) return `Invalid job state: ${String(to)}`;
  const allowedFrom = CLIENT_TRANSITIONS[kind][to];
  if (!allowedFrom) return `Invalid job state: ${to}`;
  if (!allowedFrom.includes(from)) return `Cannot change the job state from ${from} to ${to}`;
  return null;
}

export function canServerTransition(from: JobState, to: JobState): boolean {
  return SERVER_TRANSITIONS[from]?.includes(to) ?? false;
}

/** Jobs can be deleted once Salesforce no longer works on them (docs: UploadComplete, JobComplete, Aborted, Failed). */
export function canDelete(state: JobState): boolean {
  return state === 'UploadComplete' || isFinal(state);
}
