import { createElement } from 'lwc';
import OpportunityScoreCard from 'c/opportunityScoreCard';
import { getRecord, notifyRecordUpdateAvailable } from 'lightning/uiRecordApi';
import { subscribe, unsubscribe } from 'lightning/empApi';
import { refreshApex } from '@salesforce/apex';
// The platformShowToastEvent stub dispatches this event name.
const ShowToastEventName = 'lightning__showtoast';
import getOpportunityHistory from '@salesforce/apex/ScoreHistoryController.getOpportunityHistory';
import logOpportunityAction from '@salesforce/apex/NextBestActionController.logOpportunityAction';

const mockRecord = require('./data/getRecord.json');
const mockRecordRules = require('./data/getRecordRules.json');
const mockRecordNotScored = require('./data/getRecordNotScored.json');
const mockHistory = require('./data/getHistory.json');

jest.mock(
  '@salesforce/apex/ScoreHistoryController.getOpportunityHistory',
  () => {
    const { createApexTestWireAdapter } = require('@salesforce/sfdx-lwc-jest');
    return { default: createApexTestWireAdapter(jest.fn()) };
  },
  { virtual: true },
);
jest.mock('@salesforce/apex/NextBestActionController.logOpportunityAction', () => ({ default: jest.fn() }), {
  virtual: true,
});

const RECORD_ID = '0065g00000DeAlSAAZ';
const NOW = new Date('2025-06-02T12:12:00.000Z');

function createCard() {
  const element = createElement('c-opportunity-score-card', { is: OpportunityScoreCard });
  element.recordId = RECORD_ID;
  document.body.appendChild(element);
  return element;
}

const flushPromises = () => new Promise((resolve) => process.nextTick(resolve));
const byId = (element, id) => element.shadowRoot.querySelector(`[data-id="${id}"]`);

