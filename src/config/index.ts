export { configSchema, type Config, type ConfigInput } from './schema.ts';
export { loadConfig, requireSecret, type LoadConfigOptions } from './load.ts';
export { createRedis, keyspace, type Keyspace } from './redis.ts';
