/* global document */
// The preview page's entry: synthetic shadow first (lightning-base-components need it and global SLDS CSS).
import '@lwc/synthetic-shadow';
import { createElement } from 'lwc';
import PreviewApp from 'preview/app';

document.getElementById('preview-root').appendChild(createElement('preview-app', { is: PreviewApp }));
