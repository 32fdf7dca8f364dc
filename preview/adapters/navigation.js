/* global window */
// lightning/navigation for the preview: record-page navigation becomes a window event the preview app turns
// into "show this lead" (there is no Lightning router outside Salesforce).
const Navigate = Symbol('Navigate');
const GenerateUrl = Symbol('GenerateUrl');

export const NAVIGATE_EVENT = 'leadrankpreviewnavigate';

export function NavigationMixin(Base) {
  return class extends Base {
    [Navigate](pageReference) {
      window.dispatchEvent(new CustomEvent(NAVIGATE_EVENT, { detail: pageReference }));
    }

    [GenerateUrl](pageReference) {
      const recordId = pageReference && pageReference.attributes ? pageReference.attributes.recordId : '';
      return Promise.resolve(`#${recordId || ''}`);
    }
  };
}
NavigationMixin.Navigate = Navigate;
NavigationMixin.GenerateUrl = GenerateUrl;

/** CurrentPageReference wire: the preview has one page. */
export class CurrentPageReference {
  constructor(dataCallback) {
    this.dataCallback = dataCallback;
  }
  connect() {}
  disconnect() {}
  update() {
    this.dataCallback({
      type: 'standard__navItemPage',
      attributes: { apiName: 'Leadrank_Preview' },
      state: {},
    });
  }
}
