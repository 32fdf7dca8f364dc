import { createElement } from 'lwc';
import LeadScoreCard from 'c/leadScoreCard';
import { getRecord, notifyRecordUpdateAvailable } from 'lightning/uiRecordApi';
import { subscribe, unsubscribe } from 'lightning/empApi';
import { refreshApex } from '@salesforce/apex';
// The platformShowToastEvent stub dispatches this event name.
const ShowToastEventName = 'lightning__showtoast';
import getHistory from '@salesforce/apex/ScoreHistoryController.getHistory';
import logAction from '@salesforce/apex/NextBestActionController.logAction';
import reportScoreCardView from '@salesforce/apex/ExposureController.reportScoreCardView';

const mockRecord = require('./data/getRecord.json');
const mockRecordRules = require('./data/getRecordRules.json');
const mockRecordNotScored = require('./data/getRecordNotScored.json');
const mockHistory = require('./data/getHistory.json');

jest.mock(
  '@salesforce/apex/ScoreHistoryController.getHistory',
  () => {
    const { createApexTestWireAdapter } = require('@salesforce/sfdx-lwc-jest');
    return { default: createApexTestWireAdapter(jest.fn()) };
  },
  { virtual: true },
);
jest.mock('@salesforce/apex/NextBestActionController.logAction', () => ({ default: jest.fn() }), {
  virtual: true,
});
jest.mock(
  '@salesforce/apex/ExposureController.reportScoreCardView',
  () => ({ default: jest.fn(() => Promise.resolve(true)) }),
  { virtual: true },
);

const RECORD_ID = '00Q5g00000AbCdEEAZ';
const NOW = new Date('2025-06-02T12:12:00.000Z');

function createCard() {
  const element = createElement('c-lead-score-card', { is: LeadScoreCard });
  element.recordId = RECORD_ID;
  document.body.appendChild(element);
  return element;
}

const flushPromises = () => new Promise((resolve) => process.nextTick(resolve));
const byId = (element, id) => element.shadowRoot.querySelector(`[data-id="${id}"]`);

