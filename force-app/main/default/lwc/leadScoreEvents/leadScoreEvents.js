// Live refresh: subscribes to Lead_Score_Changed__e (raised by LeadTrigger whenever scores land, from the
// Queueable, the Bulk API or sObject Collections) through lightning/empApi. The channel and the payload
// field come from schema imports, so a namespaced package (ns__Lead_Score_Changed__e, ns__Lead_Ids__c)
// works without code changes.
import { subscribe, unsubscribe, onError } from 'lightning/empApi';
import SCORE_CHANGED from '@salesforce/schema/Lead_Score_Changed__e';
import LEAD_IDS from '@salesforce/schema/Lead_Score_Changed__e.Lead_Ids__c';

/** '/event/Lead_Score_Changed__e', or '/event/ns__Lead_Score_Changed__e' in the managed package. */
export function channelName() {
  const name = typeof SCORE_CHANGED === 'string' ? SCORE_CHANGED : SCORE_CHANGED.objectApiName;
  return `/event/${name}`;
}

/** The lead Ids an event names (comma-separated in Lead_Ids__c). */
export function leadIdsOf(message) {
  const payload = message && message.data ? message.data.payload : null;
  const field = typeof LEAD_IDS === 'string' ? LEAD_IDS : LEAD_IDS.fieldApiName;
  const raw = payload ? payload[field] : null;
  return typeof raw === 'string' && raw.length > 0 ? raw.split(',') : [];
}

/** Salesforce Ids compared on their first 15 characters (the event may carry 18, a page 15 or 18). */
export function namesLead(message, recordId) {
  if (!recordId) {
    return false;
  }
  const wanted = String(recordId).slice(0, 15);
  return leadIdsOf(message).some((id) => id.slice(0, 15) === wanted);
}

/**
 * Calls `onChange(leadIds)` for every score event; returns a function that unsubscribes. Errors of the
 * streaming connection are swallowed: live refresh is a convenience, the page still works without it.
 */
export function subscribeToScoreChanges(onChange) {
  let subscription;
  let closed = false;
  onError(() => {});
  subscribe(channelName(), -1, (message) => onChange(leadIdsOf(message), message))
    .then((result) => {
      subscription = result;
      if (closed) {
        unsubscribe(subscription, () => {});
      }
    })
    .catch(() => {});
  return () => {
    closed = true;
    if (subscription) {
      unsubscribe(subscription, () => {});
    }
  };
}
