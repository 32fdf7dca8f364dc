// Where a V8 CPU profile's time goes, by owner: garbage collection, the sidecar's stages (scoring-sidecar/src/<stage>),
// each npm package, Node's own modules, each native function (system calls such as open or fdatasync, socket
// writes), V8's own code (program), idle. A V8 profile samples the JS thread's wall time: a system call that blocks
// (a file created while the journal commits) counts for as long as it blocks, as it does for the requests waiting. Self time only, so the shares add up to 100 %
// of the sampled time; "busy" excludes idle. Used by bench/online.ts on the profiles `--cpu-prof` writes (one file
// per sidecar process) and runnable on its own:
//   npx tsx bench/cpu-profile-summary.ts <file-or-dir>... [--top 15] [--skip <seconds>]
// Hand-written: the profile format is a node tree with sample counts (V8's documented Profile object); the
// packages that read it (e.g. speedscope, 0x) render flame graphs and do not print grouped shares.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  hitCount?: number;
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface ProfileSummary {
  files: number;
  /** Sampled microseconds that were not idle. */
  busyUs: number;
  /** Share of busy time per owner, largest first. */
  shares: { owner: string; share: number }[];
  /** Share of busy time in the garbage collector. */
  gcShare: number;
}

/** The owner of a frame: what a reader would blame for its self time. */
export function ownerOf(frame: ProfileNode['callFrame']): string {
  const { functionName, url } = frame;
  if (functionName === '(garbage collector)') return 'gc';
  if (functionName === '(idle)') return 'idle';
  if (functionName === '(program)') return 'native (program)';
  if (functionName === '(root)') return 'root';
  // Native functions by name: open, fdatasync, writeUtf8String (socket writes), … say more than one lump.
  if (!url) return functionName ? `native ${functionName}` : 'native';
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`;
  const stage = /scoring-sidecar\/src\/([^/]+)\//.exec(url);
  if (stage) return `sidecar ${stage[1]}`;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/g;
  let last: string | undefined;
  for (let m = pkg.exec(url); m; m = pkg.exec(url)) last = m[1];
  if (last) return last;
  return 'other';
}

function profileFiles(paths: string[]): string[] {
  return paths.flatMap((p) =>
    statSync(p).isDirectory()
      ? readdirSync(p)
          .filter((f) => f.endsWith('.cpuprofile'))
          .map((f) => join(p, f))
      : [p],
  );
}

/**
 * Self time per owner over all the profiles (sample time deltas, so uneven sampling intervals count right).
 * `skipSeconds` leaves out the first seconds of each profile (start-up, module compilation, warm-up).
 */
export function summarizeProfiles(paths: string[], skipSeconds = 0): ProfileSummary {
  const files = profileFiles(paths);
  const byOwner = new Map<string, number>();
  for (const file of files) {
    const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
    const owners = new Map<number, string>();
    for (const node of profile.nodes) owners.set(node.id, ownerOf(node.callFrame));
    const samples = profile.samples ?? [];
    const deltas = profile.timeDeltas ?? [];
    // Sample i's time is the gap to the next sample (V8 records the delta before each sample).
    let at = 0;
    for (let i = 0; i < samples.length; i++) {
      at += deltas[i] ?? 0;
      if (at < skipSeconds * 1e6) continue;
      const us = deltas[i + 1] ?? 0;
      const owner = owners.get(samples[i]!) ?? 'other';
      byOwner.set(owner, (byOwner.get(owner) ?? 0) + Math.max(0, us));
    }
  }
  byOwner.delete('idle');
  byOwner.delete('root');
  const busyUs = [...byOwner.values()].reduce((a, b) => a + b, 0);
  const shares = [...byOwner.entries()]
    .map(([owner, us]) => ({ owner, share: busyUs > 0 ? us / busyUs : 0 }))
    .sort((a, b) => b.share - a.share);
  return {
    files: files.length,
    busyUs,
    shares,
    gcShare: shares.find((s) => s.owner === 'gc')?.share ?? 0,
  };
}

export function describeSummary(s: ProfileSummary, top = 12): string {
  return (
    `${s.files} profile(s), ${(s.busyUs / 1e6).toFixed(1)} busy CPU-s: ` +
    s.shares
      .slice(0, top)
      .map((x) => `${x.owner} ${(x.share * 100).toFixed(1)} %`)
      .join(', ')
  );
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const valueOf = (flag: string, fallback: number) => {
    const at = args.indexOf(flag);
    return at >= 0 ? Number(args[at + 1]) : fallback;
  };
  const top = valueOf('--top', 15);
  const skip = valueOf('--skip', 0);
  const paths = args.filter((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--'));
  if (paths.length === 0) {
    console.error(
      'usage: npx tsx bench/cpu-profile-summary.ts <file-or-dir>... [--top 15] [--skip <seconds>]',
    );
    process.exit(2);
  }
  const summary = summarizeProfiles(paths, skip);
  console.log(describeSummary(summary, top));
  console.log(
    JSON.stringify({ bench: 'cpu-profile-summary', ...summary, shares: summary.shares.slice(0, top) }),
  );
}
