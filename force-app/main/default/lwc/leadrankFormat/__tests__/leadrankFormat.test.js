import {
  bandClass,
  errorMessage,
  isStale,
  parseReasons,
  splitNextBestAction,
  timeAgo,
  trendPoints,
} from 'c/leadrankFormat';

const NOW = Date.parse('2025-06-02T12:00:00.000Z');

describe('c/leadrankFormat', () => {
  it('splits reasons by sign, keeping their order and points', () => {
    const { positive, negative } = parseReasons(
      '+15 Referred\n\n-5 Opted out\n\u2212 Quiet for 30 days\nUnsigned',
    );
    expect(positive.map((r) => [r.text, r.points])).toEqual([
      ['Referred', 15],
      ['Unsigned', null],
    ]);
    expect(negative.map((r) => [r.text, r.points])).toEqual([
      ['Opted out', 5],
      ['Quiet for 30 days', null],
    ]);
    expect(parseReasons(null)).toEqual({ positive: [], negative: [] });
  });

  it('splits the next-best action at the first colon only', () => {
    expect(splitNextBestAction('Call now: 82: high intent')).toEqual({
      label: 'Call now',
      rationale: '82: high intent',
    });
    expect(splitNextBestAction('Just do it')).toEqual({ label: null, rationale: 'Just do it' });
    expect(splitNextBestAction('')).toBeNull();
  });

  it('describes how long ago a score was computed', () => {
    expect(timeAgo('2025-06-02T11:59:30.000Z', NOW)).toBe('just now');
    expect(timeAgo('2025-06-02T11:48:00.000Z', NOW)).toBe('12 min ago');
    expect(timeAgo('2025-06-02T09:00:00.000Z', NOW)).toBe('3 h ago');
    expect(timeAgo('2025-06-01T11:00:00.000Z', NOW)).toBe('1 day ago');
    expect(timeAgo('2025-05-20T12:00:00.000Z', NOW)).toBe('13 days ago');
    expect(timeAgo(null, NOW)).toBeNull();
    expect(timeAgo('yesterday', NOW)).toBeNull();
  });

  it('calls a score stale after one day, or when it has no time', () => {
    expect(isStale('2025-06-01T12:00:00.000Z', NOW)).toBe(false);
    expect(isStale('2025-06-01T11:59:59.000Z', NOW)).toBe(true);
    expect(isStale(undefined, NOW)).toBe(true);
  });

  it('maps scores onto the trend box, clamping out-of-range values', () => {
    expect(trendPoints([0, 50, 100], 100, 20)).toBe('0,20 50,10 100,0');
    expect(trendPoints([-10, 120], 10, 10)).toBe('0,10 10,0');
    expect(trendPoints([70], 100, 20)).toBe('');
  });

  it('gives each band its badge class', () => {
    expect(bandClass('A')).toContain('slds-theme_success');
    expect(bandClass('D')).toContain('slds-theme_error');
    expect(bandClass('Z')).toBe('slds-badge');
  });

  it('reads Apex, UI API and JavaScript errors', () => {
    expect(errorMessage({ body: { message: 'Apex failed' } })).toBe('Apex failed');
    expect(errorMessage({ body: [{ message: 'a' }, { message: 'b' }] })).toBe('a, b');
    expect(errorMessage([new Error('x'), { statusText: 'Server Error' }])).toBe('x, Server Error');
    expect(errorMessage(undefined)).toBe('');
  });
});
