// The data region a record belongs to. Every store, index and queue serves exactly one; data of the other is refused.
export type Region = 'US' | 'EU';
