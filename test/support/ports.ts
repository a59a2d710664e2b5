// Tests take free ports the same way `depesche dev` does.
export { freeLoopbackPort as freePort } from '../../src/app/dev-redis.ts';
