import Fastify from 'fastify';
import { DepescheError } from '../../errors.ts';
import { isLoopbackHost } from '../shared/hosts.ts';
import { errorBody, layout } from './pages.ts';
import { previewPlugin } from './plugin.ts';
import { createCompiler, DEFAULT_PUBLIC_URL } from '../../render/index.ts';
import type { PreviewCompiler, PreviewOptions } from './types.ts';

export interface PreviewServerOptions extends Omit<PreviewOptions, 'compiler' | 'publicUrl'> {
  /** @defaultValue `createCompiler({ contentDir, publicUrl })` */
  compiler?: PreviewCompiler;
  /** @defaultValue `http://127.0.0.1:4001` */
  publicUrl?: string;
  /** @defaultValue 4000 */
  port?: number;
  /** Loopback unless told otherwise: the preview has no login. @defaultValue `127.0.0.1` */
  host?: string;
  /** Log requests and rebuild failures to stderr. @defaultValue false */
  log?: boolean;
}

export interface PreviewServer {
  /** e.g. `http://127.0.0.1:4000/` */
  url: string;
  close(): Promise<void>;
}

/**
 * The preview on its own port, for `depesche preview`. On loopback it also refuses requests
 * whose Host header names another machine: a web page could otherwise point a DNS name at
 * 127.0.0.1 and read the preview from the editor's browser (DNS rebinding).
 */
export async function startPreviewServer(options: PreviewServerOptions): Promise<PreviewServer> {
  const host = options.host ?? '127.0.0.1';
  const app = Fastify({ logger: options.log ? { level: 'info' } : false, forceCloseConnections: true });
  if (isLoopbackHost(host)) {
    app.addHook('onRequest', async (request, reply) => {
      const name = (request.headers.host ?? '').replace(/:\d+$/, '');
      if (!isLoopbackHost(name)) {
        return reply.code(421).type('text/plain; charset=utf-8').send(`This preview answers on loopback names only, not ${name}.`);
      }
    });
  }
  app.setNotFoundHandler((request, reply) => {
    const detail = `Nothing is served at ${request.url.slice(0, 200)}.`;
    return reply
      .code(404)
      .type('text/html; charset=utf-8')
      .send(layout({ title: 'Not found', base: '/', page: 'error', body: errorBody(404, 'Not found', detail) }));
  });
  const publicUrl = options.publicUrl ?? DEFAULT_PUBLIC_URL;
  const compiler = options.compiler ?? createCompiler({ contentDir: options.contentDir, publicUrl });
  await app.register(previewPlugin, { ...options, publicUrl, compiler });
  try {
    await app.listen({ port: options.port ?? 4000, host });
  } catch (cause) {
    await app.close();
    throw new DepescheError('E_CONFIG', `The preview cannot listen on ${host}:${options.port ?? 4000}: ${(cause as Error).message}`, {
      hint: 'Pick another port with --port, or stop whatever holds this one.',
      cause,
    });
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const shown = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  return {
    url: `http://${shown}:${port}/`,
    close: () => app.close(),
  };
}
