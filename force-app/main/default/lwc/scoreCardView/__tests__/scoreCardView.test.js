import { createElement } from 'lwc';
import ScoreCardView from 'c/scoreCardView';
import LEAD_SCORE from '@salesforce/schema/Lead.Lead_Score__c';
import LEAD_BAND from '@salesforce/schema/Lead.Score_Band__c';
import LEAD_REASONS from '@salesforce/schema/Lead.Score_Reasons__c';
import LEAD_NEXT_BEST_ACTION from '@salesforce/schema/Lead.Next_Best_Action__c';
import LEAD_SOURCE from '@salesforce/schema/Lead.Score_Source__c';
import LEAD_SCORED_AT from '@salesforce/schema/Lead.Scored_At__c';
import LEAD_MODEL_VERSION from '@salesforce/schema/Lead.Score_Model_Version__c';
import DEAL_SCORE from '@salesforce/schema/Opportunity.Opportunity_Score__c';
import DEAL_BAND from '@salesforce/schema/Opportunity.Score_Band__c';
import DEAL_REASONS from '@salesforce/schema/Opportunity.Score_Reasons__c';
import DEAL_NEXT_BEST_ACTION from '@salesforce/schema/Opportunity.Next_Best_Action__c';
import DEAL_SOURCE from '@salesforce/schema/Opportunity.Score_Source__c';
import DEAL_SCORED_AT from '@salesforce/schema/Opportunity.Scored_At__c';
import DEAL_MODEL_VERSION from '@salesforce/schema/Opportunity.Score_Model_Version__c';

// The platformShowToastEvent stub dispatches this event name.
const ShowToastEventName = 'lightning__showtoast';

const leadRecord = require('./data/leadRecord.json');
const leadRecordRules = require('./data/leadRecordRules.json');
const leadRecordNotScored = require('./data/leadRecordNotScored.json');
const leadHistory = require('./data/leadHistory.json');
const opportunityRecord = require('./data/opportunityRecord.json');
const opportunityRecordRules = require('./data/opportunityRecordRules.json');
const opportunityRecordNotScored = require('./data/opportunityRecordNotScored.json');

const LEAD_FIELDS = {
  score: LEAD_SCORE,
  band: LEAD_BAND,
  reasons: LEAD_REASONS,
  nextBestAction: LEAD_NEXT_BEST_ACTION,
  source: LEAD_SOURCE,
  scoredAt: LEAD_SCORED_AT,
  modelVersion: LEAD_MODEL_VERSION,
};
const DEAL_FIELDS = {
  score: DEAL_SCORE,
  band: DEAL_BAND,
  reasons: DEAL_REASONS,
  nextBestAction: DEAL_NEXT_BEST_ACTION,
  source: DEAL_SOURCE,
  scoredAt: DEAL_SCORED_AT,
  modelVersion: DEAL_MODEL_VERSION,
};
const NOW = new Date('2025-06-02T12:12:00.000Z');

const flushPromises = () => new Promise((resolve) => process.nextTick(resolve));

/** The view as a wrapper sets it up: a lead card unless `inputs` say otherwise. */
async function createView(inputs = {}) {
  const element = createElement('c-score-card-view', { is: ScoreCardView });
  Object.assign(element, { kind: 'lead', fields: LEAD_FIELDS, logAction: jest.fn() }, inputs);
  document.body.appendChild(element);
  await flushPromises();
  return element;
}

const byId = (element, id) => element.shadowRoot.querySelector(`[data-id="${id}"]`);
const items = (element, id) => [...byId(element, id).querySelectorAll('li')].map((li) => li.textContent);

