// One error class for the whole library: a short message for people, fields for programs.

export type ErrorCode =
  | 'EINVALOPT' // an option is invalid: `option` names it
  | 'EREFUSED' // refused for data safety (an existing file, a mounted device)
  | 'EUNAVAILABLE' // a target or feature is not available on this machine
  | 'EPROBE' // the probe failed or printed no result
  | 'ECANCELED'
  | string; // errno names from the core: EIO, ENOSPC, EOPNOTSUPP, ...

export class IsoprobeError extends Error {
  readonly code: ErrorCode;
  readonly option?: string;
  readonly errno?: number;
  readonly syscall?: string;
  readonly detail?: string;

  constructor(code: ErrorCode, message: string, fields: { option?: string; errno?: number; syscall?: string; detail?: string; cause?: unknown } = {}) {
    super(message, fields.cause === undefined ? undefined : { cause: fields.cause });
    this.name = 'IsoprobeError';
    this.code = code;
    if (fields.option !== undefined) this.option = fields.option;
    if (fields.errno !== undefined) this.errno = fields.errno;
    if (fields.syscall !== undefined && fields.syscall !== '') this.syscall = fields.syscall;
    if (fields.detail !== undefined) this.detail = fields.detail;
  }
}

export function optionError(option: string, message: string): IsoprobeError {
  return new IsoprobeError('EINVALOPT', message, { option });
}

/** Turns the core's error object ({code, errno, syscall, option, message}) into an IsoprobeError. */
export function fromCoreError(e: { code?: string; errno?: number; syscall?: string; option?: string; message?: string }): IsoprobeError {
  const fields: { option?: string; errno?: number; syscall?: string } = {};
  if (e.option) fields.option = e.option;
  if (typeof e.errno === 'number') fields.errno = e.errno;
  if (e.syscall) fields.syscall = e.syscall;
  return new IsoprobeError(e.code || 'EPROBE', e.message || 'the probe failed without a message', fields);
}
