#!/usr/bin/env node
// The `kiln` command: a thin layer over the public API; nothing imports it.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { KilnError } from '../ir/errors.js';
import { compileCommand } from './compile-command.js';
import { profileCommand } from './profile-command.js';
import { irCommand } from './ir-command.js';
import { inspectCommand } from './inspect-command.js';
import { runCommand } from './run-command.js';
import { benchCommand } from './bench-command.js';
import { expandDumpDirArg } from './pipeline-options.js';

interface Command {
  summary: string;
  usage: string;
  options: NonNullable<ParseArgsConfig['options']>;
  run: (positionals: string[], values: Record<string, unknown>) => Promise<number>;
}

const COMMANDS: Record<string, Command> = {
  compile: compileCommand,
  ir: irCommand,
  run: runCommand,
  bench: benchCommand,
  inspect: inspectCommand,
  profile: profileCommand,
};

function mainHelp(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`);
  return [
    'kiln: an ahead-of-time compiler from model graphs to WebGPU kernels',
    '',
    'Usage: kiln <command> [options]',
    '',
    'Commands:',
    ...lines,
    '',
    "Run 'kiln <command> --help' for a command's options.",
    'Models: kiln IR text (.kir), ONNX (.onnx), or a JavaScript or TypeScript module exporting `model` and `exampleInputs`.',
    'Artifacts: folders written by `kiln compile MODEL -o OUT.kiln`; `kiln run` and `kiln inspect` read them.',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(mainHelp());
    return name ? 0 : 1;
  }
  const cmd = COMMANDS[name];
  if (!cmd) {
    console.error(`kiln: unknown command '${name}'\n\n${mainHelp()}`);
    return 2;
  }
  let parsed;
  try {
    parsed = parseArgs({ args: expandDumpDirArg(rest), options: { ...cmd.options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (e) {
    console.error(`kiln ${name}: ${(e as Error).message}\n\n${cmd.usage}`);
    return 2;
  }
  if ((parsed.values as Record<string, unknown>).help) {
    console.log(cmd.usage);
    return 0;
  }
  return cmd.run(parsed.positionals, parsed.values as Record<string, unknown>);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    if (e instanceof KilnError) console.error(`kiln: ${e.message}`);
    else console.error(e);
    process.exit(1);
  },
);
