// lightning/empApi for the local preview: the same API, fed by the preview page itself (there is no
// CometD endpoint outside Salesforce). `publishScoreChange(leadIds)` delivers a Lead_Score_Changed__e
// message to the subscribed components, as the platform does when a score lands.
const subscribers = new Map();
let nextId = 1;

export function subscribe(channel, replayId, onMessage) {
  const subscription = { id: nextId++, channel, replayId };
  subscribers.set(subscription.id, { channel, onMessage });
  return Promise.resolve(subscription);
}

export function unsubscribe(subscription, callback) {
  subscribers.delete(subscription.id);
  if (callback) callback({ successful: true });
  return Promise.resolve(true);
}

export function onError() {}

export function setDebugFlag() {
  return Promise.resolve();
}

export function isEmpEnabled() {
  return Promise.resolve(true);
}

/** Delivers a score-changed event naming `leadIds` to every subscriber of its channel. */
export function publishScoreChange(leadIds) {
  const message = { data: { payload: { Lead_Ids__c: leadIds.join(','), Lead_Count__c: leadIds.length } } };
  for (const { channel, onMessage } of subscribers.values()) {
    if (channel.endsWith('Lead_Score_Changed__e')) onMessage(message);
  }
  return subscribers.size;
}

// The preview page (or a person at the browser console) raises score events through this hook.
globalThis.leadrankPreview = { ...(globalThis.leadrankPreview || {}), publishScoreChange };
