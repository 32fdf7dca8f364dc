// WorklistController for the preview: the same answers as the Apex class, from the sidecar and the org.
import { orgQuery, quote, sidecar } from '../http';
import { worklistFromSidecar, worklistFromStoredScores } from '../lead-scores';
import { getRunningUserId } from '../session';

const WORKLIST_SIZE = 50;
export const UNAVAILABLE_NOTICE = 'Leadrank is unavailable: showing your leads in rules-based order.';

/** Open leads of the running rep, highest stored score first (WorklistController.getRulesWorklist). */
export async function getRulesWorklist() {
  const repId = getRunningUserId();
  if (!repId) {
    return worklistFromStoredScores([]);
  }
  const leads = await orgQuery(
    'SELECT Id, Name, Company, Lead_Score__c, Score_Band__c, Score_Reasons__c, Next_Best_Action__c, ' +
      'Score_Source__c, Scored_At__c FROM Lead ' +
      `WHERE OwnerId = ${quote(repId)} AND IsConverted = false ` +
      `ORDER BY Lead_Score__c DESC NULLS LAST, CreatedDate DESC LIMIT ${WORKLIST_SIZE}`,
  );
  return worklistFromStoredScores(leads);
}

/** The sidecar's ranked worklist with names from the org; on any failure the stored order with a notice. */
export async function getWorklist() {
  const repId = getRunningUserId();
  if (!repId) {
    return worklistFromSidecar({ items: [] }, new Map());
  }
  try {
    const answer = await sidecar(`/v1/worklists/${encodeURIComponent(repId)}`);
    const ids = (answer.items || []).map((item) => item.leadId);
    const leads = ids.length
      ? await orgQuery(`SELECT Id, Name, Company FROM Lead WHERE Id IN (${ids.map(quote).join(', ')})`)
      : [];
    return worklistFromSidecar(answer, new Map(leads.map((lead) => [lead.Id, lead])));
  } catch {
    const fallback = await getRulesWorklist();
    fallback.notice = UNAVAILABLE_NOTICE;
    return fallback;
  }
}
