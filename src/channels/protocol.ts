import { ReactorError, type ReactorErrorData } from '../model/errors.js';
import { issueMessage, type Output, type Schema, safeParseWire } from '../model/schema.js';
import { type ClientFrame, clientFrame, PROTOCOL_VERSION, type ServerFrame, serverFrame } from '../model/wire.js';

/**
 * The wire protocol that carries a channel's calls over a message transport (BroadcastChannel,
 * WebSocket). A client sends `hello`, then `push` / `pull` requests numbered by `id`; the serving
 * side answers each with `result` or `error`, and sends `poke` when it has new ops. Frames are
 * versioned: a frame of another version is answered with an error and the connection is closed.
 * Frames are defined with every body in the wire module (`src/model/wire.ts`); bodies (push and
 * pull requests and responses) are parsed by the endpoint and the channel, as for every other
 * transport, so this layer checks only the frame around them.
 */
export { type ClientFrame, PROTOCOL_VERSION, type RequestFrame, type ServerFrame } from '../model/wire.js';

/** The largest frame accepted by default (bytes of its JSON text). */
export const DEFAULT_MAX_FRAME_BYTES = 8 * 1024 * 1024;

/** WebSocket close codes the switchboard uses. */
export const CLOSE_CODES = {
  /** The server is shutting down. */
  goingAway: 1001,
  /** A frame was larger than the limit. */
  tooBig: 1009,
  /** The client speaks another protocol version. */
  protocol: 4400,
  /** The client's token was refused. */
  auth: 4401,
} as const;

/** A frame that could not be read, and whether the connection should be closed because of it. */
export class FrameError extends ReactorError {
  readonly close: number | undefined;
  readonly requestId: number | undefined;

  constructor(message: string, options: { close?: number; requestId?: number } = {}) {
    super('protocol', message, { retryable: false });
    this.close = options.close;
    this.requestId = options.requestId;
  }
}

/** The number of bytes a frame's text takes as UTF-8. */
export function byteLength(text: string): number {
  // Most frames are ASCII: count exactly only when a character could take more than one byte.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the range is the point
  if (!/[^\u0000-\u007f]/.test(text)) return text.length;
  return new TextEncoder().encode(text).length;
}

/**
 * Reads a frame from its text or structured form. Throws a {@link FrameError}: for text that is not
 * JSON, a frame without a known `type`, a wrong version (closes), or one over the size limit (closes).
 */
function readFrame<S extends Schema>(
  raw: unknown,
  schema: S,
  side: 'client' | 'server',
  maxFrameBytes: number,
): Output<S> {
  let value = raw;
  if (typeof raw === 'string') {
    const size = byteLength(raw);
    if (size > maxFrameBytes) {
      throw new FrameError(`frame of ${size} bytes is over the limit of ${maxFrameBytes} bytes`, {
        close: CLOSE_CODES.tooBig,
      });
    }
    try {
      value = JSON.parse(raw);
    } catch {
      throw new FrameError(`frame is not JSON (starts with ${JSON.stringify(raw.slice(0, 40))})`);
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new FrameError(`a ${side} frame must be a JSON object`);
  }
  const record = value as Record<string, unknown>;
  const id = typeof record.id === 'number' && Number.isInteger(record.id) ? record.id : undefined;
  // Another version number ends the connection; a frame without one is merely malformed.
  if (typeof record.v === 'number' && record.v !== PROTOCOL_VERSION) {
    throw new FrameError(
      `protocol version ${JSON.stringify(record.v)} is not supported; this side speaks version ${PROTOCOL_VERSION}`,
      { close: CLOSE_CODES.protocol, ...(id === undefined ? {} : { requestId: id }) },
    );
  }
  const parsed = safeParseWire(schema, value);
  if (!parsed.success) {
    throw new FrameError(issueMessage(parsed.issue, `malformed ${side} frame (type ${JSON.stringify(record.type)})`), {
      ...(id === undefined ? {} : { requestId: id }),
    });
  }
  return parsed.output;
}

/** Parses what a client sent. */
export function readClientFrame(raw: unknown, maxFrameBytes = DEFAULT_MAX_FRAME_BYTES): ClientFrame {
  return readFrame(raw, clientFrame, 'client', maxFrameBytes);
}

/** Parses what the serving side sent. */
export function readServerFrame(raw: unknown, maxFrameBytes = Number.POSITIVE_INFINITY): ServerFrame {
  return readFrame(raw, serverFrame, 'server', maxFrameBytes);
}

/**
 * The answer to a frame that could not be read: an error frame (naming the request when its id was
 * readable) and the close code when the connection must end.
 */
export function answerToUnreadable(error: unknown): {
  readonly frame: ServerFrame;
  readonly close: number | undefined;
} {
  const failure =
    error instanceof FrameError ? error : new FrameError(error instanceof Error ? error.message : String(error));
  return { frame: errorFrameOf(failure.toData(), failure.requestId), close: failure.close };
}

/** An error frame for a failure (anything thrown becomes a ReactorError first). */
export function errorFrameOf(error: ReactorErrorData, id?: number): ServerFrame {
  return {
    v: PROTOCOL_VERSION,
    type: 'error',
    ...(id === undefined ? {} : { id }),
    error: { kind: error.kind, message: error.message, retryable: error.retryable },
  };
}