describe('c-lead-score-card', () => {
  describe('experiment exposure', () => {
    it('reports once that the rep saw a model score, even when the record refreshes', async () => {
      createCard();
      getRecord.emit(mockRecord);
      await flushPromises();
      getRecord.emit(mockRecord);
      await flushPromises();

      expect(reportScoreCardView).toHaveBeenCalledTimes(1);
      expect(reportScoreCardView).toHaveBeenCalledWith({ leadId: RECORD_ID, scoredByRules: false });
    });

    it('marks a rules score as such, and reports nothing for a lead without a score', async () => {
      createCard();
      getRecord.emit(mockRecordRules);
      await flushPromises();
      expect(reportScoreCardView).toHaveBeenCalledWith({ leadId: RECORD_ID, scoredByRules: true });

      jest.clearAllMocks();
      createCard();
      getRecord.emit(mockRecordNotScored);
      await flushPromises();
      expect(reportScoreCardView).not.toHaveBeenCalled();
    });

    it('keeps the card working when the report fails', async () => {
      reportScoreCardView.mockRejectedValueOnce({ body: { message: 'callout failed' } });
      const element = createCard();
      getRecord.emit(mockRecord);
      await flushPromises();

      expect(byId(element, 'score').textContent).toBe('82');
    });
  });

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

  it('shows the score, band, freshness and model version from the record', async () => {
    const element = createCard();
    getRecord.emit(mockRecord);
    await flushPromises();

    expect(byId(element, 'score').textContent).toBe('82');
    expect(byId(element, 'band').textContent).toBe('Band A');
    expect(byId(element, 'band').className).toContain('slds-theme_success');
    expect(byId(element, 'freshness').textContent).toContain('Scored 12 min ago');
    expect(byId(element, 'freshness').textContent).toContain('lgbm-2025.06.1');
    expect(byId(element, 'rules-badge')).toBeNull();
  });

  it('asks getRecord for the score fields of this lead as optional fields', async () => {
    createCard();
    await flushPromises();

    const config = getRecord.getLastConfig();
    expect(config.recordId).toBe(RECORD_ID);
    expect(config.fields).toBeUndefined();
    expect(config.optionalFields.map((f) => f.fieldApiName)).toEqual(
      expect.arrayContaining(['Lead_Score__c', 'Score_Band__c', 'Score_Source__c', 'Scored_At__c']),
    );
  });

  it('lists the top three positive and the negative reasons separately, strongest first', async () => {
    const element = createCard();
    getRecord.emit(mockRecord);
    await flushPromises();

    const positives = [...byId(element, 'positive-reasons').querySelectorAll('li')].map(
      (li) => li.textContent,
    );
    const negatives = [...byId(element, 'negative-reasons').querySelectorAll('li')].map(
      (li) => li.textContent,
    );
    expect(positives).toEqual([
      'Visited the pricing page 4 times this week',
      'Company of 1,200 employees in a target industry',
      'Referred by a partner',
    ]);
    expect(negatives).toEqual(['No reply to the last two emails', 'Title outside the buying committee']);
  });

  it('marks a rules-based score with a badge and flags a stale score', async () => {
    const element = createCard();
    getRecord.emit(mockRecordRules);
    await flushPromises();

    expect(byId(element, 'rules-badge').textContent).toBe('Rules-based');
    expect(byId(element, 'freshness').textContent).toContain('Scored 3 days ago (stale)');
    expect(byId(element, 'band').className).toContain('slds-theme_warning');
  });

  it('draws the trend from the score history, oldest to newest', async () => {
    const element = createCard();
    getRecord.emit(mockRecord);
    getHistory.emit(mockHistory);
    await flushPromises();

    const trend = byId(element, 'trend');
    expect(trend.getAttribute('aria-label')).toBe('Score trend over the last 3 changes: from 41 to 82');
    expect(trend.querySelector('polyline').getAttribute('points')).toBe('0,18.9 60,11.5 120,5.8');
  });

  it('shows no trend when the history cannot be loaded, and keeps the score', async () => {
    const element = createCard();
    getRecord.emit(mockRecord);
    getHistory.error();
    await flushPromises();

    expect(byId(element, 'trend')).toBeNull();
    expect(byId(element, 'score').textContent).toBe('82');
  });

  it('shows the next-best action and logs it as a task', async () => {
    logAction.mockResolvedValue('00T5g00000LoGgEDAA');
    const element = createCard();
    const toastHandler = jest.fn();
    element.addEventListener(ShowToastEventName, toastHandler);
    getRecord.emit(mockRecord);
    await flushPromises();

    expect(byId(element, 'next-best-action').querySelector('h3').textContent).toBe('Call now');
    expect(byId(element, 'rationale').textContent).toContain('call while interest is high');
    byId(element, 'log-action').click();
    await flushPromises();

    expect(logAction).toHaveBeenCalledWith({ leadId: RECORD_ID, action: 'Call now' });
    expect(toastHandler.mock.calls[0][0].detail.variant).toBe('success');
    expect(byId(element, 'log-action').label).toBe('Logged');
    expect(byId(element, 'log-action').disabled).toBe(true);
  });

  it('shows an error toast and keeps the button enabled when logging fails', async () => {
    logAction.mockRejectedValue({ body: { message: 'Insufficient access to create tasks' } });
    const element = createCard();
    const toastHandler = jest.fn();
    element.addEventListener(ShowToastEventName, toastHandler);
    getRecord.emit(mockRecord);
    await flushPromises();

    byId(element, 'log-action').click();
    await flushPromises();

    const toast = toastHandler.mock.calls[0][0].detail;
    expect(toast.variant).toBe('error');
    expect(toast.message).toBe('Insufficient access to create tasks');
    expect(byId(element, 'log-action').disabled).toBe(false);
  });

  it('says when the lead has not been scored yet', async () => {
    const element = createCard();
    getRecord.emit(mockRecordNotScored);
    await flushPromises();

    expect(byId(element, 'not-scored')).not.toBeNull();
    expect(byId(element, 'score')).toBeNull();
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
    getHistory.emit(mockHistory);
    await flushPromises();

    await expect(element).toBeAccessible();
  });

  describe('live refresh', () => {
    /** The empApi stub records the subscription; this delivers an event to it as the platform would. */
    function deliver(leadIds) {
      const [, , onMessage] = subscribe.mock.calls[subscribe.mock.calls.length - 1];
      onMessage({ data: { payload: { Lead_Ids__c: leadIds.join(','), Lead_Count__c: leadIds.length } } });
    }

    it('subscribes to score events and re-reads the lead and its trend when an event names it', async () => {
      createCard();
      getRecord.emit(mockRecord);
      getHistory.emit(mockHistory);
      await flushPromises();

      expect(subscribe).toHaveBeenCalledWith('/event/Lead_Score_Changed__e', -1, expect.any(Function));
      deliver(['00Q5g00000ZzZzZEAZ', RECORD_ID.slice(0, 15)]);
      await flushPromises();

      expect(notifyRecordUpdateAvailable).toHaveBeenCalledWith([{ recordId: RECORD_ID }]);
      expect(refreshApex).toHaveBeenCalledTimes(1);
    });

    it('ignores events about other leads and unsubscribes when removed', async () => {
      const element = createCard();
      await flushPromises();

      deliver(['00Q5g00000ZzZzZEAZ']);
      await flushPromises();
      expect(notifyRecordUpdateAvailable).not.toHaveBeenCalled();

      document.body.removeChild(element);
      await flushPromises();
      expect(unsubscribe).toHaveBeenCalledTimes(1);
    });
  });

  it('degrades to a notice when the user cannot read the score fields (optionalFields omit them)', async () => {
    const element = createCard();
    getRecord.emit({ apiName: 'Lead', id: RECORD_ID, fields: {} });
    await flushPromises();

    expect(byId(element, 'no-access')).not.toBeNull();
    expect(byId(element, 'not-scored')).toBeNull();
    expect(byId(element, 'error')).toBeNull();
  });
});
