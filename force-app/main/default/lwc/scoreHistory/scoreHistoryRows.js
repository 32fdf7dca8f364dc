// Score_History__c records to lightning-datatable rows.

export const HISTORY_COLUMNS = [
  {
    label: 'Scored at',
    fieldName: 'scoredAt',
    type: 'date',
    typeAttributes: { year: 'numeric', month: 'short', day: '2-digit', hour: '2-digit', minute: '2-digit' },
  },
  { label: 'Score', fieldName: 'score', type: 'number', cellAttributes: { alignment: 'left' } },
  { label: 'Change', fieldName: 'change', type: 'text' },
  { label: 'Band', fieldName: 'band', type: 'text' },
  { label: 'Source', fieldName: 'source', type: 'text' },
  { label: 'Model version', fieldName: 'modelVersion', type: 'text' },
  { label: 'Reasons', fieldName: 'reasons', type: 'text', wrapText: true },
  { label: 'Cycle', fieldName: 'cycleId', type: 'text' },
];

function signedChange(score, previous) {
  if (typeof score !== 'number' || typeof previous !== 'number') {
    return 'first score';
  }
  const delta = score - previous;
  return delta > 0 ? `+${delta}` : String(delta);
}

export function historyRows(records) {
  return records.map((record) => ({
    id: record.Id,
    scoredAt: record.Scored_At__c,
    score: record.Score__c,
    change: signedChange(record.Score__c, record.Previous_Score__c),
    band: record.Band__c,
    source: record.Source__c,
    modelVersion: record.Model_Version__c,
    reasons: (record.Reasons__c || '').split('\n').join('; '),
    cycleId: record.Cycle_Id__c,
  }));
}
