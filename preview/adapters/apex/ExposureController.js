// ExposureController.reportScoreCardView for the preview: the same POST /v1/exposures as the Apex class,
// and the same promise: true when the sidecar took the report, false (never an error) otherwise.
import { sidecar } from '../http';
import { getRunningUserId } from '../session';

export async function reportScoreCardView({ leadId, scoredByRules }) {
  const repId = getRunningUserId();
  if (!repId || !leadId || !String(leadId).startsWith('00Q')) {
    return false;
  }
  const body = { repId, leadIds: [leadId], at: new Date().toISOString() };
  if (scoredByRules) {
    body.fallbackLeadIds = [leadId];
  }
  try {
    await sidecar('/v1/exposures', { method: 'POST', body });
    return true;
  } catch {
    return false;
  }
}
