import { LightningElement, api, wire } from 'lwc';
import { getRecord, getFieldValue, notifyRecordUpdateAvailable } from 'lightning/uiRecordApi';
import { refreshApex } from '@salesforce/apex';
import getHistory from '@salesforce/apex/ScoreHistoryController.getHistory';
import logAction from '@salesforce/apex/NextBestActionController.logAction';
import reportScoreCardView from '@salesforce/apex/ExposureController.reportScoreCardView';
import LEAD_SCORE from '@salesforce/schema/Lead.Lead_Score__c';
import SCORE_BAND from '@salesforce/schema/Lead.Score_Band__c';
import SCORE_REASONS from '@salesforce/schema/Lead.Score_Reasons__c';
import NEXT_BEST_ACTION from '@salesforce/schema/Lead.Next_Best_Action__c';
import SCORE_SOURCE from '@salesforce/schema/Lead.Score_Source__c';
import SCORED_AT from '@salesforce/schema/Lead.Scored_At__c';
import MODEL_VERSION from '@salesforce/schema/Lead.Score_Model_Version__c';
import { namesLead, subscribeToScoreChanges } from 'c/leadScoreEvents';

/** The Lead score fields, by the names c/scoreCardView reads them. */
const FIELDS = {
  score: LEAD_SCORE,
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
 * Leadrank score, reasons, trend and next-best action on the Lead record page: loads the lead and its history,
 * refreshes them when a new score lands, reports experiment exposure and logs the action; c/scoreCardView shows it.
 */
export default class LeadScoreCard extends LightningElement {
  @api recordId;

  fields = FIELDS;
  record;
  recordError;
  history = [];
  reportedExposureFor;
  historyResult;
  stopListening;

  connectedCallback() {
    // A new score lands asynchronously (Queueable, Bulk write-back): refresh when an event names this lead.
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

  /** Lightning Data Service re-reads the lead (every component showing it updates); the trend re-queries. */
  async refreshScore() {
    await notifyRecordUpdateAvailable([{ recordId: this.recordId }]);
    if (this.historyResult) {
      await refreshApex(this.historyResult);
    }
  }

  // optionalFields: a user without access to a score field gets a degraded card, not an error.
  @wire(getRecord, { recordId: '$recordId', optionalFields: OPTIONAL_FIELDS })
  wiredLead({ data, error }) {
    this.record = data;
    this.recordError = error;
    this.reportExposure();
  }

  /**
   * An experiment counts a rep as exposed when a score is actually shown: once per lead and card, and
   * fire-and-forget (the Apex side never throws; a lost report must not disturb the page).
   */
  reportExposure() {
    const score = this.record ? getFieldValue(this.record, LEAD_SCORE) : null;
    if (score === null || score === undefined || this.reportedExposureFor === this.recordId) {
      return;
    }
    this.reportedExposureFor = this.recordId;
    const scoredByRules = getFieldValue(this.record, SCORE_SOURCE) === 'Rules';
    reportScoreCardView({ leadId: this.recordId, scoredByRules }).catch(() => {});
  }

  @wire(getHistory, { leadId: '$recordId', maxRows: TREND_POINTS })
  wiredHistory(result) {
    this.historyResult = result;
    // The trend is a nice-to-have: without history the card still shows the score.
    this.history = result.data || [];
  }

  /** c/scoreCardView calls this with the action's label when the rep logs it as done. */
  logNextBestAction = (action) => logAction({ leadId: this.recordId, action });
}
