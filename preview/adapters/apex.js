// @salesforce/apex for the preview: an Apex method is a callable wire adapter (imperative call or @wire),
// and refreshApex re-runs the call behind a wired value. Hand-written: LWC OSS ships no Apex emulation.
const refreshers = new WeakMap();

/** A value that is undefined in a wire config means "not ready yet", as on the platform: no call. */
function isReady(config) {
  return Object.values(config || {}).every((value) => value !== undefined);
}

/** `call(params)` returns a Promise of the method's result. */
export function apexMethod(call) {
  const method = (params) => call(params || {});

  method.adapter = class ApexWireAdapter {
    constructor(dataCallback) {
      this.dataCallback = dataCallback;
      this.config = undefined;
      this.generation = 0;
    }

    connect() {}

    disconnect() {
      this.generation += 1;
    }

    update(config) {
      this.config = config || {};
      if (isReady(this.config)) {
        this.fetch();
      }
    }

    fetch() {
      const generation = ++this.generation;
      return call(this.config).then(
        (data) => this.provide(generation, { data, error: undefined }),
        (error) => this.provide(generation, { data: undefined, error }),
      );
    }

    provide(generation, value) {
      if (generation !== this.generation) {
        return; // an answer for an older config
      }
      refreshers.set(value, () => this.fetch());
      this.dataCallback(value);
    }
  };

  return method;
}

export function refreshApex(wiredValue) {
  const refresh = wiredValue ? refreshers.get(wiredValue) : undefined;
  return refresh ? refresh() : Promise.resolve();
}
