// The Salesforce package's namespace (config/salesforce.json), so the sidecar's queries and Bulk jobs name
// the package's custom objects and fields as a subscriber org knows them: 'ns__Lead_Score__c' in the
// managed package, 'Lead_Score__c' unpackaged. Standard names (Lead, Email) never take the prefix.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError } from './index.js';

const schema = z.strictObject({
  $comment: z.string().optional(),
  /** Salesforce namespace prefixes: a letter, then letters or digits, at most 15 characters; '' = none. */
  namespace: z
    .string()
    .regex(
      /^([A-Za-z][A-Za-z0-9]{0,14})?$/,
      'must be empty or 1-15 letters and digits, starting with a letter',
    ),
});

export interface SalesforceConfig {
  namespace: string;
  /** 'Lead_Score__c' → 'ns__Lead_Score__c'; standard names and already-prefixed names unchanged. */
  qualify(name: string): string;
}

export function salesforceConfig(namespace: string): SalesforceConfig {
  const prefix = namespace ? `${namespace}__` : '';
  return {
    namespace,
    qualify(name: string): string {
      // Custom names end in __c, __mdt, __e, __r; a name with two '__' already has a namespace.
      const custom = /__(c|mdt|e|r)$/.test(name);
      const prefixed = name.split('__').length > 2;
      return custom && !prefixed ? `${prefix}${name}` : name;
    },
  };
}

export function loadSalesforceConfig(path: string): SalesforceConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ConfigError(`${path}: ${(error as Error).message}`);
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(`${path}: ${issue?.path.join('.') || '(root)'} ${issue?.message ?? 'is invalid'}`);
  }
  return salesforceConfig(parsed.data.namespace);
}
