/* global document, window */
// The preview page's entry: synthetic shadow first (lightning-base-components need it and global SLDS CSS).
import '@lwc/synthetic-shadow';
import { createElement } from 'lwc';
import { publishScoreChange } from 'lightning/empApi';
import PreviewApp from 'preview/app';

document.getElementById('preview-root').appendChild(createElement('preview-app', { is: PreviewApp }));

// There is no event bus outside Salesforce: `leadrankPreview.publishScoreChange(leadIds)` delivers the
// Lead_Score_Changed__e message the platform would publish when a new score lands (a demo or a browser test calls
// it after a rescore), so the components' live refresh runs as in an org.
window.leadrankPreview = { publishScoreChange };
