import { LightningElement, api, wire } from 'lwc';
import { getRecord, notifyRecordUpdateAvailable } from 'lightning/uiRecordApi';
import { refreshApex } from '@salesforce/apex';
import getOpportunityHistory from '@salesforce/apex/ScoreHistoryController.getOpportunityHistory';
import logOpportunityAction from '@salesforce/apex/NextBestActionController.logOpportunityAction';
import DEAL_SCORE from '@salesforce/schema/Opportunity.Opportunity_Score__c';
import SCORE_BAND from '@salesforce/schema/Opportunity.Score_Band__c';
import SCORE_REASONS from '@salesforce/schema/Opportunity.Score_Reasons__c';
import NEXT_BEST_ACTION from '@salesforce/schema/Opportunity.Next_Best_Action__c';
import SCORE_SOURCE from '@salesforce/schema/Opportunity.Score_Source__c';
import SCORED_AT from '@salesforce/schema/Opportunity.Scored_At__c';
import MODEL_VERSION from '@salesforce/schema/Opportunity.Score_Model_Version__c';
import { namesLead, subscribeToScoreChanges } from 'c/leadScoreEvents';

/** The Opportunity score fields, by the names c/scoreCardView reads them. */
const FIELDS = {
  score: DEAL_SCORE,
  band: SCORE_BAND,
  reasons: SCORE_REASONS,
  nextBestAction: NEXT_BEST_ACTION,
  source: SCORE_SOURCE,
  scoredAt: SCORED_AT,
  modelVersion: MODEL_VERSION,
};
const OPTIONAL_FIELDS = Object.values(FIELDS);
const TREND_POINTS = 10;

/**
 * Leadrank deal score, reasons, trend and next-best action on the Opportunity record page: the lead card's view
 * for an open deal (scored by the sidecar's batch cycle; no experiment exposure is reported).
 */
export default class OpportunityScoreCard extends LightningElement {
  @api recordId;

  fields = FIELDS;
  record;
  recordError;
  history = [];
  historyResult;
  stopListening;

  connectedCallback() {
    // A new deal score lands asynchronously (Bulk or Collections write-back): refresh when an event names it.
    this.stopListening = subscribeToScoreChanges((leadIds, message) => {
      if (namesLead(message, this.recordId)) {
        this.refreshScore();
      }
    });
  }

  disconnectedCallback() {
    if (this.stopListening) {
      this.stopListening();
    }
  }

  /** Lightning Data Service re-reads the deal (every component showing it updates); the trend re-queries. */
  async refreshScore() {
    await notifyRecordUpdateAvailable([{ recordId: this.recordId }]);
    if (this.historyResult) {
      await refreshApex(this.historyResult);
    }
  }

  // optionalFields: a user without access to a score field gets a degraded card, not an error.
  @wire(getRecord, { recordId: '$recordId', optionalFields: OPTIONAL_FIELDS })
  wiredDeal({ data, error }) {
    this.record = data;
    this.recordError = error;
  }

  @wire(getOpportunityHistory, { opportunityId: '$recordId', maxRows: TREND_POINTS })
  wiredHistory(result) {
    this.historyResult = result;
    // The trend is a nice-to-have: without history the card still shows the score.
    this.history = result.data || [];
  }

  /** c/scoreCardView calls this with the action's label when the rep logs it as done. */
  logNextBestAction = (action) => logOpportunityAction({ opportunityId: this.recordId, action });
}
