import type { FastifyError, FastifyInstance } from 'fastify';
import { httpStatusOf } from '../../core/http-status.ts';
import { isDepescheError } from '../../errors.ts';

export interface ErrorBody {
  error: { code: string; message: string; hint?: string; location?: { file: string; line?: number } };
}

/**
 * One response shape for every API error: `{ error: { code, message, hint?, location? } }`.
 * Known errors keep their code and hint; anything else is logged in full and answered
 * with a generic 500, so internals never leak to a client.
 */
export function jsonErrors(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (isDepescheError(error)) {
      const status = httpStatusOf(error.code);
      if (status >= 500) request.log.error({ err: error }, error.message);
      const body: ErrorBody = { error: { code: error.code, message: error.message } };
      if (error.hint) body.error.hint = error.hint;
      if (error.location) body.error.location = error.location;
      return reply.code(status).send(body);
    }
    if (error.validation || (error.statusCode && error.statusCode < 500)) {
      return reply.code(error.statusCode ?? 400).send({ error: { code: 'E_INPUT', message: error.message } } satisfies ErrorBody);
    }
    request.log.error({ err: error }, 'request failed');
    return reply.code(500).send({ error: { code: 'E_INTERNAL', message: 'Internal error; see the server log.' } } satisfies ErrorBody);
  });
}
