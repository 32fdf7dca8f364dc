// What the store keeps of a lead. Data minimization: the store keeps only the fields features read. Names,
// phone, street and company are dropped; the email is cut down to its domain ("@gmx.de"), which is all
// `email_is_free_mail` reads and identifies a mailbox provider or a company, not a person. The title is kept:
// `title_seniority` needs it and it is a job title, not a personal identifier.
import type { LeadProfile } from './lead-profile.js';

export const DROPPED_LEAD_FIELDS = ['Company', 'Phone', 'FirstName', 'LastName', 'Street'] as const;

/** Email reduced to "@domain" exactly as `email_is_free_mail` splits it, so the feature cannot change. */
export function emailDomainOnly(email: string | null): string | null {
  if (email === null) return null;
  const domain = email.split('@')[1];
  return domain === undefined ? null : `@${domain}`;
}

/** The profile as the store keeps it: same feature values, no personal identifiers. */
export function minimizeLeadProfile(lead: LeadProfile): LeadProfile {
  const minimized: LeadProfile = { ...lead, Email: emailDomainOnly(lead.Email) };
  for (const field of DROPPED_LEAD_FIELDS) minimized[field] = null;
  return minimized;
}
