// Where checkpoints are kept: a second store the audit writer does not write to. Redis (REDIS_URL, a list per
// log) or a directory given by config (LEADRANK_AUDIT_ANCHOR_DIR; refused inside the audit root). Both only
// append: a checkpoint is added when its number is the next one, never replaced.
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative, resolve, isAbsolute } from 'node:path';
import { Redis } from 'ioredis';
import type { Checkpoint } from './anchor.js';

export interface AnchorStore {
  /** Where the checkpoints are, for messages (no credentials). */
  readonly description: string;
  /** Every checkpoint, oldest first, as stored (verified by the reader). */
  list(): Promise<unknown[]>;
  /** Adds `checkpoint`; refused unless it is number list().length + 1 (two anchoring runs raced). */
  append(checkpoint: Checkpoint): Promise<void>;
  close(): Promise<void>;
}

const CHECKPOINT_FILE = /^checkpoint-(\d{8})\.json$/;

class FileAnchorStore implements AnchorStore {
  readonly description: string;
  constructor(private readonly dir: string) {
    this.description = `directory ${dir}`;
  }

  async list(): Promise<unknown[]> {
    let files: string[];
    try {
      files = (await readdir(this.dir)).filter((f) => CHECKPOINT_FILE.test(f)).sort();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const out: unknown[] = [];
    for (const file of files) {
      const text = await readFile(join(this.dir, file), 'utf8');
      try {
        out.push(JSON.parse(text));
      } catch {
        throw new Error(`${join(this.dir, file)}: not valid JSON`);
      }
    }
    return out;
  }

  async append(checkpoint: Checkpoint): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    const count = (await readdir(this.dir)).filter((f) => CHECKPOINT_FILE.test(f)).length;
    if (checkpoint.number !== count + 1)
      throw new Error(`checkpoint ${checkpoint.number} is not the next one (${count} stored)`);
    const file = join(this.dir, `checkpoint-${String(checkpoint.number).padStart(8, '0')}.json`);
    // 'wx': never replace a checkpoint, even if two runs race to the same number.
    await writeFile(file, `${JSON.stringify(checkpoint)}\n`, { flag: 'wx', mode: 0o644 });
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

// Append only when the list holds exactly number-1 checkpoints: one round trip, atomic on the server.
const APPEND_NEXT = `if redis.call('LLEN', KEYS[1]) ~= tonumber(ARGV[1]) - 1 then return -1 end
return redis.call('RPUSH', KEYS[1], ARGV[2])`;

class RedisAnchorStore implements AnchorStore {
  readonly description: string;
  private readonly redis: Redis;
  constructor(
    url: string,
    private readonly key: string,
  ) {
    this.redis = new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 2 });
    this.description = `Redis list ${key}`;
  }

  async list(): Promise<unknown[]> {
    const items = await this.redis.lrange(this.key, 0, -1);
    return items.map((text, i) => {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        throw new Error(`${this.description} item ${i}: not valid JSON`);
      }
    });
  }

  async append(checkpoint: Checkpoint): Promise<void> {
    const result = await this.redis.eval(
      APPEND_NEXT,
      1,
      this.key,
      String(checkpoint.number),
      JSON.stringify(checkpoint),
    );
    if (result === -1) throw new Error(`checkpoint ${checkpoint.number} is not the next one in ${this.key}`);
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

export interface AnchorStoreOptions {
  /** The audit root: a checkpoint directory inside it would be within the writer's reach, and is refused. */
  auditDir: string;
  /** Names the log in the store (one list / sub-directory per log), default "default". */
  name?: string;
  anchorDir?: string | undefined;
  redisUrl?: string | undefined;
  redisPrefix?: string | undefined;
}

/** The directory store when `anchorDir` is given, else Redis when `redisUrl` is, else an error saying so. */
export function openAnchorStore(opts: AnchorStoreOptions): AnchorStore {
  const name = opts.name ?? 'default';
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(name)) throw new Error(`anchor log name "${name}": use [A-Za-z0-9._-]`);
  if (opts.anchorDir) {
    const rel = relative(resolve(opts.auditDir), resolve(opts.anchorDir));
    if (rel === '' || (!rel.startsWith('..') && !isAbsolute(rel)))
      throw new Error(
        `the anchor directory ${opts.anchorDir} is inside the audit directory ${opts.auditDir}: put it where the writer cannot write`,
      );
    return new FileAnchorStore(join(opts.anchorDir, name));
  }
  if (opts.redisUrl)
    return new RedisAnchorStore(opts.redisUrl, `${opts.redisPrefix ?? 'lr'}:audit-anchors:${name}`);
  throw new Error('no anchor store: set LEADRANK_AUDIT_ANCHOR_DIR (or --anchor-dir) or REDIS_URL');
}
