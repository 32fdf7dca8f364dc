/* global document */
// The preview server injects base URLs and a short-lived demo token into the page as JSON (no inline script,
// no secret in the bundle).
let cached;

/** { sidecarBase, orgBase, token, initialRepId } from <script id="leadrank-preview-config">. */
export function previewConfig() {
  if (!cached) {
    const element = document.getElementById('leadrank-preview-config');
    cached = JSON.parse(element ? element.textContent : '{}');
  }
  return cached;
}
