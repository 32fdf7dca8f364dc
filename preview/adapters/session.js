// The "running user" of the preview: the rep picked on the page stands in for UserInfo.getUserId().
import { previewConfig } from './config';

let runningUserId;

export function getRunningUserId() {
  return runningUserId === undefined ? previewConfig().initialRepId || null : runningUserId;
}

export function setRunningUserId(userId) {
  runningUserId = userId;
}
