import { LightningElement, api } from 'lwc';
import { getFieldValue } from 'lightning/uiRecordApi';
import { ShowToastEvent } from 'lightning/platformShowToastEvent';
import {
  bandClass,
  errorMessage,
  isStale,
  parseReasons,
  splitNextBestAction,
  timeAgo,
  trendPoints,
} from 'c/leadrankFormat';
import { LABELS, format } from 'c/leadrankLabels';

const TOP_REASONS = 3;
const TREND_WIDTH = 120;
const TREND_HEIGHT = 32;

/** What differs between the Lead and the Opportunity card: the title, the icon and two texts. */
const KINDS = {
  lead: {
    title: LABELS.Card_Title,
    iconName: 'standard:lead',
    whyHigh: LABELS.Why_High,
    notScored: LABELS.Not_Scored,
  },
  opportunity: {
    title: LABELS.Deal_Card_Title,
    iconName: 'standard:opportunity',
    whyHigh: LABELS.Deal_Why_High,
    notScored: LABELS.Deal_Not_Scored,
  },
};

/**
 * The Leadrank score card as the rep sees it: score, band, rules badge, trend, freshness, reasons for and against,
 * the next-best action with its "log as done" button, and the not-scored, no-access and error states. It renders
 * what its wrapper (leadScoreCard, opportunityScoreCard) loaded and owns only the logging state and its toasts.
 */
export default class ScoreCardView extends LightningElement {
  /** 'lead' or 'opportunity': the title, icon and texts (anything else reads as 'lead'). */
  @api kind = 'lead';
  /** The getRecord data (fields asked as optionalFields) and its error. */
  @api record;
  @api recordError;
  /**
   * The schema field references the record was read with:
   * { score, band, reasons, nextBestAction, source, scoredAt, modelVersion }.
   */
  @api fields;
  /** Score_History__c rows, newest first (an empty list hides the trend). */
  @api history = [];
  /** (actionLabel) => Promise: records the next-best action as done; a rejection is shown as an error toast. */
  @api logAction;

  labels = LABELS;
  logging = false;
  loggedAction;

  get kindLabels() {
    return KINDS[this.kind] || KINDS.lead;
  }

  field(name) {
    return this.fields ? getFieldValue(this.record, this.fields[name]) : undefined;
  }

  get hasScore() {
    return Boolean(this.record) && this.score !== null && this.score !== undefined;
  }

  /** The record loaded but the score field did not: the user has no field access to it. */
  get scoreHidden() {
    return (
      Boolean(this.record && this.fields) && !(this.fields.score.fieldApiName in (this.record.fields || {}))
    );
  }

  get notScored() {
    return Boolean(this.record) && !this.hasScore && !this.scoreHidden;
  }

  get errorText() {
    return this.recordError ? errorMessage(this.recordError) : null;
  }

  get score() {
    return this.field('score');
  }

  get band() {
    return this.field('band');
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
    return this.field('source') === 'Rules';
  }

  get modelVersion() {
    return this.field('modelVersion');
  }

  get freshness() {
    const scoredAt = this.field('scoredAt');
    const ago = timeAgo(scoredAt);
    if (!ago) {
      return LABELS.Scored_Unknown;
    }
    return format(isStale(scoredAt) ? LABELS.Scored_Stale : LABELS.Scored, ago);
  }

  get reasons() {
    return parseReasons(this.field('reasons'));
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
    return splitNextBestAction(this.field('nextBestAction'));
  }

  get actionLabel() {
    const next = this.nextBestAction;
    return next && next.label ? next.label : LABELS.Next_Step;
  }

  get logButtonLabel() {
    return this.loggedAction ? LABELS.Logged : format(LABELS.Log_As_Done, this.actionLabel);
  }

  get logDisabled() {
    return this.logging || Boolean(this.loggedAction) || typeof this.logAction !== 'function';
  }

  /** History comes newest first; the trend reads left (oldest) to right (newest). */
  get trendScores() {
    return (this.history || [])
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
    const action = this.actionLabel;
    this.logging = true;
    try {
      await this.logAction(action);
      this.loggedAction = action;
      this.dispatchEvent(
        new ShowToastEvent({
          title: LABELS.Logged,
          message: format(LABELS.Logged_Message, action),
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
