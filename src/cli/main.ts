#!/usr/bin/env node
// The `kiln` command. The work runs in a child process whose stderr is rid of Dawn's adapter
// warnings (see dawn-log.ts); KILN_DAWN_LOG=show runs it here, unfiltered.
import { fileURLToPath } from 'node:url';
import { runWithoutDawnWarnings } from './dawn-log.js';

const cli = new URL('./cli.js', import.meta.url);
if (process.env.KILN_DAWN_LOG === 'show') await import(cli.href);
else runWithoutDawnWarnings(fileURLToPath(cli), process.argv.slice(2));
