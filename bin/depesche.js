#!/usr/bin/env node
// Depesche runs its TypeScript sources directly through Node's type stripping,
// which is on by default from Node 22.18. Say so plainly instead of failing on syntax.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  console.error(
    `depesche needs Node.js 22.18 or newer (found ${process.versions.node}).\n` +
      'Run it through npm (npm start, npx depesche), which uses the Node pinned in package.json.',
  );
  process.exit(1);
}
// V8 keeps the compiled (and type-stripped) code of every module in a cache between runs
// (os.tmpdir()/node-compile-cache unless NODE_COMPILE_CACHE names another folder). Without
// it, stripping types alone costs a `depesche --help` about 150 ms of CPU on every start.
const { enableCompileCache } = await import('node:module');
enableCompileCache?.();
await import('../src/cli/main.ts');
