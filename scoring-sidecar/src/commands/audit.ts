// `leadrank audit verify | show <leadId> | anchor | keygen | import-keys | stats`. Output is for a person at a terminal; it
// holds lead ids, scores and reason texts, never names or contact details (the log has none).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import {
  anchorAuditLog,
  auditHistory,
  auditErasure,
  auditLogStats,
  defaultKeyDir,
  generateAnchorKeyPair,
  keyDatabaseUrlOf,
  openDatabaseKeyStore,
  localEd25519Signer,
  openAnchorStore,
  problemText,
  publicKeyFromPem,
  verifyAuditLog,
  type AnchorStore,
  type AuditEntry,
} from '../audit/index.js';

const defaultDir = () => process.env.LEADRANK_AUDIT_DIR ?? 'var/audit';

type Row = AuditEntry & { seq: number; chain?: string };

interface AnchorOpts {
  dir: string;
  anchorDir?: string;
  name: string;
}

function anchorStoreOf(opts: AnchorOpts): AnchorStore {
  return openAnchorStore({
    auditDir: opts.dir,
    name: opts.name,
    anchorDir: opts.anchorDir ?? process.env.LEADRANK_AUDIT_ANCHOR_DIR,
    redisUrl: process.env.REDIS_URL,
    redisPrefix: process.env.LEADRANK_REDIS_PREFIX?.trim() || undefined,
  });
}

/** A PEM from a file option, else from the environment variable (the PEM text itself). */
function pemOf(file: string | undefined, envName: string): string | null {
  if (file) return readFileSync(file, 'utf8');
  return process.env[envName]?.trim() ? process.env[envName]! : null;
}

function withAnchorOptions(cmd: Command): Command {
  return cmd
    .option(
      '--anchor-dir <dir>',
      'checkpoint directory outside the audit dir (env LEADRANK_AUDIT_ANCHOR_DIR; else Redis at REDIS_URL)',
    )
    .option(
      '--name <name>',
      "the log's name in the anchor store (env LEADRANK_AUDIT_LOG_NAME)",
      process.env.LEADRANK_AUDIT_LOG_NAME ?? 'default',
    );
}

