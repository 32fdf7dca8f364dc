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

function createCard() {
  const element = createElement('c-opportunity-score-card', { is: OpportunityScoreCard });
  element.recordId = RECORD_ID;
  document.body.appendChild(element);
  return element;
}

const flushPromises = () => new Promise((resolve) => process.nextTick(resolve));
const viewOf = (element) => element.shadowRoot.querySelector('c-score-card-view');
/** What the rep sees is rendered by c/scoreCardView (its own tests cover the display). */
const byId = (element, id) => viewOf(element).shadowRoot.querySelector(`[data-id="${id}"]`);

describe('c-opportunity-score-card', () => {
  afterEach(() => {
    while (document.body.firstChild) {
      document.body.removeChild(document.body.firstChild);
    }
    jest.clearAllMocks();
  });

  it('asks getRecord for the Opportunity score fields as optional fields', async () => {
    createCard();
    await flushPromises();

    const config = getRecord.getLastConfig();
    expect(config.recordId).toBe(RECORD_ID);
    expect(config.fields).toBeUndefined();
    expect(config.optionalFields.map((f) => `${f.objectApiName}.${f.fieldApiName}`)).toEqual([
      'Opportunity.Opportunity_Score__c',
      'Opportunity.Score_Band__c',
      'Opportunity.Score_Reasons__c',
      'Opportunity.Next_Best_Action__c',
      'Opportunity.Score_Source__c',
      'Opportunity.Scored_At__c',
      'Opportunity.Score_Model_Version__c',
    ]);
  });

  it('hands the deal, its fields and its own last ten history rows to the view as a deal card', async () => {
    const element = createCard();
    getRecord.emit(mockRecord);
    getOpportunityHistory.emit(mockHistory);
    await flushPromises();

    expect(getOpportunityHistory.getLastConfig()).toEqual({ opportunityId: RECORD_ID, maxRows: 10 });
    const view = viewOf(element);
    expect(view.kind).toBe('opportunity');
    expect(view.fields.score.fieldApiName).toBe('Opportunity_Score__c');
    expect(view.shadowRoot.querySelector('lightning-card').title).toBe('Leadrank deal score');
    expect(byId(element, 'score').textContent).toBe('71');
    expect(byId(element, 'trend').getAttribute('aria-label')).toBe(
      'Score trend over the last 3 changes: from 35 to 71',
    );
  });

  it('hands an empty history to the view when the history cannot be loaded, and keeps the score', async () => {
    const element = createCard();
    getRecord.emit(mockRecord);
    getOpportunityHistory.error();
    await flushPromises();

    expect(viewOf(element).history).toEqual([]);
    expect(byId(element, 'trend')).toBeNull();
    expect(byId(element, 'score').textContent).toBe('71');
  });

  it('hands the record error to the view', async () => {
    const element = createCard();
    getRecord.error({ message: 'You do not have access to this record' });
    await flushPromises();

    expect(byId(element, 'error').textContent).toContain('You do not have access to this record');
  });

  it('logs the deal action as a task on the opportunity, and the toast reaches the page', async () => {
    logOpportunityAction.mockResolvedValue('00T5g00000LoGgEDAA');
    const element = createCard();
    const toastHandler = jest.fn();
    element.addEventListener(ShowToastEventName, toastHandler);
    getRecord.emit(mockRecord);
    await flushPromises();

    expect(byId(element, 'next-best-action').querySelector('h3').textContent).toBe('Agree a close plan');
    byId(element, 'log-action').click();
    await flushPromises();

    expect(logOpportunityAction).toHaveBeenCalledWith({
      opportunityId: RECORD_ID,
      action: 'Agree a close plan',
    });
    expect(toastHandler.mock.calls[0][0].detail.variant).toBe('success');
    expect(byId(element, 'log-action').disabled).toBe(true);
  });

  it('shows the Apex error when logging fails', async () => {
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

  it('is accessible', async () => {
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
