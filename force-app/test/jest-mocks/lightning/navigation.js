// lightning/navigation for jest, recording the last navigation so tests can assert it
// (the sfdx-lwc-jest stub navigates nowhere and records nothing).
import { createTestWireAdapter } from '@salesforce/sfdx-lwc-jest';

export const CurrentPageReference = createTestWireAdapter(jest.fn());

let lastNavigation = {};

const Navigate = Symbol('Navigate');
const GenerateUrl = Symbol('GenerateUrl');
export const NavigationMixin = (Base) =>
  class extends Base {
    [Navigate](pageReference, replace) {
      lastNavigation = { pageReference, replace };
    }

    [GenerateUrl](pageReference) {
      lastNavigation = { pageReference };
      return Promise.resolve('https://example.my.salesforce.com/lightning/r/Lead/view');
    }
  };
NavigationMixin.Navigate = Navigate;
NavigationMixin.GenerateUrl = GenerateUrl;

/** The page reference (and replace flag) of the last navigation. */
export const getNavigateCalledWith = () => lastNavigation;
