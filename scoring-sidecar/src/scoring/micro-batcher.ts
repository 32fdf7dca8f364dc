// Coalesces the rows of concurrent requests into one call: one onnxruntime `run` (or one blocked TreeSHAP
// pass) per batch instead of one per request keeps throughput up at peak. Hand-written: the generic
// batching libraries (dataloader) batch by key and resolve one value per key; here each caller submits a
// block of float rows and gets back its slice of the result.
// Adaptive, not timed: with no run in flight a row runs once the current I/O callbacks are done (the rows of
// requests whose store reads came back in the same turn go together), so a lone request at low load never waits
// for a window; while a run is in flight the rows arriving meanwhile wait for it and go as the next batch.

export type RowArray = Float32Array | Float64Array;

/** Runs `nRows` row-major rows; returns `outWidth` values per row. */
export type RunRows<R extends RowArray> = (rows: R, nRows: number) => Promise<Float64Array> | Float64Array;

export interface MicroBatcherOptions<R extends RowArray = Float32Array> {
  /**
   * Longest a row waits behind a run in flight before its batch runs anyway (0: only until that run ends).
   * With no run in flight a row never waits for a timer: its batch runs once the current I/O callbacks are done.
   */
  windowMs: number;
  /** A batch runs as soon as it holds this many rows. */
  maxRows: number;
  /** Values per row in the result: 1 for a probability (default), features + 1 for SHAP values. */
  outWidth?: number;
  /** The row array type (default Float32Array, what onnxruntime takes). */
  rowType?: new (length: number) => R;
  /** Called after each run with its row count (metrics). */
  onRun?: (rows: number) => void;
}

interface Pending<R extends RowArray> {
  rows: R;
  nRows: number;
  resolve: (p: Float64Array) => void;
  reject: (e: unknown) => void;
}

export class MicroBatcher<R extends RowArray = Float32Array> {
  private pending: Pending<R>[] = [];
  private pendingRows = 0;
  private timer: NodeJS.Timeout | NodeJS.Immediate | null = null;
  /** Runs started and not yet settled. */
  private inFlight = 0;
  private readonly outWidth: number;
  private readonly rowType: new (length: number) => R;

  constructor(
    private readonly run: RunRows<R>,
    private readonly width: number,
    private readonly opts: MicroBatcherOptions<R>,
  ) {
    this.outWidth = opts.outWidth ?? 1;
    this.rowType = opts.rowType ?? (Float32Array as unknown as new (length: number) => R);
  }

  /** The results of `nRows` row-major rows; resolved when the batch holding them has run. */
  submit(rows: R, nRows: number): Promise<Float64Array> {
    if (rows.length !== nRows * this.width) {
      return Promise.reject(new Error(`expected ${nRows} x ${this.width} values, got ${rows.length}`));
    }
    return new Promise((resolve, reject) => {
      this.pending.push({ rows, nRows, resolve, reject });
      this.pendingRows += nRows;
      if (this.pendingRows >= this.opts.maxRows) this.flush();
      else if (this.timer === null && this.inFlight === 0) this.timer = setImmediate(() => this.flush());
      else if (this.timer === null && this.opts.windowMs > 0)
        this.timer = setTimeout(() => this.flush(), this.opts.windowMs);
      // else: the run in flight flushes these rows when it settles
    });
  }

  private clearTimer(): void {
    if (this.timer === null) return;
    // clearTimeout and clearImmediate each ignore the other kind's handle: call both.
    clearTimeout(this.timer as NodeJS.Timeout);
    clearImmediate(this.timer as NodeJS.Immediate);
    this.timer = null;
  }

  private settled(): void {
    this.inFlight--;
    if (this.inFlight === 0 && this.pending.length > 0) {
      this.clearTimer();
      this.flush();
    }
  }

  private flush(): void {
    this.clearTimer();
    const batch = this.pending;
    const total = this.pendingRows;
    this.pending = [];
    this.pendingRows = 0;
    if (batch.length === 0) return;
    const single = batch.length === 1 ? batch[0] : undefined;
    const rows = single ? single.rows : new this.rowType(total * this.width);
    if (!single) {
      let offset = 0;
      for (const p of batch) {
        rows.set(p.rows, offset);
        offset += p.rows.length;
      }
    }
    this.opts.onRun?.(total);
    let run: Promise<Float64Array>;
    try {
      run = Promise.resolve(this.run(rows, total));
    } catch (error) {
      run = Promise.reject(error);
    }
    const out = this.outWidth;
    this.inFlight++;
    run
      .then(
        (results) => {
          let at = 0;
          for (const p of batch) {
            p.resolve(results.subarray(at, at + p.nRows * out));
            at += p.nRows * out;
          }
        },
        (error: unknown) => {
          for (const p of batch) p.reject(error);
        },
      )
      .finally(() => this.settled());
  }
}