/** A plain-text table (hand-written: five columns do not need a table dependency). */
export function formatHistory(rows: readonly Row[]): string {
  const chains = rows.some((r) => r.chain);
  // Batch scores are audited too (origin "batch", named by their cycle): then say where each score came from.
  const origins = rows.some((r) => r.origin === 'batch');
  const header = [
    'SEQ',
    ...(chains ? ['CHAIN'] : []),
    ...(origins ? ['ORIGIN'] : []),
    'SCORED AT',
    'SCORE',
    'BAND',
    'P',
    'SOURCE',
    'MODEL',
    'NEXT ACTION',
  ];
  const cells = rows.map((r) => [
    String(r.seq),
    ...(chains ? [r.chain || '-'] : []),
    ...(origins ? [r.origin === 'batch' ? `batch ${r.cycleId ?? ''}`.trim() : 'online'] : []),
    r.scoredAt,
    String(r.score),
    r.band,
    r.probability.toFixed(3),
    r.fallbackReason ? `${r.source} (${r.fallbackReason})` : r.source,
    r.modelVersion,
    r.nextBestAction ?? '-',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) =>
    c
      .map((v, i) => v.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  const out = [line(header)];
  rows.forEach((r, i) => {
    out.push(line(cells[i]!));
    for (const reason of r.reasons) out.push(`${' '.repeat(widths[0]! + 2)}${reason}`);
  });
  return out.join('\n');
}

export function registerAuditCommands(program: Command): void {
  const audit = program.command('audit').description('the hash-chained score audit log');
  withAnchorOptions(
    audit
      .command('verify')
      .description(
        'check every chain (regions, worker-<i>/ and batch/ folders) line by line and against the last signed checkpoint; exit 1 naming the first problem',
      )
      .option('--dir <dir>', 'audit log root (env LEADRANK_AUDIT_DIR)', defaultDir())
      .option('--public-key <file>', 'Ed25519 public key PEM (env LEADRANK_AUDIT_PUBLIC_KEY: the PEM text)'),
  ).action(async (opts: AnchorOpts & { publicKey?: string }) => {
    const pem = pemOf(opts.publicKey, 'LEADRANK_AUDIT_PUBLIC_KEY');
    let store: AnchorStore | null = null;
    try {
      store = pem ? anchorStoreOf(opts) : null;
      const result = await verifyAuditLog(
        opts.dir,
        pem && store ? { anchors: { store, publicKey: publicKeyFromPem(pem) } } : {},
      );
      if (result.ok) {
        const chains = result.chains.map((c) => c.chain || '.').join(', ');
        console.log(
          `ok: ${result.entries} entries in ${result.segments} segments of ${result.chains.length} chains (${chains}) under ${opts.dir}` +
            (result.checkpoint !== null
              ? `; matches signed checkpoint ${result.checkpoint} in ${store!.description}`
              : '; NOT checked against a signed checkpoint (no public key): a cut tail with HEAD.json rewritten would pass'),
        );
        return;
      }
      console.error(`audit log NOT ok: ${problemText(result.problem!)}`);
      process.exitCode = 1;
    } catch (error) {
      console.error(`audit verify: ${(error as Error).message}`);
      process.exitCode = 1;
    } finally {
      await store?.close();
    }
  });
  withAnchorOptions(
    audit
      .command('anchor')
      .description(
        'verify the chains, then sign their heads into the next checkpoint of the anchor store (needs LEADRANK_AUDIT_SIGNING_KEY; never give it to the serving process)',
      )
      .option('--dir <dir>', 'audit log root (env LEADRANK_AUDIT_DIR)', defaultDir())
      .option(
        '--signing-key <file>',
        'Ed25519 private key PEM (env LEADRANK_AUDIT_SIGNING_KEY: the PEM text)',
      )
      .option('--every <seconds>', 'keep running, anchoring every so many seconds'),
  ).action(async (opts: AnchorOpts & { signingKey?: string; every?: string }) => {
    const store = (() => {
      try {
        const pem = pemOf(opts.signingKey, 'LEADRANK_AUDIT_SIGNING_KEY');
        if (!pem) throw new Error('no signing key: set LEADRANK_AUDIT_SIGNING_KEY or --signing-key');
        return { signer: localEd25519Signer(pem), store: anchorStoreOf(opts) };
      } catch (error) {
        console.error(`audit anchor: ${(error as Error).message}`);
        process.exitCode = 1;
        return null;
      }
    })();
    if (!store) return;
    const once = async (): Promise<boolean> => {
      try {
        const { checkpoint, result } = await anchorAuditLog({ dir: opts.dir, ...store });
        console.log(
          `checkpoint ${checkpoint.number} in ${store.store.description}: ${Object.entries(checkpoint.chains)
            .map(([id, c]) => `${id || '.'}@${c.seq}`)
            .join(', ')} (${result.entries} entries verified since the last checkpoint)`,
        );
        return true;
      } catch (error) {
        console.error(`audit anchor: ${(error as Error).message}`);
        process.exitCode = 1;
        return false;
      }
    };
    const every = opts.every === undefined ? null : Number(opts.every);
    if (every !== null && !(Number.isFinite(every) && every >= 1)) {
      console.error('audit anchor: --every must be a number of seconds >= 1');
      process.exitCode = 1;
    } else if (every === null) {
      await once();
    } else {
      // A long-running anchorer (a sidecar of the writer's host, with its own key): stops on a refusal.
      while (await once()) await new Promise((r) => setTimeout(r, every * 1000));
    }
    await store.store.close();
  });
  audit
    .command('keygen')
    .description(
      'write a new Ed25519 key pair for checkpoints: <prefix>.key (private, mode 600) and <prefix>.pub',
    )
    .requiredOption('--out <prefix>', 'path prefix of the two files')
    .action(async (opts: { out: string }) => {
      const pair = generateAnchorKeyPair();
      await writeFile(`${opts.out}.key`, pair.privateKeyPem, { mode: 0o600, flag: 'wx' });
      await writeFile(`${opts.out}.pub`, pair.publicKeyPem, { flag: 'wx' });
      console.log(`wrote ${opts.out}.key (give it to the anchoring job only) and ${opts.out}.pub`);
    });
  audit
    .command('import-keys')
    .description(
      'copy the directory key store (secret, keys, tombstones) into the key database, before switching to ' +
        'LEADRANK_AUDIT_KEY_STORE=postgres; rows held already are kept; last line is JSON',
    )
    .option('--dir <dir>', 'audit log root (env LEADRANK_AUDIT_DIR)', defaultDir())
    .option('--key-dir <dir>', 'the directory store (env LEADRANK_AUDIT_KEY_DIR, else <audit root>.keys)')
    .action(async (opts: { dir: string; keyDir?: string }) => {
      const from = opts.keyDir ?? defaultKeyDir(opts.dir);
      let url: string | null;
      try {
        url = keyDatabaseUrlOf({ ...process.env, LEADRANK_AUDIT_KEY_STORE: 'postgres' });
      } catch (error) {
        console.error((error as Error).message);
        process.exitCode = 1;
        return;
      }
      if (!existsSync(join(from, 'pseudonym.secret'))) {
        console.error(`${from}: no directory key store here (no pseudonym.secret); pass --key-dir`);
        process.exitCode = 1;
        return;
      }
      const store = await openDatabaseKeyStore(url!);
      try {
        const counts = await store.importDirectory(from);
        console.log(
          `imported ${counts.keys} keys and ${counts.tombstones} tombstones from ${from} into ${store.description}; ` +
            'now set LEADRANK_AUDIT_KEY_STORE=postgres on every process of the region',
        );
        console.log(JSON.stringify({ from, ...counts }));
      } catch (error) {
        console.error(`${from}: ${(error as Error).message}`);
        process.exitCode = 1;
      } finally {
        await store.close();
      }
    });
  audit
    .command('stats')
    .description('bytes per score entry, raw and gzip-compressed, over every chain; last line is JSON')
    .option('--dir <dir>', 'audit log root (env LEADRANK_AUDIT_DIR)', defaultDir())
    .action(async (opts: { dir: string }) => {
      const stats = await auditLogStats(opts.dir);
      console.log(
        `${stats.scoreEntries} score entries, ${stats.lines} lines in ${stats.segments} segments of ${stats.chains} chains: ` +
          `${stats.bytes} bytes (${stats.bytesPerEntry.toFixed(0)} B/entry), gzip ${stats.gzipBytes} bytes (${stats.gzipBytesPerEntry.toFixed(0)} B/entry)`,
      );
      console.log(JSON.stringify(stats));
    });
  audit
    .command('show <leadId>')
    .description("a lead's score history with reasons, newest first")
    .option('--dir <dir>', 'audit log root (env LEADRANK_AUDIT_DIR)', defaultDir())
    .action(async (leadId: string, opts: { dir: string }) => {
      const rows: Row[] = [];
      let erased: Awaited<ReturnType<typeof auditErasure>> = null;
      try {
        for await (const entry of auditHistory(opts.dir, leadId)) rows.push(entry);
        erased = await auditErasure(opts.dir, leadId);
      } catch (error) {
        console.error(`cannot read the audit log under ${opts.dir}: ${(error as Error).message}`);
        process.exitCode = 1;
        return;
      }
      // The subject's key was destroyed: its entries are still in the chain, unreadable (crypto-shredded).
      if (erased)
        console.log(
          `erased on ${erased.erasedAt.slice(0, 10)}, receipt ${erased.receipt}: ${erased.unreadable} entr${erased.unreadable === 1 ? 'y' : 'ies'} unreadable`,
        );
      if (rows.length === 0) {
        if (!erased) console.log(`no audit entries for ${leadId} under ${opts.dir}`);
        return;
      }
      // Chains of several workers interleave in time: newest first by scoredAt, then by seq within a chain.
      rows.sort((a, b) => b.scoredAt.localeCompare(a.scoredAt) || b.seq - a.seq);
      console.log(
        formatHistory(
          rows.every((r) => r.chain === rows[0]!.chain) ? rows.map((r) => ({ ...r, chain: '' })) : rows,
        ),
      );
    });
}
