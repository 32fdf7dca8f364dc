// Formatting shared by the Leadrank components. No Salesforce imports, so a local preview can reuse it
// with other data adapters.

import { LABELS, format } from 'c/leadrankLabels';

const MINUTE_MS = 60 * 1000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;

const BAND_CLASSES = {
  A: 'slds-badge slds-theme_success',
  B: 'slds-badge slds-badge_inverse',
  C: 'slds-badge slds-theme_warning',
  D: 'slds-badge slds-theme_error',
};

/** SLDS classes for a band badge; unknown bands get the plain badge. */
export function bandClass(band) {
  return BAND_CLASSES[band] || 'slds-badge';
}

/**
 * Score_Reasons__c holds one reason per line, strongest first, each starting with its sign and
 * optionally its points ("+15 Referred by a partner", "- No reply to last email"). Unsigned lines count
 * as positive.
 */
export function parseReasons(text) {
  const positive = [];
  const negative = [];
  (text || '')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.length > 0)
    .forEach((line, index) => {
      const match = /^([+\-\u2212])\s*(\d+(?:\.\d+)?)?\s*(.*)$/.exec(line);
      const isNegative = match !== null && match[1] !== '+';
      const reason = {
        key: `reason-${index}`,
        text: match ? match[3] : line,
        points: match && match[2] ? Number(match[2]) : null,
      };
      (isNegative ? negative : positive).push(reason);
    });
  return { positive, negative };
}

/** Next_Best_Action__c is "<label>: <rationale>"; text without a colon is all rationale. */
export function splitNextBestAction(text) {
  if (!text) {
    return null;
  }
  const colon = text.indexOf(': ');
  if (colon < 0) {
    return { label: null, rationale: text };
  }
  return { label: text.slice(0, colon), rationale: text.slice(colon + 2) };
}

/** "just now", "12 min ago", "3 h ago", "2 days ago"; null for a missing or invalid time. */
export function timeAgo(isoTime, now = Date.now()) {
  const time = isoTime ? Date.parse(isoTime) : NaN;
  if (Number.isNaN(time)) {
    return null;
  }
  const elapsed = Math.max(0, now - time);
  if (elapsed < MINUTE_MS) {
    return LABELS.Just_Now;
  }
  if (elapsed < HOUR_MS) {
    return format(LABELS.Minutes_Ago, Math.floor(elapsed / MINUTE_MS));
  }
  if (elapsed < DAY_MS) {
    return format(LABELS.Hours_Ago, Math.floor(elapsed / HOUR_MS));
  }
  const days = Math.floor(elapsed / DAY_MS);
  return days === 1 ? LABELS.One_Day_Ago : format(LABELS.Days_Ago, days);
}

/** True when the score is older than a day (the same rule as the Score_Is_Stale__c formula). */
export function isStale(isoTime, now = Date.now()) {
  const time = isoTime ? Date.parse(isoTime) : NaN;
  return Number.isNaN(time) || now - time > DAY_MS;
}

/**
 * SVG polyline points for scores (0-100) oldest to newest, in a width x height box.
 * Fewer than two scores draw nothing.
 */
export function trendPoints(scores, width, height) {
  if (!scores || scores.length < 2) {
    return '';
  }
  const step = width / (scores.length - 1);
  return scores
    .map((score, index) => {
      const x = Math.round(index * step * 10) / 10;
      const y = Math.round((height - (Math.min(100, Math.max(0, score)) / 100) * height) * 10) / 10;
      return `${x},${y}`;
    })
    .join(' ');
}

/** A readable message from an Apex, UI API or JavaScript error (or a list of them). */
export function errorMessage(error) {
  const errors = Array.isArray(error) ? error : [error];
  return errors
    .filter((e) => Boolean(e))
    .map((e) => {
      if (e.body && Array.isArray(e.body)) {
        return e.body.map((b) => b.message).join(', ');
      }
      if (e.body && typeof e.body.message === 'string') {
        return e.body.message;
      }
      return typeof e.message === 'string' ? e.message : e.statusText || LABELS.Unknown_Error;
    })
    .join(', ');
}
