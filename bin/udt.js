#!/usr/bin/env node
// The `udt` command. Sources are TypeScript, run through tsx so a fresh clone works without a compile step.
require('tsx/cjs');
require('./main.ts').main(process.argv).catch((error) => {
  process.stderr.write(`udt: ${error && error.message ? error.message : String(error)}\n`);
  process.exitCode = typeof error?.exitCode === 'number' ? error.exitCode : 1;
});
