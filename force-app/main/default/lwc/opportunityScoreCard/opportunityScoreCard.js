import { LightningElement, api, wire } from 'lwc';
import { getRecord, getFieldValue, notifyRecordUpdateAvailable } from 'lightning/uiRecordApi';
import { ShowToastEvent } from 'lightning/platformShowToastEvent';
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
import {
  bandClass,
  errorMessage,
  isStale,
  parseReasons,
  splitNextBestAction,
  timeAgo,
  trendPoints,
} from 'c/leadrankFormat';
import { namesLead, subscribeToScoreChanges } from 'c/leadScoreEvents';
import { LABELS, format } from 'c/leadrankLabels';

const FIELDS = [
  DEAL_SCORE,
  SCORE_BAND,
  SCORE_REASONS,
  NEXT_BEST_ACTION,
  SCORE_SOURCE,
  SCORED_AT,
  MODEL_VERSION,
];
const TOP_REASONS = 3;
const TREND_POINTS = 10;
const TREND_WIDTH = 120;
const TREND_HEIGHT = 32;

/**
 * Leadrank deal score, reasons, trend and next-best action on the Opportunity record page: leadScoreCard's
 * layout for an open deal (scored by the sidecar's batch cycle; no experiment exposure is reported).
 */
export default class OpportunityScoreCard extends LightningElement {
  @api recordId;

  labels = LABELS;
  record;
  recordError;
  history = [];
  logging = false;
  loggedAction;
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
  @wire(getRecord, { recordId: '$recordId', optionalFields: FIELDS })
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

  get hasScore() {
    return Boolean(this.record) && this.score !== null && this.score !== undefined;
  }

  /** The record loaded but the score field did not: the user has no field access to it. */
  get scoreHidden() {
    return Boolean(this.record) && !(DEAL_SCORE.fieldApiName in (this.record.fields || {}));
  }

  get notScored() {
    return Boolean(this.record) && !this.hasScore && !this.scoreHidden;
  }

  get errorText() {
    return this.recordError ? errorMessage(this.recordError) : null;
  }

  get score() {
    return getFieldValue(this.record, DEAL_SCORE);
  }

  get band() {
    return getFieldValue(this.record, SCORE_BAND);
  }

  get bandText() {
    return format(LABELS.Band, this.band);
  }

  get scoreErrorText() {
    return format(LABELS.Score_Load_Failed, this.errorText);
  }

  get bandBadgeClass() {
    return bandClass(this.band);
  }

  get isRules() {
    return getFieldValue(this.record, SCORE_SOURCE) === 'Rules';
  }

  get modelVersion() {
    return getFieldValue(this.record, MODEL_VERSION);
  }

  get freshness() {
    const scoredAt = getFieldValue(this.record, SCORED_AT);
    const ago = timeAgo(scoredAt);
    if (!ago) {
      return LABELS.Scored_Unknown;
    }
    return format(isStale(scoredAt) ? LABELS.Scored_Stale : LABELS.Scored, ago);
  }

  get reasons() {
    return parseReasons(getFieldValue(this.record, SCORE_REASONS));
  }

  get positiveReasons() {
    return this.reasons.positive.slice(0, TOP_REASONS);
  }

  get negativeReasons() {
    return this.reasons.negative.slice(0, TOP_REASONS);
  }

  get hasPositiveReasons() {
    return this.positiveReasons.length > 0;
  }

  get hasNegativeReasons() {
    return this.negativeReasons.length > 0;
  }

  get nextBestAction() {
    return splitNextBestAction(getFieldValue(this.record, NEXT_BEST_ACTION));
  }

  get actionLabel() {
    const next = this.nextBestAction;
    return next && next.label ? next.label : LABELS.Next_Step;
  }

  get logButtonLabel() {
    return this.loggedAction ? LABELS.Logged : format(LABELS.Log_As_Done, this.actionLabel);
  }

  get logDisabled() {
    return this.logging || Boolean(this.loggedAction);
  }

  /** History comes newest first; the trend reads left (oldest) to right (newest). */
  get trendScores() {
    return this.history
      .map((row) => row.Score__c)
      .filter((score) => typeof score === 'number')
      .reverse();
  }

  get hasTrend() {
    return this.trendScores.length >= 2;
  }

  get trendPointsAttr() {
    return trendPoints(this.trendScores, TREND_WIDTH, TREND_HEIGHT);
  }

  get trendLabel() {
    const scores = this.trendScores;
    return format(LABELS.Trend, scores.length, scores[0], scores[scores.length - 1]);
  }

  async handleLogAction() {
    this.logging = true;
    try {
      await logOpportunityAction({ opportunityId: this.recordId, action: this.actionLabel });
      this.loggedAction = this.actionLabel;
      this.dispatchEvent(
        new ShowToastEvent({
          title: LABELS.Logged,
          message: format(LABELS.Logged_Message, this.actionLabel),
          variant: 'success',
        }),
      );
    } catch (error) {
      this.dispatchEvent(
        new ShowToastEvent({
          title: LABELS.Log_Failed,
          message: errorMessage(error),
          variant: 'error',
        }),
      );
    } finally {
      this.logging = false;
    }
  }
}
