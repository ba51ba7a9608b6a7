import { RagError, type RagErrorOptions } from '@rag/core';

/** A question file that is missing, unreadable, or in a format we cannot tell or do not know. */
export class QuestionFileError extends RagError {
  constructor(message: string, opts: RagErrorOptions = {}) {
    super('QUESTION_FILE', message, { ...opts, retryable: false });
  }
}

/** A question file that was read to the end without a single usable question. */
export class NoQuestionsError extends RagError {
  constructor(message: string, opts: RagErrorOptions = {}) {
    super('NO_QUESTIONS', message, { ...opts, retryable: false });
  }
}

/** No headless Chromium on this machine (reports still render as HTML; only PNGs need it). */
export class ChromiumMissingError extends RagError {
  constructor(message: string, opts: RagErrorOptions = {}) {
    super('CHROMIUM_MISSING', message, { ...opts, retryable: false });
  }
}

/** Chromium ran but produced no usable screenshot or DOM. */
export class RenderError extends RagError {
  constructor(message: string, opts: RagErrorOptions = {}) {
    super('RENDER', message, { ...opts, retryable: false });
  }
}

/** Bytes that are not a PNG we can read (bad signature, truncated, unsupported variant). */
export class PngDecodeError extends RagError {
  constructor(message: string, opts: RagErrorOptions = {}) {
    super('PNG_DECODE', message, { ...opts, retryable: false });
  }
}