describe('c-score-card-view', () => {
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
    const element = await createView({ record: leadRecord });

    expect(byId(element, 'score').textContent).toBe('82');
    expect(byId(element, 'band').textContent).toBe('Band A');
    expect(byId(element, 'band').className).toContain('slds-theme_success');
    expect(byId(element, 'freshness').textContent).toContain('Scored 12 min ago');
    expect(byId(element, 'freshness').textContent).toContain('lgbm-2025.06.1');
    expect(byId(element, 'rules-badge')).toBeNull();
    const card = element.shadowRoot.querySelector('lightning-card');
    expect(card.title).toBe('Leadrank score');
    expect(card.iconName).toBe('standard:lead');
    expect(element.shadowRoot.textContent).toContain('Why it is high');
  });

  it('titles a deal card as such and reads the Opportunity fields it is given', async () => {
    const element = await createView({ kind: 'opportunity', fields: DEAL_FIELDS, record: opportunityRecord });

    const card = element.shadowRoot.querySelector('lightning-card');
    expect(card.title).toBe('Leadrank deal score');
    expect(card.iconName).toBe('standard:opportunity');
    expect(byId(element, 'score').textContent).toBe('71');
    expect(byId(element, 'band').textContent).toBe('Band B');
    expect(byId(element, 'freshness').textContent).toContain('lr-4be1c0de93a7f2d1');
    expect(element.shadowRoot.textContent).toContain('Why it is likely to be won');
    expect(items(element, 'positive-reasons')).toEqual([
      'Account industry: Technology',
      'Amount: 48,000',
      'Lead source: Partner Referral',
    ]);
    expect(items(element, 'negative-reasons')).toEqual([
      'No activity for 34 days',
      'Close date 62 days away',
    ]);
  });

  it('lists the top three positive and the negative reasons separately, strongest first', async () => {
    const element = await createView({ record: leadRecord });

    expect(items(element, 'positive-reasons')).toEqual([
      'Visited the pricing page 4 times this week',
      'Company of 1,200 employees in a target industry',
      'Referred by a partner',
    ]);
    expect(items(element, 'negative-reasons')).toEqual([
      'No reply to the last two emails',
      'Title outside the buying committee',
    ]);
  });

  it('marks a rules-based score with a badge and flags a stale score', async () => {
    const element = await createView({ record: leadRecordRules });

    expect(byId(element, 'rules-badge').textContent).toBe('Rules-based');
    expect(byId(element, 'freshness').textContent).toContain('Scored 3 days ago (stale)');
    expect(byId(element, 'band').className).toContain('slds-theme_warning');
  });

  it('shows the deal rules score with its badge and signed reasons', async () => {
    const element = await createView({
      kind: 'opportunity',
      fields: DEAL_FIELDS,
      record: opportunityRecordRules,
    });

    expect(byId(element, 'rules-badge').textContent).toBe('Rules-based');
    expect(byId(element, 'freshness').textContent).toContain('(stale)');
    expect(items(element, 'positive-reasons')).toEqual(['Past the qualification stage']);
    expect(items(element, 'negative-reasons')).toEqual(['No activity for over 30 days']);
  });

  it('draws the trend from the history, oldest to newest', async () => {
    const element = await createView({ record: leadRecord, history: leadHistory });

    const trend = byId(element, 'trend');
    expect(trend.getAttribute('aria-label')).toBe('Score trend over the last 3 changes: from 41 to 82');
    expect(trend.querySelector('polyline').getAttribute('points')).toBe('0,18.9 60,11.5 120,5.8');
  });

  it('shows no trend without two scored history rows, and keeps the score', async () => {
    const element = await createView({ record: leadRecord, history: [] });
    expect(byId(element, 'trend')).toBeNull();
    expect(byId(element, 'score').textContent).toBe('82');

    element.history = leadHistory.slice(0, 1);
    await flushPromises();
    expect(byId(element, 'trend')).toBeNull();
  });

  it('shows the next-best action and logs it through the function it was given', async () => {
    let finishLogging;
    const logAction = jest.fn(
      () =>
        new Promise((resolve) => {
          finishLogging = resolve;
        }),
    );
    const element = await createView({ record: leadRecord, logAction });
    const toastHandler = jest.fn();
    element.addEventListener(ShowToastEventName, toastHandler);

    expect(byId(element, 'next-best-action').querySelector('h3').textContent).toBe('Call now');
    expect(byId(element, 'rationale').textContent).toContain('call while interest is high');
    expect(byId(element, 'log-action').label).toBe('Log "Call now" as done');
    byId(element, 'log-action').click();
    await flushPromises();

    expect(logAction).toHaveBeenCalledWith('Call now');
    // While the call runs, a second click cannot log the action twice.
    expect(byId(element, 'log-action').disabled).toBe(true);
    expect(toastHandler).not.toHaveBeenCalled();

    finishLogging('00T5g00000LoGgEDAA');
    await flushPromises();
    const toast = toastHandler.mock.calls[0][0].detail;
    expect(toast.variant).toBe('success');
    expect(toast.message).toBe('"Call now" was logged as a completed task.');
    expect(byId(element, 'log-action').label).toBe('Logged');
    expect(byId(element, 'log-action').disabled).toBe(true);
  });

  it('shows an error toast and keeps the button enabled when logging fails', async () => {
    const logAction = jest
      .fn()
      .mockRejectedValue({ body: { message: 'Insufficient access to create tasks' } });
    const element = await createView({ record: leadRecord, logAction });
    const toastHandler = jest.fn();
    element.addEventListener(ShowToastEventName, toastHandler);

    byId(element, 'log-action').click();
    await flushPromises();

    const toast = toastHandler.mock.calls[0][0].detail;
    expect(toast.variant).toBe('error');
    expect(toast.message).toBe('Insufficient access to create tasks');
    expect(byId(element, 'log-action').disabled).toBe(false);
    expect(byId(element, 'log-action').label).toBe('Log "Call now" as done');
  });

  it('says when the lead or the deal has not been scored yet', async () => {
    const lead = await createView({ record: leadRecordNotScored });
    expect(byId(lead, 'not-scored').textContent).toContain('This lead has not been scored yet');
    expect(byId(lead, 'score')).toBeNull();

    const deal = await createView({
      kind: 'opportunity',
      fields: DEAL_FIELDS,
      record: opportunityRecordNotScored,
    });
    expect(byId(deal, 'not-scored').textContent).toContain('This opportunity has not been scored yet');
    expect(byId(deal, 'score')).toBeNull();
  });

  it('degrades to a notice when the user cannot read the score fields (optionalFields omit them)', async () => {
    const element = await createView({ record: { apiName: 'Lead', id: leadRecord.id, fields: {} } });

    expect(byId(element, 'no-access')).not.toBeNull();
    expect(byId(element, 'not-scored')).toBeNull();
    expect(byId(element, 'error')).toBeNull();
  });

  it('shows the record error', async () => {
    const element = await createView({
      recordError: { body: { message: 'You do not have access to this record' } },
    });

    expect(byId(element, 'error').textContent).toBe(
      'Could not load the score: You do not have access to this record',
    );
    expect(byId(element, 'score')).toBeNull();
  });

  it('is accessible', async () => {
    jest.useRealTimers();
    const element = await createView({ record: leadRecord, history: leadHistory });

    await expect(element).toBeAccessible();
  });
});
