// Coalesces the rows of concurrent requests into one model call: one onnxruntime `run` per window instead
// of one per request keeps throughput up at peak. Hand-written: the generic batching libraries (dataloader)
// batch by key and resolve one value per key; here each caller submits a block of float rows.

export type PredictRows = (rows: Float32Array, nRows: number) => Promise<Float64Array>;

export interface MicroBatcherOptions {
  /** Longest a row waits for company before the batch runs (0: at the next turn of the event loop). */
  windowMs: number;
  /** A batch runs as soon as it holds this many rows. */
  maxRows: number;
  /** Called after each run with its row count (metrics). */
  onRun?: (rows: number) => void;
}

interface Pending {
  rows: Float32Array;
  nRows: number;
  resolve: (p: Float64Array) => void;
  reject: (e: unknown) => void;
}

export class MicroBatcher {
  private pending: Pending[] = [];
  private pendingRows = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly predict: PredictRows,
    private readonly width: number,
    private readonly opts: MicroBatcherOptions,
  ) {}

  /** Probabilities of `nRows` row-major rows; resolved when the batch holding them has run. */
  submit(rows: Float32Array, nRows: number): Promise<Float64Array> {
    if (rows.length !== nRows * this.width) {
      return Promise.reject(new Error(`expected ${nRows} x ${this.width} values, got ${rows.length}`));
    }
    return new Promise((resolve, reject) => {
      this.pending.push({ rows, nRows, resolve, reject });
      this.pendingRows += nRows;
      if (this.pendingRows >= this.opts.maxRows) this.flush();
      else if (this.timer === null) this.timer = setTimeout(() => this.flush(), this.opts.windowMs);
    });
  }

  private flush(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    const batch = this.pending;
    const total = this.pendingRows;
    this.pending = [];
    this.pendingRows = 0;
    if (batch.length === 0) return;
    const single = batch.length === 1 ? batch[0] : undefined;
    const rows = single ? single.rows : new Float32Array(total * this.width);
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
      run = this.predict(rows, total);
    } catch (error) {
      run = Promise.reject(error);
    }
    run.then(
      (probabilities) => {
        let at = 0;
        for (const p of batch) {
          p.resolve(probabilities.subarray(at, at + p.nRows));
          at += p.nRows;
        }
      },
      (error: unknown) => {
        for (const p of batch) p.reject(error);
      },
    );
  }
}
