// Why a batch of inputs was refused: shared by the feature store and the worklist index, both of which refuse
// a whole batch before writing any of it.

export interface Refusal {
  index: number;
  id: string;
  reason: string;
}

/** Thrown when a batch holds items the store must not take; nothing of the batch was written. */
export class RefusedInputError extends Error {
  constructor(
    message: string,
    readonly refused: readonly Refusal[],
  ) {
    super(message);
    this.name = 'RefusedInputError';
  }
}
