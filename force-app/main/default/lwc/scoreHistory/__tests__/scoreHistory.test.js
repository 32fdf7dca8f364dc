import { createElement } from 'lwc';
import ScoreHistory from 'c/scoreHistory';
import getHistory from '@salesforce/apex/ScoreHistoryController.getHistory';
import { subscribe } from 'lightning/empApi';
import { refreshApex } from '@salesforce/apex';

const mockHistory = require('./data/getHistory.json');

jest.mock(
  '@salesforce/apex/ScoreHistoryController.getHistory',
  () => {
    const { createApexTestWireAdapter } = require('@salesforce/sfdx-lwc-jest');
    return { default: createApexTestWireAdapter(jest.fn()) };
  },
  { virtual: true },
);

const RECORD_ID = '00Q5g00000AbCdEEAZ';

function createHistory() {
  const element = createElement('c-score-history', { is: ScoreHistory });
  element.recordId = RECORD_ID;
  document.body.appendChild(element);
  return element;
}

const flushPromises = () => new Promise((resolve) => process.nextTick(resolve));
const byId = (element, id) => element.shadowRoot.querySelector(`[data-id="${id}"]`);

describe('c-score-history', () => {
  afterEach(() => {
    while (document.body.firstChild) {
      document.body.removeChild(document.body.firstChild);
    }
    jest.clearAllMocks();
  });

  it('asks for up to 200 rows of this lead', async () => {
    createHistory();
    await flushPromises();

    expect(getHistory.getLastConfig()).toEqual({ leadId: RECORD_ID, maxRows: 200 });
  });

  it('renders every change with its signed delta, source and reasons', async () => {
    const element = createHistory();
    getHistory.emit(mockHistory);
    await flushPromises();

    const table = element.shadowRoot.querySelector('lightning-datatable');
    expect(table.keyField).toBe('id');
    expect(table.columns.map((c) => c.fieldName)).toEqual([
      'scoredAt',
      'score',
      'change',
      'band',
      'source',
      'modelVersion',
      'reasons',
      'cycleId',
    ]);
    expect(table.data.map((row) => row.change)).toEqual(['+18', '+23', 'first score']);
    expect(table.data[2]).toMatchObject({
      source: 'Rules',
      modelVersion: 'rules-1.0.0',
      reasons: '+15 Referred by a partner or an employee; -5 Opted out of email',
    });
    expect(byId(element, 'empty')).toBeNull();
  });

  it('shows the empty state when the lead has no history', async () => {
    const element = createHistory();
    getHistory.emit([]);
    await flushPromises();

    expect(byId(element, 'empty')).not.toBeNull();
    expect(element.shadowRoot.querySelector('lightning-datatable')).toBeNull();
  });

  it('shows the error', async () => {
    const element = createHistory();
    getHistory.error({ message: 'Insufficient privileges on Score History' });
    await flushPromises();

    expect(byId(element, 'error').textContent).toContain('Insufficient privileges on Score History');
  });

  it('is accessible', async () => {
    const element = createHistory();
    getHistory.emit(mockHistory);
    await flushPromises();

    await expect(element).toBeAccessible();
  });

  it('re-queries the history when a score event names this lead, and only then', async () => {
    createHistory();
    getHistory.emit(mockHistory);
    await flushPromises();
    const [, , onMessage] = subscribe.mock.calls[subscribe.mock.calls.length - 1];

    onMessage({ data: { payload: { Lead_Ids__c: '00Q5g00000ZzZzZEAZ' } } });
    expect(refreshApex).not.toHaveBeenCalled();
    onMessage({ data: { payload: { Lead_Ids__c: `00Q5g00000ZzZzZEAZ,${RECORD_ID}` } } });

    expect(refreshApex).toHaveBeenCalledTimes(1);
  });
});
