import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { CreateCampaignOptions } from '../../campaign/service.ts';
import { DepescheError } from '../../errors.ts';

/** A campaign to create, as the service takes it, with `at` as it arrives in JSON. */
export type CreateCampaignInput = Omit<CreateCampaignOptions, 'at'> & { at?: string };

/**
 * What the ops API needs from the sending code. Declared here, by the user; the dev and
 * serve commands adapt CampaignService to it. Results are returned to clients as JSON
 * as they come, so the API shows whatever the campaign code knows.
 */
export interface AdminCampaigns {
  create(input: CreateCampaignInput): Promise<unknown>;
  list(): Promise<unknown[]>;
  /** Counts: total, sent, failed, bounced, skipped, unclear, remaining, rate, ETA. */
  status(id: string): Promise<unknown>;
  pause(id: string, reason?: string): Promise<unknown>;
  resume(id: string): Promise<unknown>;
  cancel(id: string, reason?: string): Promise<unknown>;
  /** Re-compiles the issue and replaces the editions of a paused or scheduled campaign. */
  update(id: string): Promise<unknown>;
  /** Recipients whose SMTP result is unknown after a crash. */
  unclear(id: string): Promise<unknown>;
  /** Sends to the unclear recipients on purpose. */
  resendUnclear(id: string): Promise<unknown>;
}

export interface OpsApiDeps {
  campaigns?: AdminCampaigns | undefined;
  /** List stats: members by status and language (the store's `lists()`). */
  lists?: (() => Promise<unknown[]>) | undefined;
}

const createBody = z
  .object({
    slug: z.string().trim().min(1).max(200),
    list: z.string().trim().min(1).max(200),
    at: z.string().trim().min(1).max(100).optional(),
    zone: z.string().trim().min(1).max(100).optional(),
    rate: z.number().int().min(1).max(100_000).optional(),
    again: z.boolean().optional(),
    rest: z.boolean().optional(),
    dryRun: z.boolean().optional(),
    allowDevUrls: z.boolean().optional(),
  })
  .strict() satisfies z.ZodType<CreateCampaignInput>;

const idParams = z.object({ id: z.string().min(1).max(200) });
const reasonBody = z.object({ reason: z.string().trim().max(300).optional() }).strict();

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  const lines = result.error.issues.map((i) => `${i.path.join('.') || what}: ${i.message}`);
  throw new DepescheError('E_INPUT', `Invalid ${what}: ${lines.join('; ')}`, {
    hint: what === 'body' ? 'Send JSON like {"slug":"2026-11-20","list":"sample","at":"2026-11-21T08:00:00+01:00"}.' : undefined,
  });
}

function unavailable(what: string): never {
  throw new DepescheError('E_CONFIG', `${what} is not available in this process.`, {
    hint: 'Run the admin app through `depesche serve` or `depesche dev`, which connect it to Redis.',
  });
}

/**
 * The JSON ops API under /api. Every answer is JSON; errors use the shape from errors.ts.
 *
 *   GET  /api/campaigns                  all campaigns, newest first
 *   POST /api/campaigns                  create (and with `at`, schedule) a campaign;
 *                                        409 when the issue+list has a live campaign already
 *   GET  /api/campaigns/:id              status with counts
 *   POST /api/campaigns/:id/pause        pause | resume | cancel | update
 *   GET  /api/campaigns/:id/unclear      the unclear recipients
 *   POST /api/campaigns/:id/resend-unclear
 *   GET  /api/lists                      list stats by status and language
 */
export function opsApi(app: FastifyInstance, deps: OpsApiDeps): void {
  const campaigns = () => deps.campaigns ?? unavailable('Sending');

  app.get('/api', async () => ({
    endpoints: [
      'GET /api/campaigns',
      'POST /api/campaigns {slug, list, at?, zone?, rate?, again?, rest?, dryRun?, allowDevUrls?}',
      'GET /api/campaigns/:id',
      'POST /api/campaigns/:id/pause {reason?}',
      'POST /api/campaigns/:id/resume',
      'POST /api/campaigns/:id/cancel {reason?}',
      'POST /api/campaigns/:id/update',
      'GET /api/campaigns/:id/unclear',
      'POST /api/campaigns/:id/resend-unclear',
      'GET /api/lists',
      'GET /api/inbox (dev only)',
    ],
  }));

  app.get('/api/campaigns', async () => ({ campaigns: await campaigns().list() }));

  app.post('/api/campaigns', async (request, reply) => {
    const input = parse(createBody, request.body, 'body') as CreateCampaignInput;
    const result = await campaigns().create(input);
    request.log.info({ slug: input.slug, list: input.list, at: input.at, dryRun: input.dryRun }, 'campaign created through the ops API');
    return reply.code(input.dryRun ? 200 : 201).send(result);
  });

  app.get('/api/campaigns/:id', async (request) => campaigns().status(parse(idParams, request.params, 'id').id));

  for (const verb of ['pause', 'resume', 'cancel', 'update'] as const) {
    app.post(`/api/campaigns/:id/${verb}`, async (request) => {
      const { id } = parse(idParams, request.params, 'id');
      const { reason } = parse(reasonBody, request.body, 'body');
      const api = campaigns();
      const result = verb === 'pause' || verb === 'cancel' ? await api[verb](id, reason) : await api[verb](id);
      request.log.info({ campaign: id }, `campaign ${verb} through the ops API`);
      return result ?? { ok: true };
    });
  }

  app.get('/api/campaigns/:id/unclear', async (request) => {
    const { id } = parse(idParams, request.params, 'id');
    return { campaign: id, unclear: await campaigns().unclear(id) };
  });

  app.post('/api/campaigns/:id/resend-unclear', async (request) => {
    const { id } = parse(idParams, request.params, 'id');
    const result = await campaigns().resendUnclear(id);
    request.log.warn({ campaign: id }, 'unclear recipients resent on purpose through the ops API');
    return result ?? { ok: true };
  });

  app.get('/api/lists', async () => ({ lists: await (deps.lists ?? unavailable('The subscriber store'))() }));
}
