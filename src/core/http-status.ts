import type { ErrorCode } from '../errors.ts';

/**
 * The one table from error codes to HTTP status, for every app. A bad request is the
 * client's to fix (4xx); a dependency that is down is worth retrying (503).
 */
export const HTTP_STATUS: Record<ErrorCode, number> = {
  E_CONFIG: 500,
  E_CONTENT: 422,
  E_TEMPLATE: 422,
  E_MJML: 422,
  E_LINT: 422,
  E_INPUT: 400,
  E_TOKEN: 403,
  E_FORBIDDEN: 403,
  E_NOT_FOUND: 404,
  E_CONFLICT: 409,
  E_REDIS: 503,
  E_SMTP: 503,
};

export function httpStatusOf(code: ErrorCode): number {
  return HTTP_STATUS[code] ?? 500;
}
