// What the store keeps of a lead. Data minimization: the store keeps only the fields features and rules read.
// Names, phone, street and company are dropped; the email is dropped too, after its one feature reading, whether
// it is at a consumer mailbox provider (`EmailIsFreeMail`), was taken: not even the domain is kept, since a
// company domain with the title and the account can single a person out. The title is kept: `title_seniority`
// needs it and it is a job title, not a personal identifier.
import { emailIsFreeMail } from './free-mail.js';
import type { LeadProfile } from './lead-profile.js';

export const DROPPED_LEAD_FIELDS = ['Company', 'Phone', 'FirstName', 'LastName', 'Street', 'Email'] as const;

/**
 * The profile as the store keeps it: same feature and rule values, no personal identifiers. The flag is taken
 * from the email when there is one (a profile patched with a new email keeps no stale flag).
 */
export function minimizeLeadProfile(lead: LeadProfile): LeadProfile {
  const minimized: LeadProfile = {
    ...lead,
    EmailIsFreeMail: lead.Email !== null ? emailIsFreeMail(lead.Email) : lead.EmailIsFreeMail,
  };
  for (const field of DROPPED_LEAD_FIELDS) minimized[field] = null;
  return minimized;
}
