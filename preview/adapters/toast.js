// lightning/platformShowToastEvent: the same event name and detail as on the platform; the preview app
// listens for it and shows an SLDS toast.
export const SHOW_TOAST_EVENT = 'lightning__showtoast';

export class ShowToastEvent extends CustomEvent {
  constructor(toast) {
    super(SHOW_TOAST_EVENT, {
      composed: true,
      cancelable: true,
      bubbles: true,
      detail: { title: '', message: '', variant: 'info', ...toast },
    });
  }
}
