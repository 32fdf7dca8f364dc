import { LightningElement, wire } from 'lwc';
import { NavigationMixin } from 'lightning/navigation';
import { refreshApex } from '@salesforce/apex';
import getWorklist from '@salesforce/apex/WorklistController.getWorklist';
import getRulesWorklist from '@salesforce/apex/WorklistController.getRulesWorklist';
import { bandClass, errorMessage, parseReasons, splitNextBestAction } from 'c/leadrankFormat';
import { subscribeToScoreChanges } from 'c/leadScoreEvents';
import { LABELS, format } from 'c/leadrankLabels';

/** Score events arrive in bursts (one per 200 leads of a Bulk write-back): refresh once per burst. */
export const REFRESH_DEBOUNCE_MS = 2000;

/** The running rep's ranked worklist, best lead first; keyboard: Up/Down move between leads. */
export default class RankedLeadList extends NavigationMixin(LightningElement) {
  labels = LABELS;
  worklist;
  error;
  fallbackItems;
  expandedIds = [];
  refreshing = false;
  wiredResult;
  stopListening;
  refreshTimer;

  connectedCallback() {
    // Any score change may reorder the list: re-rank after a burst of events settles.
    this.stopListening = subscribeToScoreChanges(() => this.scheduleRefresh());
  }

  disconnectedCallback() {
    if (this.stopListening) {
      this.stopListening();
    }
    clearTimeout(this.refreshTimer);
  }

  scheduleRefresh() {
    clearTimeout(this.refreshTimer);
    // eslint-disable-next-line @lwc/lwc/no-async-operation -- debounce: one refresh per burst of events
    this.refreshTimer = setTimeout(() => {
      if (this.wiredResult) {
        this.handleRefresh();
      }
    }, REFRESH_DEBOUNCE_MS);
  }

  @wire(getWorklist)
  wiredWorklist(result) {
    this.wiredResult = result;
    const { data, error } = result;
    if (data) {
      this.worklist = data;
      this.error = undefined;
      this.fallbackItems = undefined;
    } else if (error) {
      this.worklist = undefined;
      this.error = error;
      this.loadRulesOrder();
    }
  }

  /** Even when the worklist call fails, the rep still gets the stored rules-based order. */
  async loadRulesOrder() {
    try {
      const rules = await getRulesWorklist();
      this.fallbackItems = rules ? rules.items : [];
    } catch {
      this.fallbackItems = [];
    }
  }

  get loading() {
    return !this.worklist && !this.error;
  }

  get errorText() {
    return this.error ? errorMessage(this.error) : null;
  }

  get loadFailedText() {
    return format(LABELS.Worklist_Load_Failed, this.errorText);
  }

  get notice() {
    return this.worklist ? this.worklist.notice : null;
  }

  get rawItems() {
    if (this.worklist) {
      return this.worklist.items || [];
    }
    return this.fallbackItems || [];
  }

  get items() {
    return this.rawItems.map((item) => {
      const expanded = this.expandedIds.includes(item.leadId);
      const next = splitNextBestAction(item.nextBestAction);
      const reasons = parseReasons((item.reasons || []).join('\n'));
      return {
        ...item,
        key: item.leadId,
        reasonsId: `reasons-${item.leadId}`,
        expanded,
        ariaExpanded: String(expanded),
        toggleLabel: expanded ? LABELS.Hide_Reasons : LABELS.Show_Reasons,
        toggleAssistive: format(
          LABELS.Toggle_For,
          expanded ? LABELS.Hide_Reasons : LABELS.Show_Reasons,
          item.name,
        ),
        toggleIcon: expanded ? 'utility:chevrondown' : 'utility:chevronright',
        bandBadgeClass: bandClass(item.band),
        scoreText: item.score === null || item.score === undefined ? '–' : String(item.score),
        actionLabel: next ? next.label || next.rationale : null,
        actionRationale: next && next.label ? next.rationale : null,
        reasonList: [...reasons.positive, ...reasons.negative].map((reason) => ({
          ...reason,
          text: `${reasons.negative.includes(reason) ? '−' : '+'} ${reason.text}`,
        })),
        isRules: item.source === 'Rules',
      };
    });
  }

  get hasItems() {
    return this.rawItems.length > 0;
  }

  get isEmpty() {
    return !this.loading && !this.hasItems && (Boolean(this.worklist) || this.fallbackItems !== undefined);
  }

  handleToggle(event) {
    const leadId = event.currentTarget.dataset.id;
    this.expandedIds = this.expandedIds.includes(leadId)
      ? this.expandedIds.filter((id) => id !== leadId)
      : [...this.expandedIds, leadId];
  }

  handleOpen(event) {
    event.preventDefault();
    this[NavigationMixin.Navigate]({
      type: 'standard__recordPage',
      attributes: { recordId: event.currentTarget.dataset.id, objectApiName: 'Lead', actionName: 'view' },
    });
  }

  /** Up/Down arrows move focus between the leads' name links. */
  handleKeydown(event) {
    if (event.key !== 'ArrowDown' && event.key !== 'ArrowUp') {
      return;
    }
    const links = [...this.template.querySelectorAll('a[data-role="lead-link"]')];
    const current = links.indexOf(event.target);
    if (current < 0) {
      return;
    }
    const next = event.key === 'ArrowDown' ? current + 1 : current - 1;
    if (next >= 0 && next < links.length) {
      event.preventDefault();
      links[next].focus();
    }
  }

  async handleRefresh() {
    this.refreshing = true;
    try {
      await refreshApex(this.wiredResult);
    } finally {
      this.refreshing = false;
    }
  }
}
