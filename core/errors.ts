/**
 * One registry of stable error codes (DESIGN §8). Devices see them on their
 * `errors` topic, staff in REST bodies; docs/errors.md lists each one and a
 * test keeps the two in step.
 */
export const ErrorCodes = {
  bad_json: { http: 400, text: 'the payload is not valid JSON' },
  invalid_reading: { http: 400, text: 'a field is missing or has the wrong type' },
  unknown_type: { http: 400, text: 'the reading type is not one of CONTRACT §2' },
  out_of_range: { http: 400, text: 'a value is outside its valid range' },
  ts_out_of_range: { http: 400, text: 'ts is more than 5 min in the future or older than 30 days' },
  too_large: { http: 413, text: 'the payload exceeds 64 KiB or a batch exceeds 500 readings' },
  not_authorized: { http: 403, text: 'the device may not publish or subscribe to this topic' },
  rate_limited: { http: 429, text: 'too many messages; slow down' },
  store_unavailable: { http: 503, text: 'the platform cannot keep the reading safely right now; retry' },
  bad_request: { http: 400, text: 'the request body is invalid' },
  unauthenticated: { http: 401, text: 'log in first' },
  forbidden: { http: 403, text: 'your role may not do this' },
  not_found: { http: 404, text: 'no such object within your scope' },
  conflict: { http: 409, text: 'the object exists already or is in the wrong state' },
  internal: { http: 500, text: 'internal error; the platform logged it' },
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

export class PlatformError extends Error {
  readonly httpStatus: number;
  constructor(
    readonly code: ErrorCode,
    message: string = ErrorCodes[code].text,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'PlatformError';
    this.httpStatus = ErrorCodes[code].http;
  }
  toJSON(): { error: ErrorCode; message: string; field?: string } {
    return { error: this.code, message: this.message, ...(this.field ? { field: this.field } : {}) };
  }
}
