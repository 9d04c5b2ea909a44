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
  hash?: (algorithm: 'sha256', text: string, encoding: 'base64url') => string;
  createHash(algorithm: 'sha256'): { update(text: string, encoding: 'utf8'): { digest(): Uint8Array } };
};
// Node's native SHA-256 is about three times faster than the portable one; browsers get the
// portable one. `getBuiltinModule` keeps bundlers from seeing a `node:` import.
const nodeCrypto = (
  globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }
).process?.getBuiltinModule?.('node:crypto') as NodeCrypto | undefined;
const encoder = new TextEncoder();

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** The first 22 characters of the unpadded base64url form of `bytes` (132 bits). */
function base64url22(bytes: Uint8Array): string {
  let text = '';
  for (let i = 0; i < 18; i += 3) {
    const n = ((bytes[i] as number) << 16) | ((bytes[i + 1] as number) << 8) | (bytes[i + 2] as number);
    text +=
      BASE64URL.charAt((n >> 18) & 63) +
      BASE64URL.charAt((n >> 12) & 63) +
      BASE64URL.charAt((n >> 6) & 63) +
      BASE64URL.charAt(n & 63);
  }
  return text.slice(0, 22);
}

/** An op id from the text it is derived from, both ways (exported for the test that they agree). */
export const digests = {
  portable: (text: string): string => base64url22(sha256(encoder.encode(text))),
  native:
    nodeCrypto === undefined
      ? undefined
      : nodeCrypto.hash !== undefined
        ? (text: string): string =>
            (nodeCrypto.hash as NonNullable<NodeCrypto['hash']>)('sha256', text, 'base64url').slice(0, 22)
        : (text: string): string => base64url22(nodeCrypto.createHash('sha256').update(text, 'utf8').digest()),
};
const digest = digests.native ?? digests.portable;

function idOf(content: OperationContent, input: string): string {
  const text = `{"branch":${JSON.stringify(content.branch)},"documentId":${JSON.stringify(content.documentId)},${input}"origin":${JSON.stringify(content.origin)},"scope":${JSON.stringify(content.scope)},"timestamp":${JSON.stringify(content.timestamp)},"type":${JSON.stringify(content.type)}}`;
  return digest(DOMAIN + text);
}

/**
 * The id of an op with this content: SHA-256 over its canonical JSON (keys sorted), its first 132
 * bits as 22 characters of base64url.
 */
export function operationId(content: OperationContent): string {
  return idOf(content, content.input === undefined ? '' : `"input":${canonicalJson(content.input)},`);
}
