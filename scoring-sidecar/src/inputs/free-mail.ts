// Whether an email address is at a consumer mailbox provider: the one non-identifying reading of Email that
// features use (`email_is_free_mail`), and all the store keeps of it. Here, below store and features, so the store
// derives the flag on the way in and never needs the domain.
import freeMail from '../../../config/features/free-mail-domains.json' with { type: 'json' };

const FREE_MAIL = new Set(freeMail.domains);

/** Whether an address is at a consumer mailbox provider; null when there is no domain to read. */
export function emailIsFreeMail(email: string | null): boolean | null {
  const domain = email?.split('@')[1]?.toLowerCase();
  return domain === undefined ? null : FREE_MAIL.has(domain);
}
