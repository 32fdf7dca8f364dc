// `@salesforce/apex` for jest: refreshApex resolves so components can await it; tests assert the calls.
export const refreshApex = jest.fn().mockResolvedValue();
export const getSObjectValue = jest.fn();
