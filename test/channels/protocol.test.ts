import { describe, expect, it } from 'vitest';
import {
  byteLength,
  CLOSE_CODES,
  FrameError,
  PROTOCOL_VERSION,
  readClientFrame,
  readServerFrame,
} from '../../src/channels/protocol.js';

function failure(read: () => unknown): FrameError {
  try {
    read();
  } catch (error) {
    if (error instanceof FrameError) return error;
    throw error;
  }
  throw new Error('expected a FrameError');
}

describe('wire protocol frames', () => {
  it('reads a hello, a push and a pull, from text or from objects', () => {
    expect(readClientFrame(JSON.stringify({ v: PROTOCOL_VERSION, type: 'hello', token: 't', client: 'a' }))).toEqual({
      v: PROTOCOL_VERSION,
      type: 'hello',
      token: 't',
      client: 'a',
    });
    const push = { v: PROTOCOL_VERSION, type: 'push', id: 3, body: { from: 'a', cursor: 0, operations: [] } };
    expect(readClientFrame(push)).toEqual(push);
    expect(readServerFrame({ v: PROTOCOL_VERSION, type: 'poke', cursor: 12 })).toEqual({
      v: PROTOCOL_VERSION,
      type: 'poke',
      cursor: 12,
    });
  });

  it('names what is wrong with a malformed frame and keeps its request id', () => {
    const notJson = failure(() => readClientFrame(`{"v":${PROTOCOL_VERSION},`));
    expect(notJson.kind).toBe('protocol');
    expect(notJson.message).toMatch(/not JSON/);
    expect(notJson.close).toBeUndefined();

    const unknown = failure(() => readClientFrame({ v: PROTOCOL_VERSION, type: 'teleport', id: 9 }));
    expect(unknown.requestId).toBe(9);
    expect(unknown.message).toMatch(/teleport/);

    const badId = failure(() => readClientFrame({ v: PROTOCOL_VERSION, type: 'pull', id: -1, body: {} }));
    expect(badId.message).toMatch(/id/);

    expect(failure(() => readClientFrame([1, 2])).message).toMatch(/JSON object/);
  });

  it('closes on another protocol version or an oversized frame', () => {
    const version = failure(() => readClientFrame({ v: 1, type: 'hello' }));
    expect(version.close).toBe(CLOSE_CODES.protocol);
    expect(version.message).toMatch(/version 1 is not supported; this side speaks version 2/);

    const big = failure(() =>
      readClientFrame(JSON.stringify({ v: PROTOCOL_VERSION, type: 'hello', token: 'x'.repeat(100) }), 64),
    );
    expect(big.close).toBe(CLOSE_CODES.tooBig);
    expect(big.message).toMatch(/over the limit of 64 bytes/);
  });

  it('counts bytes, not characters', () => {
    expect(byteLength('abc')).toBe(3);
    expect(byteLength('é')).toBe(2);
    expect(byteLength('😀')).toBe(4);
  });

  it('rejects server frames a client cannot use', () => {
    expect(
      failure(() =>
        readServerFrame({ v: PROTOCOL_VERSION, type: 'error', error: { kind: 'nope', message: 'x', retryable: 1 } }),
      ).kind,
    ).toBe('protocol');
    expect(failure(() => readServerFrame({ v: PROTOCOL_VERSION, type: 'welcome', server: 'hub' })).message).toMatch(
      /maxFrameBytes/,
    );
  });
});
