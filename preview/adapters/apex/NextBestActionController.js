// NextBestActionController.logAction and logOpportunityAction for the preview: a completed Task on the lead
// (WhoId) or on the deal (WhatId) in the org.
import { org } from '../http';
import { getRunningUserId } from '../session';

/** Creates the completed Task `related` names ({ WhoId } or { WhatId }) and returns its Id. */
async function logCompletedTask(related, action) {
  const task = {
    ...related,
    Subject: `Leadrank: ${action}`.slice(0, 255),
    Status: 'Completed',
    ActivityDate: new Date().toISOString().slice(0, 10),
  };
  const ownerId = getRunningUserId();
  if (ownerId) {
    task.OwnerId = ownerId;
  }
  const created = await org('/sobjects/Task', { method: 'POST', body: task });
  return created.id;
}

export async function logAction({ leadId, action }) {
  if (!leadId || !action) {
    throw { body: { message: 'A lead and an action are required.' } };
  }
  return logCompletedTask({ WhoId: leadId }, action);
}

export async function logOpportunityAction({ opportunityId, action }) {
  if (!opportunityId || !action) {
    throw { body: { message: 'An opportunity and an action are required.' } };
  }
  return logCompletedTask({ WhatId: opportunityId }, action);
}
