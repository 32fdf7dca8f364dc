import { LightningElement, api, wire } from 'lwc';
import getHistory from '@salesforce/apex/ScoreHistoryController.getHistory';
import { historyRows, HISTORY_COLUMNS } from './scoreHistoryRows';
import { refreshApex } from '@salesforce/apex';
import { errorMessage } from 'c/leadrankFormat';
import { namesLead, subscribeToScoreChanges } from 'c/leadScoreEvents';
import { LABELS, format } from 'c/leadrankLabels';

const MAX_ROWS = 200;

/** The lead's Score_History__c for auditors, newest first. */
export default class ScoreHistory extends LightningElement {
  @api recordId;
  labels = LABELS;
  columns = HISTORY_COLUMNS;
  rows;
  error;
  historyResult;
  stopListening;

  connectedCallback() {
    this.stopListening = subscribeToScoreChanges((leadIds, message) => {
      if (namesLead(message, this.recordId) && this.historyResult) {
        refreshApex(this.historyResult);
      }
    });
  }

  disconnectedCallback() {
    if (this.stopListening) {
      this.stopListening();
    }
  }

  @wire(getHistory, { leadId: '$recordId', maxRows: MAX_ROWS })
  wiredHistory(result) {
    this.historyResult = result;
    const { data, error } = result;
    this.rows = data ? historyRows(data) : undefined;
    this.error = error;
  }

  get hasRows() {
    return Array.isArray(this.rows) && this.rows.length > 0;
  }

  get isEmpty() {
    return Array.isArray(this.rows) && this.rows.length === 0;
  }

  get loadFailedText() {
    return format(LABELS.History_Load_Failed, this.errorText);
  }

  get errorText() {
    return this.error ? errorMessage(this.error) : null;
  }
}
