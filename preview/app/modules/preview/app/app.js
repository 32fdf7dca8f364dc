/* global window */
// A rep's day outside Salesforce: pick a rep, work the ranked list, open a lead for its card and history, and
// open one of the rep's deals for the Opportunity record page's score card (`?deal=<006…>` opens one directly).
import { LightningElement } from 'lwc';
import { orgQuery } from '../../../../adapters/http';
import { NAVIGATE_EVENT } from '../../../../adapters/navigation';
import { getRunningUserId, setRunningUserId } from '../../../../adapters/session';
import { SHOW_TOAST_EVENT } from '../../../../adapters/toast';

const TOAST_MS = 6000;
const TOAST_THEMES = {
  success: 'slds-theme_success',
  error: 'slds-theme_error',
  warning: 'slds-theme_warning',
  info: 'slds-theme_info',
};

export default class PreviewApp extends LightningElement {
  reps = [];
  repsError;
  repId = getRunningUserId();
  leadId;
  deals = [];
  dealsError;
  dealId = new URL(window.location.href).searchParams.get('deal') || undefined;
  toasts = [];
  toastCount = 0;

  connectedCallback() {
    this.onNavigate = (event) => this.openLead(event.detail);
    this.onToast = (event) => this.showToast(event.detail);
    window.addEventListener(NAVIGATE_EVENT, this.onNavigate);
    window.addEventListener(SHOW_TOAST_EVENT, this.onToast);
    this.loadReps();
    if (this.repId) {
      this.loadDeals(this.repId);
    }
  }

  disconnectedCallback() {
    window.removeEventListener(NAVIGATE_EVENT, this.onNavigate);
    window.removeEventListener(SHOW_TOAST_EVENT, this.onToast);
  }

  async loadReps() {
    try {
      // Reps are the users who own open leads; the integration user owns nothing worth working.
      const users = await orgQuery(
        'SELECT Id, Name, Territory__c FROM User WHERE IsActive = true ORDER BY Name LIMIT 200',
      );
      this.reps = users.filter((user) => user.Name !== 'Leadrank Integration');
      if (!this.repId && this.reps[0]) {
        this.selectRep(this.reps[0].Id);
      }
    } catch (error) {
      this.repsError = error && error.body ? error.body.message : String(error);
    }
  }

  /** The rep's open deals, best scored first (as the batch wrote them back), for the deal panel. */
  async loadDeals(repId) {
    try {
      this.deals = await orgQuery(
        'SELECT Id, Name, Opportunity_Score__c FROM Opportunity WHERE IsClosed = false AND OwnerId = ' +
          `'${repId.replace(/[^0-9A-Za-z]/g, '')}' ORDER BY Opportunity_Score__c DESC LIMIT 8`,
      );
      this.dealsError = undefined;
    } catch (error) {
      this.dealsError = error && error.body ? error.body.message : String(error);
    }
  }

  get dealOptions() {
    return this.deals.map((deal) => ({ ...deal, selected: String(deal.Id === this.dealId) }));
  }

  get hasDeal() {
    return Boolean(this.dealId);
  }

  handleDealOpen(event) {
    this.dealId = event.currentTarget.dataset.id;
    const url = new URL(window.location.href);
    url.searchParams.set('deal', this.dealId);
    window.history.replaceState(null, '', url);
  }

  get repOptions() {
    return this.reps.map((rep) => ({
      value: rep.Id,
      label: rep.Territory__c ? `${rep.Name} (${rep.Territory__c})` : rep.Name,
      selected: rep.Id === this.repId,
    }));
  }

  /** One entry keyed by the rep: a new rep re-creates the worklist, as a new login would. */
  get repKeys() {
    return this.repId ? [this.repId] : [];
  }

  get hasLead() {
    return Boolean(this.leadId);
  }

  handleRepChange(event) {
    this.selectRep(event.target.value);
  }

  selectRep(repId) {
    setRunningUserId(repId);
    this.repId = repId;
    this.leadId = undefined;
    this.loadDeals(repId);
    const url = new URL(window.location.href);
    url.searchParams.set('rep', repId);
    window.history.replaceState(null, '', url);
  }

  openLead(pageReference) {
    const attributes = pageReference && pageReference.attributes;
    if (attributes && attributes.recordId) {
      this.leadId = attributes.recordId;
    }
  }

  showToast(detail) {
    const id = ++this.toastCount;
    const toast = {
      id,
      title: detail.title,
      message: detail.message,
      className: `slds-notify slds-notify_toast ${TOAST_THEMES[detail.variant] || TOAST_THEMES.info}`,
    };
    this.toasts = [...this.toasts, toast];
    window.setTimeout(() => this.dismiss(id), TOAST_MS);
  }

  handleDismiss(event) {
    this.dismiss(Number(event.currentTarget.dataset.id));
  }

  dismiss(id) {
    this.toasts = this.toasts.filter((toast) => toast.id !== id);
  }
}
