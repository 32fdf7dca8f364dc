import { createElement } from 'lwc';
import LeadrankSetup from 'c/leadrankSetup';
import getStatus from '@salesforce/apex/LeadrankSetupController.getStatus';

jest.mock('@salesforce/apex/LeadrankSetupController.getStatus', () => ({ default: jest.fn() }), {
  virtual: true,
});

const flushPromises = () => new Promise((resolve) => process.nextTick(resolve));
const byId = (element, id) => element.shadowRoot.querySelector(`[data-id="${id}"]`);
const STATUS = {
  regions: [
    { region: 'US', reachable: true, ready: true, modelVersion: 'lr-5c3e42f3' },
    { region: 'EU', reachable: false, ready: false, message: 'Leadrank sidecar answered HTTP 503' },
  ],
  lastCycleId: 'cycle-42',
  lastScoredAt: '2026-03-01T10:00:00.000Z',
  openIssues: 3,
  retentionScheduled: false,
  namespacePrefix: 'lrk__',
};

function createSetup() {
  const element = createElement('c-leadrank-setup', { is: LeadrankSetup });
  document.body.appendChild(element);
  return element;
}

describe('c-leadrank-setup', () => {
  afterEach(() => {
    while (document.body.firstChild) document.body.removeChild(document.body.firstChild);
    jest.clearAllMocks();
  });

  it('shows each region, the last cycle, the open issues, retention and the namespace', async () => {
    getStatus.mockResolvedValue(STATUS);
    const element = createSetup();
    await flushPromises();

    const regions = [...element.shadowRoot.querySelectorAll('[data-id="region"]')].map((li) =>
      li.textContent.trim(),
    );
    expect(regions).toEqual([
      'US: ready, model lr-5c3e42f3',
      'EU: not ready: Leadrank sidecar answered HTTP 503',
    ]);
    expect(byId(element, 'last-cycle').textContent).toBe(
      'Last scoring cycle: cycle-42 at 2026-03-01T10:00:00.000Z',
    );
    expect(byId(element, 'issues').textContent).toBe('Open scoring issues: 3');
    expect(byId(element, 'retention').textContent).toContain('not scheduled');
    expect(byId(element, 'namespace').textContent).toBe('Package namespace: lrk');
  });

  it('shows the error and checks again on request', async () => {
    getStatus
      .mockRejectedValueOnce({ body: { message: 'Insufficient access' } })
      .mockResolvedValueOnce(STATUS);
    const element = createSetup();
    await flushPromises();
    expect(byId(element, 'error').textContent).toBe('Could not load the setup status: Insufficient access');

    byId(element, 'refresh').click();
    await flushPromises();
    expect(byId(element, 'error')).toBeNull();
    expect(getStatus).toHaveBeenCalledTimes(2);
  });

  it('is accessible', async () => {
    getStatus.mockResolvedValue(STATUS);
    const element = createSetup();
    await flushPromises();
    await expect(element).toBeAccessible();
  });
});
