import { createElement } from 'lwc';
import RankedLeadList from 'c/rankedLeadList';
import { getNavigateCalledWith } from 'lightning/navigation';
import { refreshApex } from '@salesforce/apex';
import { subscribe, unsubscribe } from 'lightning/empApi';
import { REFRESH_DEBOUNCE_MS } from 'c/rankedLeadList';
import getWorklist from '@salesforce/apex/WorklistController.getWorklist';
import getRulesWorklist from '@salesforce/apex/WorklistController.getRulesWorklist';

const mockWorklist = require('./data/getWorklist.json');
const mockWorklistDegraded = require('./data/getWorklistDegraded.json');
const mockWorklistEmpty = require('./data/getWorklistEmpty.json');
const mockRulesWorklist = require('./data/getRulesWorklist.json');

jest.mock(
  '@salesforce/apex/WorklistController.getWorklist',
  () => {
    const { createApexTestWireAdapter } = require('@salesforce/sfdx-lwc-jest');
    return { default: createApexTestWireAdapter(jest.fn()) };
  },
  { virtual: true },
);
jest.mock('@salesforce/apex/WorklistController.getRulesWorklist', () => ({ default: jest.fn() }), {
  virtual: true,
});

function createList() {
  const element = createElement('c-ranked-lead-list', { is: RankedLeadList });
  document.body.appendChild(element);
  return element;
}

const flushPromises = () => new Promise((resolve) => process.nextTick(resolve));
const all = (element, selector) => [...element.shadowRoot.querySelectorAll(selector)];
const byId = (element, id) => element.shadowRoot.querySelector(`[data-id="${id}"]`);

