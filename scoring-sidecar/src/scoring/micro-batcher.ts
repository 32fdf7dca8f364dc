// Coalesces the rows of concurrent requests into one call: one onnxruntime `run` (or one blocked TreeSHAP
// pass) per window instead of one per request keeps throughput up at peak. Hand-written: the generic
// batching libraries (dataloader) batch by key and resolve one value per key; here each caller submits a
// block of float rows and gets back its slice of the result.

export type RowArray = Float32Array | Float64Array;

/** Runs `nRows` row-major rows; returns `outWidth` values per row. */
export type RunRows<R extends RowArray> = (rows: R, nRows: number) => Promise<Float64Array> | Float64Array;

export interface MicroBatcherOptions<R extends RowArray = Float32Array> {
  /** Longest a row waits for company before the batch runs (0: once the current I/O callbacks are done). */
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
      else if (this.timer === null)
        this.timer =
          this.opts.windowMs > 0
            ? setTimeout(() => this.flush(), this.opts.windowMs)
            : setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    if (this.timer !== null) {
      if (this.opts.windowMs > 0) clearTimeout(this.timer as NodeJS.Timeout);
      else clearImmediate(this.timer as NodeJS.Immediate);
    }
    this.timer = null;
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
    run.then(
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
    );
  }
}
