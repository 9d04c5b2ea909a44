import { sha256 } from '@noble/hashes/sha2.js';
import { canonicalJson } from './hash.js';
import type { OperationEnvelope } from './types.js';

/**
 * Content-derived operation ids. An op's id is a hash of everything else in its envelope, so an id
 * names one content only: a peer cannot hand two reactors two versions of "the same" op, because
 * only one of them matches the id, and every reactor checks the id of every op it receives.
 */

/** The fields an op's id is derived from. */
export type OperationContent = Omit<OperationEnvelope, 'id'>;

// Bumped if the derivation ever changes (with a protocol version and a migration).
const DOMAIN = 'xstate-reactor/op/1\n';

type NodeCrypto = {
  createHash(algorithm: 'sha256'): { update(text: string, encoding: 'utf8'): { digest(): Uint8Array } };
};
// Node's native SHA-256 is about three times faster than the portable one; browsers get the
// portable one. `getBuiltinModule` keeps bundlers from seeing a `node:` import.
const nodeCrypto = (
  globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }
).process?.getBuiltinModule?.('node:crypto') as NodeCrypto | undefined;
const encoder = new TextEncoder();

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** The first 16 bytes as 22 characters of unpadded base64url. */
function base64url16(bytes: Uint8Array): string {
  let text = '';
  for (let i = 0; i < 15; i += 3) {
    const n = ((bytes[i] as number) << 16) | ((bytes[i + 1] as number) << 8) | (bytes[i + 2] as number);
    text +=
      BASE64URL.charAt((n >> 18) & 63) +
      BASE64URL.charAt((n >> 12) & 63) +
      BASE64URL.charAt((n >> 6) & 63) +
      BASE64URL.charAt(n & 63);
  }
  const last = bytes[15] as number;
  return text + BASE64URL.charAt(last >> 2) + BASE64URL.charAt((last & 3) << 4);
}

/** SHA-256 of a string's UTF-8 bytes, both ways (exported for the test that they agree). */
export const digests = {
  portable: (text: string): Uint8Array => sha256(encoder.encode(text)),
  native:
    nodeCrypto === undefined
      ? undefined
      : (text: string): Uint8Array => nodeCrypto.createHash('sha256').update(text, 'utf8').digest(),
};
const digest = digests.native ?? digests.portable;

/**
 * The id of an op with this content: 128 bits of SHA-256 over its canonical JSON (keys sorted),
 * as 22 characters of base64url. The input must be JSON data (see `toJsonData`).
 */
export function operationId(content: OperationContent): string {
  const fields = {
    branch: content.branch,
    documentId: content.documentId,
    input: content.input,
    origin: content.origin,
    scope: content.scope,
    timestamp: content.timestamp,
    type: content.type,
  };
  return base64url16(digest(DOMAIN + canonicalJson(fields)));
}
