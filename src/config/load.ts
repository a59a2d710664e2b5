import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { DepescheError } from '../errors.ts';
import { configSchema, type Config, type ConfigInput } from './schema.ts';

export interface LoadConfigOptions {
  /** Values from command-line flags; they win over everything. */
  flags?: ConfigInput;
  /** Defaults to process.env. */
  env?: NodeJS.ProcessEnv;
  /** A JSON file with the same keys; `DEPESCHE_CONFIG` names it when this is absent. */
  file?: string;
}

const keys = Object.keys(configSchema.shape) as (keyof Config)[];

function pick(source: Record<string, unknown>): ConfigInput {
  const out: ConfigInput = {};
  for (const key of keys) {
    const value = source[key];
    if (value !== undefined && value !== '') out[key] = value as string | number;
  }
  return out;
}

function readConfigFile(path: string): ConfigInput {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new DepescheError('E_CONFIG', `Cannot read the config file ${path}.`, {
      hint: 'Check DEPESCHE_CONFIG or --config, or remove it to use the environment alone.',
      cause,
    });
  }
  try {
    return pick(JSON.parse(text) as Record<string, unknown>);
  } catch (cause) {
    throw new DepescheError('E_CONFIG', `The config file ${path} is not valid JSON.`, {
      location: { file: path },
      hint: 'Write it as a JSON object whose keys are the setting names from .env.example.',
      cause,
    });
  }
}

/**
 * Resolve the configuration once: flags over config file over environment over defaults.
 * A bad value throws one error that names every offending setting.
 */
export function loadConfig(options: LoadConfigOptions = {}): Config {
  const env = options.env ?? process.env;
  const file = options.file ?? env.DEPESCHE_CONFIG;
  const merged: ConfigInput = {
    ...pick(env),
    ...(file ? readConfigFile(resolve(file)) : {}),
    ...pick((options.flags ?? {}) as Record<string, unknown>),
  };
  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => `  ${issue.path.join('.') || '(config)'}: ${issue.message}`);
    throw new DepescheError('E_CONFIG', `Invalid configuration:\n${lines.join('\n')}`, {
      hint: 'Fix these settings in the environment or the config file; .env.example describes each.',
    });
  }
  const config = parsed.data;
  const rsa = [config.DKIM_SELECTOR, config.DKIM_PRIVATE_KEY ?? config.DKIM_PRIVATE_KEY_FILE];
  const ed25519 = [config.DKIM_ED25519_SELECTOR, config.DKIM_ED25519_PRIVATE_KEY ?? config.DKIM_ED25519_PRIVATE_KEY_FILE];
  const keys = [rsa, ed25519].filter((pair) => pair.some(Boolean));
  if ((config.DKIM_DOMAIN || keys.length > 0) && (!config.DKIM_DOMAIN || keys.length === 0 || keys.some((pair) => !pair.every(Boolean)))) {
    throw new DepescheError('E_CONFIG', 'Invalid configuration:\n  DKIM_*: DKIM needs DKIM_DOMAIN and, for each key, its selector and the private key together.', {
      hint: 'Set DKIM_DOMAIN with DKIM_SELECTOR and DKIM_PRIVATE_KEY(_FILE), and/or DKIM_ED25519_SELECTOR and DKIM_ED25519_PRIVATE_KEY(_FILE); or none to send unsigned.',
    });
  }
  for (const [a, b] of [
    ['INBOUND_TLS_CERT_FILE', 'INBOUND_TLS_KEY_FILE'],
    ['POSTMARK_WEBHOOK_USER', 'POSTMARK_WEBHOOK_PASSWORD'],
  ] as const) {
    if (Boolean(config[a]) !== Boolean(config[b])) {
      throw new DepescheError('E_CONFIG', `Invalid configuration:\n  ${a}, ${b}: set both or neither.`, {
        hint: 'They only work as a pair; .env.example describes them.',
      });
    }
  }
  return config;
}

/** The signing secret, demanded only by the commands that sign or verify tokens. */
export function requireSecret(config: Config): string {
  if (!config.DEPESCHE_SECRET) {
    throw new DepescheError('E_CONFIG', 'DEPESCHE_SECRET is not set; links in mails are signed with it.', {
      hint: 'Set DEPESCHE_SECRET to a random string of at least 32 characters, e.g. `export DEPESCHE_SECRET=$(openssl rand -hex 32)`.',
    });
  }
  return config.DEPESCHE_SECRET;
}
