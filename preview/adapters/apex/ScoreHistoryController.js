// ScoreHistoryController.getHistory and getOpportunityHistory for the preview: Score_History__c from the org,
// newest first.
import { orgQuery, quote } from '../http';

const MAX_ROWS = 200;

export async function getHistory({ leadId, maxRows }) {
  if (!leadId) {
    return [];
  }
  const size = !maxRows || maxRows < 1 ? MAX_ROWS : Math.min(maxRows, MAX_ROWS);
  return orgQuery(
    'SELECT Id, Name, Score__c, Previous_Score__c, Band__c, Reasons__c, Next_Best_Action__c, Source__c, ' +
      `Model_Version__c, Cycle_Id__c, Scored_At__c FROM Score_History__c WHERE Lead__c = ${quote(leadId)} ` +
      `ORDER BY Scored_At__c DESC LIMIT ${size}`,
  );
}

/** A deal's own rows (Opportunity__c), as the Apex method returns them. */
export async function getOpportunityHistory({ opportunityId, maxRows }) {
  if (!opportunityId) {
    return [];
  }
  const size = !maxRows || maxRows < 1 ? MAX_ROWS : Math.min(maxRows, MAX_ROWS);
  return orgQuery(
    'SELECT Id, Name, Score__c, Previous_Score__c, Band__c, Reasons__c, Next_Best_Action__c, Source__c, ' +
      `Model_Version__c, Cycle_Id__c, Scored_At__c FROM Score_History__c WHERE Opportunity__c = ${quote(opportunityId)} ` +
      `ORDER BY Scored_At__c DESC LIMIT ${size}`,
  );
}
