import { LANGS } from '../../core/lang.ts';
import { ListAdmin } from '../../subscribers/list-admin.ts';
import { SUBSCRIBER_STATUSES } from '../../subscribers/types.ts';
import { actor, withStore, type Attribution } from './subscribers.ts';

// The actions of `depesche lists …`; their arguments and options are in ../registry.ts.

export function create(list: string, options: Attribution & { title?: string; description?: string; public?: boolean }): Promise<void> {
  return withStore(async (store, config) => {
    const admin = new ListAdmin(store, { defaultList: config.DEFAULT_LIST });
    await admin.create(list, actor(options), {
      visibility: options.public ? 'public' : 'private',
      ...(options.title ? { title: options.title } : {}),
      ...(options.description ? { description: options.description } : {}),
    });
    process.stdout.write(`list "${list}" created (${options.public ? 'public' : 'private'})\n`);
  });
}

export function rename(list: string, title: string, options: Attribution): Promise<void> {
  return withStore(async (store, config) => {
    await new ListAdmin(store, { defaultList: config.DEFAULT_LIST }).rename(list, title, actor(options));
    process.stdout.write(`list "${list}" is titled "${title}"; its name and List-Id stay\n`);
  });
}

export function describe(list: string, description: string | undefined, options: Attribution & { json?: boolean }): Promise<void> {
  return withStore(async (store, config) => {
    const admin = new ListAdmin(store, { defaultList: config.DEFAULT_LIST });
    if (description !== undefined) await admin.describe(list, description, actor(options));
    const info = await admin.get(list);
    const live = await admin.liveCampaigns(list);
    if (options.json) {
      process.stdout.write(`${JSON.stringify({ ...info, liveCampaigns: live }, null, 2)}\n`);
      return;
    }
    const lines = [
      `${info.name}${info.title ? ` — ${info.title}` : ''} (${info.visibility})`,
      ...(info.description ? [`  ${info.description}`] : []),
      `  members: ${info.total} (${SUBSCRIBER_STATUSES.filter((s) => info.byStatus[s]).map((s) => `${s} ${info.byStatus[s]}`).join(', ') || 'none'})`,
      `  active by language: ${LANGS.map((l) => `${l} ${info.activeByLang[l]}`).join(', ')}`,
      `  campaigns not over on it: ${live.length ? live.join(', ') : 'none'}`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  });
}

export function remove(list: string, options: Attribution & { confirm: number }): Promise<void> {
  return withStore(async (store, config) => {
    const removed = await new ListAdmin(store, { defaultList: config.DEFAULT_LIST }).delete(list, actor(options), options.confirm);
    process.stdout.write(`list "${list}" deleted; ${removed} members taken off it (the subscribers stay)\n`);
  });
}
