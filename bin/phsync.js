#!/usr/bin/env node
// phsync runs its TypeScript sources directly on Node 24 (type stripping). The project pins Node 24
// as a devDependency, which npm scripts and npx put first on the PATH; say so when an older node runs us.
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  process.stderr.write(`phsync needs Node.js 24 or later (this is ${process.version}). Run it as "npx phsync" from the project, after "npm install", which brings Node 24.\n`);
  process.exit(1);
}
await import('../src/cli/main.ts');
