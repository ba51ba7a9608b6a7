/**
 * Base of every error this project throws on purpose.
 *
 * `code` is stable and machine-readable (branch on it, never on `message`);
 * `retryable` tells queue workers whether another attempt can succeed;
 * `hint` is the one line that tells a user what to do next.
 */
export interface RagErrorOptions {
  cause?: unknown;
  retryable?: boolean;
  hint?: string;
  details?: Record<string, unknown>;
}

export class RagError extends Error {
  readonly code: string;
  readonly retryable: boolean;
  readonly hint?: string;
  readonly details?: Record<string, unknown>;

  constructor(code: string, message: string, opts: RagErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = opts.retryable ?? false;
    this.hint = opts.hint;
    this.details = opts.details;
  }

  /** One line for a terminal: message plus the hint, if any. */
  oneLine(): string {
    return this.hint ? `${this.message} (${this.hint})` : this.message;
  }

  /** Wraps anything thrown into a RagError, keeping RagErrors as they are. */
  static from(err: unknown, code = 'INTERNAL'): RagError {
    if (err instanceof RagError) return err;
    const message = err instanceof Error ? err.message : String(err);
    return new RagError(code, message, { cause: err });
  }

  /** The innermost cause, for logs. */
  static rootCause(err: unknown): unknown {
    let cur = err;
    while (cur instanceof Error && cur.cause !== undefined) cur = cur.cause;
    return cur;
  }
}
