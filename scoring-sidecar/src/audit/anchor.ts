// Signed checkpoints of the chain heads, kept outside the writer's reach. The writer can rewrite its own
// files (a cut tail with HEAD.json rewritten, a recomputed chain, a deleted worker folder all verify as
// internally consistent); a checkpoint signed with a key the writer does not hold, stored where the writer
// does not write, pins each chain's line at the anchored seq, so any of those is told by `verify`.
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';
import { z } from 'zod';
import { GENESIS_HASH } from './chain.js';
import { canonicalJson, sha256Hex } from './entry.js';

/**
 * Where a chain starts once retention removed its expired head (whole segments, all anchored before): the
 * first line kept, its seq and its prev (the hash of the last removed line). `verify` accepts a chain that
 * starts there instead of at seq 1; anything else missing at the start is still a removed head.
 */
export const chainBaseSchema = z.strictObject({
  seq: z.number().int().min(1),
  prev: z.string().regex(/^[0-9a-f]{64}$/),
  segment: z.string(),
});
export type ChainBase = z.infer<typeof chainBaseSchema>;

/** The line a chain had reached when it was anchored (and, after retention, where it now starts). */
export const anchoredLineSchema = z.strictObject({
  seq: z.number().int().min(0),
  hash: z.string().regex(/^[0-9a-f]{64}$/),
  segment: z.string(),
  base: chainBaseSchema.optional(),
});
export type AnchoredLine = z.infer<typeof anchoredLineSchema>;

export const checkpointSchema = z.strictObject({
  version: z.literal(1),
  /** 1, 2, … over the log's checkpoints: a removed or replaced checkpoint breaks the count or the link. */
  number: z.number().int().min(1),
  /** sha256 of the previous checkpoint's canonical text (signature included); 64 zeros for the first. */
  prev: z.string().regex(/^[0-9a-f]{64}$/),
  at: z.iso.datetime({ offset: true }),
  /** Chain id ("US", "worker-1/EU") -> its anchored line. Every chain of an earlier checkpoint stays. */
  chains: z.record(z.string(), anchoredLineSchema),
  keyId: z.string().min(1),
  /** base64 Ed25519 signature over the canonical JSON of every other member. */
  signature: z.string().min(1),
});
export type Checkpoint = z.infer<typeof checkpointSchema>;
export type UnsignedCheckpoint = Omit<Checkpoint, 'keyId' | 'signature'>;

/**
 * Signs checkpoints. The local implementation holds an Ed25519 key read from the anchoring process's
 * environment; a KMS or HSM can stand behind the same interface (sign returns the raw signature).
 */
export interface CheckpointSigner {
  readonly keyId: string;
  /** The key `verify` checks signatures with. */
  readonly publicKey: KeyObject;
  sign(payload: Buffer): Promise<Buffer>;
}

/** Short id of a public key: sha256 of its SPKI DER, first 16 hex digits. */
export function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex')
    .slice(0, 16);
}

function ed25519(key: KeyObject, what: string): KeyObject {
  if (key.asymmetricKeyType !== 'ed25519')
    throw new Error(`${what} is a ${key.asymmetricKeyType ?? 'symmetric'} key; an Ed25519 key is required`);
  return key;
}

/** A signer over a PKCS#8 PEM Ed25519 private key (LEADRANK_AUDIT_SIGNING_KEY). */
export function localEd25519Signer(privateKeyPem: string): CheckpointSigner {
  let key: KeyObject;
  try {
    key = createPrivateKey(privateKeyPem);
  } catch (error) {
    throw new Error(`the audit signing key is not a PEM private key: ${(error as Error).message}`);
  }
  ed25519(key, 'the audit signing key');
  const publicKey = createPublicKey(key);
  return {
    keyId: keyIdOf(publicKey),
    publicKey,
    sign: (payload) => Promise.resolve(sign(null, payload, key)),
  };
}

export function publicKeyFromPem(pem: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch (error) {
    throw new Error(`the audit public key is not a PEM public key: ${(error as Error).message}`);
  }
  return ed25519(key, 'the audit public key');
}

/** A fresh key pair as PEM (private: PKCS#8, public: SPKI), for `leadrank audit keygen` and tests. */
export function generateAnchorKeyPair(): { privateKeyPem: string; publicKeyPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

const signedText = (c: UnsignedCheckpoint & { keyId: string }): Buffer =>
  Buffer.from(canonicalJson({ ...c, signature: undefined }));

export async function signCheckpoint(
  unsigned: UnsignedCheckpoint,
  signer: CheckpointSigner,
): Promise<Checkpoint> {
  const withKey = { ...unsigned, keyId: signer.keyId };
  const signature = (await signer.sign(signedText(withKey))).toString('base64');
  return { ...withKey, signature };
}

export function checkpointDigest(checkpoint: Checkpoint): string {
  return sha256Hex(canonicalJson(checkpoint));
}

/**
 * Checks the whole list of checkpoints (oldest first): schema, signature under `publicKey`, numbering from 1,
 * each linked to the one before, no chain dropped. Returns the latest, or throws naming the checkpoint.
 */
export function verifyCheckpoints(raw: readonly unknown[], publicKey: KeyObject): Checkpoint | null {
  const keyId = keyIdOf(publicKey);
  let prev = GENESIS_HASH;
  let last: Checkpoint | null = null;
  raw.forEach((item, i) => {
    const parsed = checkpointSchema.safeParse(item);
    if (!parsed.success)
      throw new Error(`checkpoint ${i + 1}: malformed: ${parsed.error.issues[0]?.message ?? ''}`);
    const c = parsed.data;
    if (c.keyId !== keyId) throw new Error(`checkpoint ${c.number}: signed by key ${c.keyId}, not ${keyId}`);
    if (!verify(null, signedText(c), publicKey, Buffer.from(c.signature, 'base64')))
      throw new Error(`checkpoint ${c.number}: signature does not verify: forged or altered`);
    if (c.number !== i + 1)
      throw new Error(`checkpoint ${c.number} where ${i + 1} was expected: a checkpoint is missing`);
    if (c.prev !== prev) throw new Error(`checkpoint ${c.number}: does not link to the checkpoint before`);
    for (const [id, before] of Object.entries(last?.chains ?? {})) {
      if (!(id in c.chains)) throw new Error(`checkpoint ${c.number}: drops chain ${id}`);
      // A chain's start only moves forward (retention), never back, and never past its anchored line.
      if ((c.chains[id]!.base?.seq ?? 1) < (before.base?.seq ?? 1))
        throw new Error(`checkpoint ${c.number}: moves chain ${id}'s start back`);
    }
    for (const [id, line] of Object.entries(c.chains))
      if (line.base && line.base.seq > line.seq + 1)
        throw new Error(`checkpoint ${c.number}: chain ${id} starts after its anchored line`);
    prev = checkpointDigest(c);
    last = c;
  });
  return last;
}

/**
 * The serving process writes the log; it must not hold the key that anchors it, or a compromised writer could
 * sign checkpoints of a rewritten log. Called at its start-up.
 */
export function refuseSigningKeyInWriter(env: Record<string, string | undefined>): void {
  if (env.LEADRANK_AUDIT_SIGNING_KEY?.trim())
    throw new Error(
      'LEADRANK_AUDIT_SIGNING_KEY is set for the serving process: only the anchoring job ("leadrank audit anchor") may hold it',
    );
}
