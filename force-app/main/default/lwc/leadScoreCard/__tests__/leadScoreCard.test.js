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

function createCard() {
  const element = createElement('c-lead-score-card', { is: LeadScoreCard });
  element.recordId = RECORD_ID;
  document.body.appendChild(element);
  return element;
}

const flushPromises = () => new Promise((resolve) => process.nextTick(resolve));
const viewOf = (element) => element.shadowRoot.querySelector('c-score-card-view');
/** What the rep sees is rendered by c/scoreCardView (its own tests cover the display). */
const byId = (element, id) => viewOf(element).shadowRoot.querySelector(`[data-id="${id}"]`);

describe('c-lead-score-card', () => {
  afterEach(() => {
    while (document.body.firstChild) {
      document.body.removeChild(document.body.firstChild);
    }
    jest.clearAllMocks();
  });

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

    it('reports nothing when the user cannot read the score or the record fails to load', async () => {
      createCard();
      getRecord.emit({ apiName: 'Lead', id: RECORD_ID, fields: {} });
      await flushPromises();
      getRecord.error({ message: 'You do not have access to this record' });
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

  it('asks getRecord for the score fields of this lead as optional fields', async () => {
    createCard();
    await flushPromises();

    const config = getRecord.getLastConfig();
    expect(config.recordId).toBe(RECORD_ID);
    expect(config.fields).toBeUndefined();
    expect(config.optionalFields.map((f) => `${f.objectApiName}.${f.fieldApiName}`)).toEqual([
      'Lead.Lead_Score__c',
      'Lead.Score_Band__c',
      'Lead.Score_Reasons__c',
      'Lead.Next_Best_Action__c',
      'Lead.Score_Source__c',
      'Lead.Scored_At__c',
      'Lead.Score_Model_Version__c',
    ]);
  });

  it('hands the lead, its fields and its last ten history rows to the view as a lead card', async () => {
    const element = createCard();
    getRecord.emit(mockRecord);
    getHistory.emit(mockHistory);
    await flushPromises();

    expect(getHistory.getLastConfig()).toEqual({ leadId: RECORD_ID, maxRows: 10 });
    const view = viewOf(element);
    expect(view.kind).toBe('lead');
    expect(view.record.id).toBe(RECORD_ID);
    expect(view.fields.score.fieldApiName).toBe('Lead_Score__c');
    expect(view.history.map((row) => row.Score__c)).toEqual([82, 64, 41]);
    expect(byId(element, 'trend').getAttribute('aria-label')).toBe(
      'Score trend over the last 3 changes: from 41 to 82',
    );
  });

  it('hands an empty history to the view when the history cannot be loaded, and keeps the score', async () => {
    const element = createCard();
    getRecord.emit(mockRecord);
    getHistory.error();
    await flushPromises();

    expect(viewOf(element).history).toEqual([]);
    expect(byId(element, 'trend')).toBeNull();
    expect(byId(element, 'score').textContent).toBe('82');
  });

  it('hands the record error to the view', async () => {
    const element = createCard();
    getRecord.error({ message: 'You do not have access to this record' });
    await flushPromises();

    expect(byId(element, 'error').textContent).toContain('You do not have access to this record');
  });

  it('logs the next-best action as a task on this lead, and the toast reaches the page', async () => {
    logAction.mockResolvedValue('00T5g00000LoGgEDAA');
    const element = createCard();
    const toastHandler = jest.fn();
    element.addEventListener(ShowToastEventName, toastHandler);
    getRecord.emit(mockRecord);
    await flushPromises();

    byId(element, 'log-action').click();
    await flushPromises();

    expect(logAction).toHaveBeenCalledWith({ leadId: RECORD_ID, action: 'Call now' });
    expect(toastHandler.mock.calls[0][0].detail.variant).toBe('success');
    expect(byId(element, 'log-action').label).toBe('Logged');
  });

  it('shows the Apex error when logging fails', async () => {
    logAction.mockRejectedValue({ body: { message: 'Insufficient access to create tasks' } });
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

  it('is accessible', async () => {
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
});
