#!/usr/bin/env node
// The repository has no build step: load tsx's loader, then the TypeScript CLI.
import process from 'node:process';
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli.ts');
process.exitCode = await main(process.argv);
