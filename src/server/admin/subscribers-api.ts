import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { LANGS } from '../../core/lang.ts';
import { DepescheError } from '../../errors.ts';
import type { Actor } from '../../subscribers/consent.ts';
import { findSubscriber, subscriberReport } from '../../subscribers/report.ts';
import type { RedisSubscriberStore } from '../../subscribers/redis-store.ts';

/**
 * The subscriber part of the ops API. Every change names why (`reason`), and is logged in
 * the reader's consent log with who made it (`admin-api`, or `admin-api:<by>`).
 *
 *   GET    /api/subscribers/:email              the subscriber: status, name, lang, lists, consent
 *   GET    /api/subscribers/:email/consent      the same with the whole consent history (Art. 15)
 *   POST   /api/subscribers/:email/reactivate   {reason, by?}: a bounce back to active
 *   POST   /api/subscribers/:email/lang         {lang, reason, by?}
 *   DELETE /api/subscribers/:email              {reason, by?}: erasure (Art. 17)
 *   PUT    /api/lists/:name/visibility          {visibility: "public"|"private", reason, by?}
 */
export function subscribersApi(app: FastifyInstance, store: () => RedisSubscriberStore): void {
  const actorBody = { reason: z.string().trim().min(3).max(500), by: z.string().trim().max(100).optional() };
  const parse = <T extends z.ZodRawShape>(shape: T, body: unknown) => {
    const result = z.object(shape).strict().safeParse(body ?? {});
    if (result.success) return result.data;
    throw new DepescheError('E_INPUT', `Invalid body: ${result.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ')}`, {
      hint: 'Send JSON with a "reason" of at least 3 characters, e.g. {"reason":"reader asked by phone"}.',
    });
  };
  const actor = (body: { reason: string; by?: string | undefined }): Actor => ({ by: body.by ? `admin-api:${body.by}` : 'admin-api', reason: body.reason });
  const who = (request: FastifyRequest) => decodeURIComponent((request.params as { email: string }).email);

  app.get('/api/subscribers/:email', async (request) => subscriberReport(store(), await findSubscriber(store(), who(request)), { history: false }));
  app.get('/api/subscribers/:email/consent', async (request) => subscriberReport(store(), await findSubscriber(store(), who(request)), { history: true }));

  app.post('/api/subscribers/:email/reactivate', async (request) => {
    const body = parse(actorBody, request.body);
    const subscriber = await findSubscriber(store(), who(request));
    await store().reactivate(subscriber.id, actor(body));
    request.log.info({ subscriber: subscriber.id, by: actor(body).by }, 'subscriber reactivated through the ops API');
    return subscriberReport(store(), (await store().get(subscriber.id))!, { history: false });
  });

  app.post('/api/subscribers/:email/lang', async (request) => {
    const body = parse({ ...actorBody, lang: z.enum(LANGS) }, request.body);
    const subscriber = await findSubscriber(store(), who(request));
    await store().setLang(subscriber.id, body.lang, { via: 'ops', actor: actor(body) });
    request.log.info({ subscriber: subscriber.id, lang: body.lang, by: actor(body).by }, 'subscriber language changed through the ops API');
    return subscriberReport(store(), (await store().get(subscriber.id))!, { history: false });
  });

  app.delete('/api/subscribers/:email', async (request) => {
    const body = parse(actorBody, request.body);
    const subscriber = await findSubscriber(store(), who(request));
    await store().forget(subscriber.id, actor(body));
    request.log.warn({ subscriber: subscriber.id, by: actor(body).by }, 'subscriber erased through the ops API');
    return { erased: subscriber.id };
  });

  app.put('/api/lists/:name/visibility', async (request) => {
    const body = parse({ ...actorBody, visibility: z.enum(['public', 'private']) }, request.body);
    const { name } = request.params as { name: string };
    await store().setVisibility(name, body.visibility, actor(body));
    request.log.info({ list: name, visibility: body.visibility, by: actor(body).by }, 'list visibility changed through the ops API');
    return { list: name, visibility: body.visibility };
  });
}
