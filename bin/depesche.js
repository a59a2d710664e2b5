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
await import('../src/cli/main.ts');
