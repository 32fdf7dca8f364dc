import { LightningElement } from 'lwc';
import getStatus from '@salesforce/apex/LeadrankSetupController.getStatus';
import { LABELS, format } from 'c/leadrankLabels';
import { errorMessage } from 'c/leadrankFormat';

/** Admin setup page: sidecar health per region, model version, last cycle, issues, retention, namespace. */
export default class LeadrankSetup extends LightningElement {
  labels = LABELS;
  status;
  error;
  loading = false;

  connectedCallback() {
    this.load();
  }

  async load() {
    this.loading = true;
    try {
      this.status = await getStatus();
      this.error = undefined;
    } catch (error) {
      this.error = error;
    } finally {
      this.loading = false;
    }
  }

  get regions() {
    return ((this.status && this.status.regions) || []).map((region) => ({
      key: region.region,
      ok: region.ready,
      icon: region.ready ? 'utility:success' : 'utility:warning',
      text: region.ready
        ? format(LABELS.Setup_Region_Ready, region.region, region.modelVersion || '–')
        : format(LABELS.Setup_Region_Not_Ready, region.region, region.message || '–'),
    }));
  }

  get lastCycleText() {
    const s = this.status;
    return s && s.lastCycleId
      ? format(LABELS.Setup_Last_Cycle, s.lastCycleId, s.lastScoredAt)
      : LABELS.Setup_No_Cycle;
  }

  get issuesText() {
    return format(LABELS.Setup_Open_Issues, this.status ? this.status.openIssues : 0);
  }

  get retentionText() {
    return this.status && this.status.retentionScheduled
      ? LABELS.Setup_Retention_On
      : LABELS.Setup_Retention_Off;
  }

  get namespaceText() {
    const prefix = this.status && this.status.namespacePrefix;
    return format(LABELS.Setup_Namespace, prefix ? prefix.replace(/__$/, '') : LABELS.Setup_Unpackaged);
  }

  get errorText() {
    return this.error ? format(LABELS.Setup_Load_Failed, errorMessage(this.error)) : null;
  }

  handleRefresh() {
    this.load();
  }
}
