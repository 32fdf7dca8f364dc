// The same module in a managed package: schema imports then carry the namespace (as the platform resolves
// them in a subscriber org), and the channel and payload field follow without code changes.
import { subscribe } from 'lightning/empApi';
import { channelName, leadIdsOf, namesLead, subscribeToScoreChanges } from 'c/leadScoreEvents';
import { historyRows } from '../../scoreHistory/scoreHistoryRows';

jest.mock(
  '@salesforce/schema/Lead_Score_Changed__e',
  () => ({ default: { objectApiName: 'lrk__Lead_Score_Changed__e' } }),
  {
    virtual: true,
  },
);
jest.mock(
  '@salesforce/schema/Lead_Score_Changed__e.Lead_Ids__c',
  () => ({ default: { objectApiName: 'lrk__Lead_Score_Changed__e', fieldApiName: 'lrk__Lead_Ids__c' } }),
  { virtual: true },
);
jest.mock(
  '@salesforce/schema/Score_History__c.Score__c',
  () => ({ default: { objectApiName: 'lrk__Score_History__c', fieldApiName: 'lrk__Score__c' } }),
  { virtual: true },
);
jest.mock(
  '@salesforce/schema/Score_History__c.Previous_Score__c',
  () => ({ default: { objectApiName: 'lrk__Score_History__c', fieldApiName: 'lrk__Previous_Score__c' } }),
  { virtual: true },
);
jest.mock(
  '@salesforce/schema/Score_History__c.Band__c',
  () => ({ default: { objectApiName: 'lrk__Score_History__c', fieldApiName: 'lrk__Band__c' } }),
  { virtual: true },
);
jest.mock(
  '@salesforce/schema/Score_History__c.Source__c',
  () => ({ default: { objectApiName: 'lrk__Score_History__c', fieldApiName: 'lrk__Source__c' } }),
  { virtual: true },
);
jest.mock(
  '@salesforce/schema/Score_History__c.Model_Version__c',
  () => ({ default: { objectApiName: 'lrk__Score_History__c', fieldApiName: 'lrk__Model_Version__c' } }),
  { virtual: true },
);
jest.mock(
  '@salesforce/schema/Score_History__c.Reasons__c',
  () => ({ default: { objectApiName: 'lrk__Score_History__c', fieldApiName: 'lrk__Reasons__c' } }),
  { virtual: true },
);
jest.mock(
  '@salesforce/schema/Score_History__c.Cycle_Id__c',
  () => ({ default: { objectApiName: 'lrk__Score_History__c', fieldApiName: 'lrk__Cycle_Id__c' } }),
  { virtual: true },
);
jest.mock(
  '@salesforce/schema/Score_History__c.Scored_At__c',
  () => ({ default: { objectApiName: 'lrk__Score_History__c', fieldApiName: 'lrk__Scored_At__c' } }),
  { virtual: true },
);

const LEAD_ID = '00Q5g00000AbCdEEAZ';

describe('c/leadScoreEvents in a namespaced package', () => {
  it('subscribes to the namespaced channel and reads the namespaced payload field', async () => {
    const seen = [];
    subscribeToScoreChanges((ids) => seen.push(ids));
    await Promise.resolve();

    expect(channelName()).toBe('/event/lrk__Lead_Score_Changed__e');
    expect(subscribe).toHaveBeenCalledWith('/event/lrk__Lead_Score_Changed__e', -1, expect.any(Function));
    const message = { data: { payload: { lrk__Lead_Ids__c: `${LEAD_ID},00Q5g00000ZzZzZEAZ` } } };
    subscribe.mock.calls[0][2](message);

    expect(seen).toEqual([[LEAD_ID, '00Q5g00000ZzZzZEAZ']]);
    expect(namesLead(message, LEAD_ID.slice(0, 15))).toBe(true);
    expect(leadIdsOf({ data: { payload: { Lead_Ids__c: LEAD_ID } } })).toEqual([]);
  });

  it('maps namespaced history records to table rows', () => {
    const [row] = historyRows([
      {
        Id: 'a01',
        lrk__Score__c: 82,
        lrk__Previous_Score__c: 70,
        lrk__Band__c: 'A',
        lrk__Reasons__c: '+ one\n- two',
        lrk__Cycle_Id__c: 'c1',
      },
    ]);
    expect(row).toMatchObject({
      id: 'a01',
      score: 82,
      change: '+12',
      band: 'A',
      reasons: '+ one; - two',
      cycleId: 'c1',
    });
  });
});