describe('c-opportunity-score-card', () => {
  beforeEach(() => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'queueMicrotask'] });
    jest.setSystemTime(NOW);
  });

  afterEach(() => {
    while (document.body.firstChild) {
      document.body.removeChild(document.body.firstChild);
    }
    jest.clearAllMocks();
    jest.useRealTimers();
  });

  it('shows the deal score, band, freshness and model version from the opportunity', async () => {
    const element = createCard();
    getRecord.emit(mockRecord);
    await flushPromises();

    expect(byId(element, 'score').textContent).toBe('71');
    expect(byId(element, 'band').textContent).toBe('Band B');
    expect(byId(element, 'freshness').textContent).toContain('Scored 12 min ago');
    expect(byId(element, 'freshness').textContent).toContain('lr-4be1c0de93a7f2d1');
    expect(byId(element, 'rules-badge')).toBeNull();
    expect(element.shadowRoot.querySelector('lightning-card').title).toBe('Leadrank deal score');
  });

  it('asks getRecord for the Opportunity score fields as optional fields', async () => {
    createCard();
    await flushPromises();

    const config = getRecord.getLastConfig();
    expect(config.recordId).toBe(RECORD_ID);
    expect(config.fields).toBeUndefined();
    const names = config.optionalFields.map((f) => `${f.objectApiName}.${f.fieldApiName}`);
    expect(names).toEqual(
      expect.arrayContaining([
        'Opportunity.Opportunity_Score__c',
        'Opportunity.Score_Band__c',
        'Opportunity.Score_Reasons__c',
        'Opportunity.Next_Best_Action__c',
        'Opportunity.Score_Source__c',
        'Opportunity.Scored_At__c',
        'Opportunity.Score_Model_Version__c',
      ]),
    );
    expect(names.some((n) => n.startsWith('Lead.'))).toBe(false);
  });

  it('lists the top three reasons for and the ones against the deal, strongest first', async () => {
    const element = createCard();
    getRecord.emit(mockRecord);
    await flushPromises();

    const texts = (id) => [...byId(element, id).querySelectorAll('li')].map((li) => li.textContent);
    expect(texts('positive-reasons')).toEqual([
      'Account industry: Technology',
      'Amount: 48,000',
      'Lead source: Partner Referral',
    ]);
    expect(texts('negative-reasons')).toEqual(['No activity for 34 days', 'Close date 62 days away']);
    expect(element.shadowRoot.textContent).toContain('Why it is likely to be won');
  });

  it('marks a deal-rules score with a badge and flags a stale score', async () => {
    const element = createCard();
    getRecord.emit(mockRecordRules);
    await flushPromises();

    expect(byId(element, 'rules-badge').textContent).toBe('Rules-based');
    expect(byId(element, 'freshness').textContent).toContain('(stale)');
    expect(byId(element, 'positive-reasons').textContent).toContain('Past the qualification stage');
  });

  it("draws the trend from the deal's own score history, oldest to newest", async () => {
    const element = createCard();
    getRecord.emit(mockRecord);
    getOpportunityHistory.emit(mockHistory);
    await flushPromises();

    expect(getOpportunityHistory.getLastConfig()).toEqual({ opportunityId: RECORD_ID, maxRows: 10 });
    const trend = byId(element, 'trend');
    expect(trend.getAttribute('aria-label')).toBe('Score trend over the last 3 changes: from 35 to 71');
  });

  it('keeps the score when the history cannot be loaded', async () => {
    const element = createCard();
    getRecord.emit(mockRecord);
    getOpportunityHistory.error();
    await flushPromises();

    expect(byId(element, 'trend')).toBeNull();
    expect(byId(element, 'score').textContent).toBe('71');
  });

  it('shows the deal action and logs it as a task on the opportunity', async () => {
    logOpportunityAction.mockResolvedValue('00T5g00000LoGgEDAA');
    const element = createCard();
    const toastHandler = jest.fn();
    element.addEventListener(ShowToastEventName, toastHandler);
    getRecord.emit(mockRecord);
    await flushPromises();

    expect(byId(element, 'next-best-action').querySelector('h3').textContent).toBe('Agree a close plan');
    expect(byId(element, 'rationale').textContent).toContain('agree the remaining steps');
    byId(element, 'log-action').click();
    await flushPromises();

    expect(logOpportunityAction).toHaveBeenCalledWith({
      opportunityId: RECORD_ID,
      action: 'Agree a close plan',
    });
    expect(toastHandler.mock.calls[0][0].detail.variant).toBe('success');
    expect(byId(element, 'log-action').disabled).toBe(true);
  });

  it('shows an error toast and keeps the button enabled when logging fails', async () => {
    logOpportunityAction.mockRejectedValue({ body: { message: 'Insufficient access to create tasks' } });
    const element = createCard();
    const toastHandler = jest.fn();
    element.addEventListener(ShowToastEventName, toastHandler);
    getRecord.emit(mockRecord);
    await flushPromises();

    byId(element, 'log-action').click();
    await flushPromises();

    expect(toastHandler.mock.calls[0][0].detail.message).toBe('Insufficient access to create tasks');
    expect(byId(element, 'log-action').disabled).toBe(false);
  });

  it('says when the deal has not been scored yet', async () => {
    const element = createCard();
    getRecord.emit(mockRecordNotScored);
    await flushPromises();

    expect(byId(element, 'not-scored').textContent).toContain('This opportunity has not been scored yet');
    expect(byId(element, 'score')).toBeNull();
  });

  it('degrades to a notice when the user cannot read the score fields', async () => {
    const element = createCard();
    getRecord.emit({ apiName: 'Opportunity', id: RECORD_ID, fields: {} });
    await flushPromises();

    expect(byId(element, 'no-access')).not.toBeNull();
    expect(byId(element, 'not-scored')).toBeNull();
  });

  it('shows the record error', async () => {
    const element = createCard();
    getRecord.error({ message: 'You do not have access to this record' });
    await flushPromises();

    expect(byId(element, 'error').textContent).toContain('You do not have access to this record');
  });

  it('is accessible', async () => {
    jest.useRealTimers();
    const element = createCard();
    getRecord.emit(mockRecord);
    getOpportunityHistory.emit(mockHistory);
    await flushPromises();

    await expect(element).toBeAccessible();
  });

  describe('live refresh', () => {
    function deliver(ids) {
      const [, , onMessage] = subscribe.mock.calls[subscribe.mock.calls.length - 1];
      onMessage({ data: { payload: { Lead_Ids__c: ids.join(','), Lead_Count__c: ids.length } } });
    }

    it('re-reads the deal and its trend when a score event names it', async () => {
      createCard();
      getRecord.emit(mockRecord);
      getOpportunityHistory.emit(mockHistory);
      await flushPromises();

      expect(subscribe).toHaveBeenCalledWith('/event/Lead_Score_Changed__e', -1, expect.any(Function));
      deliver(['00Q5g00000ZzZzZEAZ', RECORD_ID.slice(0, 15)]);
      await flushPromises();

      expect(notifyRecordUpdateAvailable).toHaveBeenCalledWith([{ recordId: RECORD_ID }]);
      expect(refreshApex).toHaveBeenCalledTimes(1);
    });

    it('ignores events about other records and unsubscribes when removed', async () => {
      const element = createCard();
      await flushPromises();

      deliver(['0065g00000OtHeRAAZ']);
      await flushPromises();
      expect(notifyRecordUpdateAvailable).not.toHaveBeenCalled();

      document.body.removeChild(element);
      await flushPromises();
      expect(unsubscribe).toHaveBeenCalledTimes(1);
    });
  });
});
