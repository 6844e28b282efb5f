import type { ErrorCode } from './generated/protocol.js';

/**
 * Codes the SDK adds to the server's: `timeout` (no answer in time), `disconnected` (the
 * socket dropped before the answer came and the command is not safe to resend), `closed`
 * (the client was closed), `http` (a non-JSON HTTP failure).
 */
export type ClientErrorCode = 'timeout' | 'disconnected' | 'closed' | 'http';

/** A failed command or HTTP call: the server's error body, or one of the SDK's own. */
export class TetherError extends Error {
  override readonly name = 'TetherError';

  constructor(
    /** The server's `code`, or one of {@link ClientErrorCode}. */
    readonly code: ErrorCode | ClientErrorCode,
    message: string,
    /** The HTTP status, for HTTP calls. */
    readonly status?: number,
    /** The `request_id` of the command, for WebSocket commands. */
    readonly requestId?: string,
  ) {
    super(message);
  }
}
