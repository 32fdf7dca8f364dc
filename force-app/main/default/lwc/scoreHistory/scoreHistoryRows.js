// Score_History__c records to lightning-datatable rows. Fields are read by their schema API names, so a
// namespaced package (ns__Score__c) maps the same way.
import { LABELS } from 'c/leadrankLabels';
import SCORE from '@salesforce/schema/Score_History__c.Score__c';
import PREVIOUS_SCORE from '@salesforce/schema/Score_History__c.Previous_Score__c';
import BAND from '@salesforce/schema/Score_History__c.Band__c';
import SOURCE from '@salesforce/schema/Score_History__c.Source__c';
import MODEL_VERSION from '@salesforce/schema/Score_History__c.Model_Version__c';
import REASONS from '@salesforce/schema/Score_History__c.Reasons__c';
import CYCLE_ID from '@salesforce/schema/Score_History__c.Cycle_Id__c';
import SCORED_AT from '@salesforce/schema/Score_History__c.Scored_At__c';

const name = (field) => (typeof field === 'string' ? field.split('.').pop() : field.fieldApiName);

export const HISTORY_COLUMNS = [
  {
    label: LABELS.Column_Scored_At,
    fieldName: 'scoredAt',
    type: 'date',
    typeAttributes: { year: 'numeric', month: 'short', day: '2-digit', hour: '2-digit', minute: '2-digit' },
  },
  { label: LABELS.Column_Score, fieldName: 'score', type: 'number', cellAttributes: { alignment: 'left' } },
  { label: LABELS.Column_Change, fieldName: 'change', type: 'text' },
  { label: LABELS.Column_Band, fieldName: 'band', type: 'text' },
  { label: LABELS.Column_Source, fieldName: 'source', type: 'text' },
  { label: LABELS.Column_Model_Version, fieldName: 'modelVersion', type: 'text' },
  { label: LABELS.Column_Reasons, fieldName: 'reasons', type: 'text', wrapText: true },
  { label: LABELS.Column_Cycle, fieldName: 'cycleId', type: 'text' },
];

function signedChange(score, previous) {
  if (typeof score !== 'number' || typeof previous !== 'number') {
    return LABELS.First_Score;
  }
  const delta = score - previous;
  return delta > 0 ? `+${delta}` : String(delta);
}

export function historyRows(records) {
  return records.map((record) => ({
    id: record.Id,
    scoredAt: record[name(SCORED_AT)],
    score: record[name(SCORE)],
    change: signedChange(record[name(SCORE)], record[name(PREVIOUS_SCORE)]),
    band: record[name(BAND)],
    source: record[name(SOURCE)],
    modelVersion: record[name(MODEL_VERSION)],
    reasons: (record[name(REASONS)] || '').split('\n').join('; '),
    cycleId: record[name(CYCLE_ID)],
  }));
}