describe('c-ranked-lead-list', () => {
  afterEach(() => {
    while (document.body.firstChild) {
      document.body.removeChild(document.body.firstChild);
    }
    jest.clearAllMocks();
  });

  it('shows a spinner until the worklist arrives', () => {
    const element = createList();

    expect(element.shadowRoot.querySelector('lightning-spinner')).not.toBeNull();
  });

  it('renders the leads in rank order with score, band and next-best action', async () => {
    const element = createList();
    getWorklist.emit(mockWorklist);
    await flushPromises();

    expect(all(element, 'a[data-role="lead-link"]').map((a) => a.textContent)).toEqual([
      'Priya Raman',
      'Jonas Weber',
      'Ana Souza',
    ]);
    expect(all(element, '[data-id="band"]').map((b) => b.textContent)).toEqual(['A', 'B', 'C']);
    expect(all(element, '[data-id="score"]').map((s) => s.textContent)).toEqual(['91', '68', '33']);
    const firstAction = all(element, '[data-id="action"]')[0];
    expect(firstAction.querySelector('strong').textContent).toBe('Call now');
    expect(firstAction.textContent).toContain('call while interest is high');
    expect(byId(element, 'notice')).toBeNull();
    expect(element.shadowRoot.querySelector('lightning-spinner')).toBeNull();
  });

  it('expands and collapses the reasons of a lead, announcing the state', async () => {
    const element = createList();
    getWorklist.emit(mockWorklist);
    await flushPromises();

    const toggle = all(element, 'button[data-role="toggle"]')[0];
    expect(toggle.getAttribute('aria-expanded')).toBe('false');
    expect(byId(element, 'reasons')).toBeNull();

    toggle.click();
    await flushPromises();
    expect(toggle.getAttribute('aria-expanded')).toBe('true');
    expect([...byId(element, 'reasons').querySelectorAll('li')].map((li) => li.textContent)).toEqual([
      '+ Opened the proposal twice today',
      '+ Referred by a partner',
      '− No budget confirmed',
    ]);

    toggle.click();
    await flushPromises();
    expect(byId(element, 'reasons')).toBeNull();
  });

  it('opens the lead record from its name', async () => {
    const element = createList();
    getWorklist.emit(mockWorklist);
    await flushPromises();

    all(element, 'a[data-role="lead-link"]')[1].click();

    const { pageReference } = getNavigateCalledWith();
    expect(pageReference.type).toBe('standard__recordPage');
    expect(pageReference.attributes.recordId).toBe('00Q5g00000AbCd2EAA');
  });

  it('moves focus between leads with the arrow keys', async () => {
    const element = createList();
    getWorklist.emit(mockWorklist);
    await flushPromises();
    const links = all(element, 'a[data-role="lead-link"]');

    links[0].focus();
    links[0].dispatchEvent(new KeyboardEvent('keydown', { key: 'ArrowDown', bubbles: true }));
    expect(element.shadowRoot.activeElement).toBe(links[1]);
    links[1].dispatchEvent(new KeyboardEvent('keydown', { key: 'ArrowUp', bubbles: true }));
    expect(element.shadowRoot.activeElement).toBe(links[0]);
    links[0].dispatchEvent(new KeyboardEvent('keydown', { key: 'ArrowUp', bubbles: true }));
    expect(element.shadowRoot.activeElement).toBe(links[0]);
  });

  it('shows the notice when Apex fell back to the rules order', async () => {
    const element = createList();
    getWorklist.emit(mockWorklistDegraded);
    await flushPromises();

    expect(byId(element, 'notice').textContent).toContain('rules-based order');
    expect(all(element, '[data-id="item"]')).toHaveLength(1);
  });

  it('shows the empty state', async () => {
    const element = createList();
    getWorklist.emit(mockWorklistEmpty);
    await flushPromises();

    expect(byId(element, 'empty')).not.toBeNull();
    expect(all(element, '[data-id="item"]')).toHaveLength(0);
  });

  it('on a wire error still shows the rules-based order', async () => {
    getRulesWorklist.mockResolvedValue(mockRulesWorklist);
    const element = createList();
    getWorklist.error({ message: 'Unable to reach Leadrank' });
    await flushPromises();

    expect(byId(element, 'error').textContent).toContain('Unable to reach Leadrank');
    expect(getRulesWorklist).toHaveBeenCalledTimes(1);
    expect(all(element, 'a[data-role="lead-link"]').map((a) => a.textContent)).toEqual([
      'Ana Souza',
      'Priya Raman',
    ]);
  });

  it('on a wire error with no rules order either, shows the error and the empty state', async () => {
    getRulesWorklist.mockRejectedValue(new Error('offline'));
    const element = createList();
    getWorklist.error();
    await flushPromises();

    expect(byId(element, 'error')).not.toBeNull();
    expect(byId(element, 'empty')).not.toBeNull();
  });

  it('refreshes the wired worklist', async () => {
    const element = createList();
    getWorklist.emit(mockWorklist);
    await flushPromises();

    byId(element, 'refresh').click();
    await flushPromises();

    expect(refreshApex).toHaveBeenCalledTimes(1);
  });

  it('is accessible with reasons expanded', async () => {
    const element = createList();
    getWorklist.emit(mockWorklist);
    await flushPromises();
    all(element, 'button[data-role="toggle"]')[0].click();
    await flushPromises();

    await expect(element).toBeAccessible();
  });

  describe('live refresh', () => {
    beforeEach(() => jest.useFakeTimers({ doNotFake: ['nextTick', 'queueMicrotask'] }));
    afterEach(() => jest.useRealTimers());

    function deliver(leadIds) {
      const [channel, , onMessage] = subscribe.mock.calls[subscribe.mock.calls.length - 1];
      expect(channel).toBe('/event/Lead_Score_Changed__e');
      onMessage({ data: { payload: { Lead_Ids__c: leadIds.join(',') } } });
    }

    it('re-ranks once after a burst of score events settles, and stops listening when removed', async () => {
      const element = createList();
      getWorklist.emit(mockWorklist);
      await flushPromises();

      deliver(['00Q5g00000AAAAAEAZ']);
      jest.advanceTimersByTime(REFRESH_DEBOUNCE_MS - 1);
      deliver(['00Q5g00000BBBBBEAZ']);
      deliver(['00Q5g00000CCCCCEAZ']);
      expect(refreshApex).not.toHaveBeenCalled();
      jest.advanceTimersByTime(REFRESH_DEBOUNCE_MS);
      await flushPromises();

      expect(refreshApex).toHaveBeenCalledTimes(1);
      document.body.removeChild(element);
      await flushPromises();
      expect(unsubscribe).toHaveBeenCalledTimes(1);
    });
  });
});
