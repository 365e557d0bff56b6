// The `kiln` command line: a thin layer over the public API; nothing imports it (main.ts runs it).
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { KILN_VERSION } from '../runtime/version.js';
import { compileCommand } from './compile-command.js';
import { profileCommand } from './profile-command.js';
import { irCommand } from './ir-command.js';
import { inspectCommand } from './inspect-command.js';
import { runCommand } from './run-command.js';
import { benchCommand } from './bench-command.js';
import { expandDumpDirArg } from './pipeline-options.js';
import { errorParagraph, EXIT_FAILURE, EXIT_USAGE, UsageError } from './errors.js';

interface Command {
  summary: string;
  usage: string;
  options: NonNullable<ParseArgsConfig['options']>;
  run: (positionals: string[], values: Record<string, unknown>) => Promise<number>;
}

/** A command that takes its arguments unparsed, to hand them to a program of its own (with --help). */
interface ForwardingCommand {
  summary: string;
  forward: (args: readonly string[]) => Promise<number>;
}

const COMMANDS: Record<string, Command | ForwardingCommand> = {
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
    '       kiln help <command> | kiln --version',
    '',
    'Commands:',
    ...lines,
    '',
    "Run 'kiln help <command>' (or 'kiln <command> --help') for a command's options.",
    'Every command takes --debug: print the stack of an error, not just its message.',
    'Exit codes: 0 success, 1 failure (including --compare outside tolerance), 2 usage error.',
    'Models: kiln IR text (.kir), ONNX (.onnx), or a JavaScript or TypeScript module exporting `model` and `exampleInputs`.',
    'Artifacts: folders written by `kiln compile MODEL -o OUT.kiln`; `kiln run` and `kiln inspect` read them.',
  ].join('\n');
}

/** parseArgs' message, reworded: its own suggests quoting that reads as broken on a terminal. */
function parseError(e: unknown): string {
  const err = e as { code?: string; message: string };
  const option = /'(-{1,2}[\w-]+)/.exec(err.message)?.[1];
  if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && option) return `unknown option ${option}`;
  if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && option) {
    return /argument missing/.test(err.message) ? `option ${option} needs a value` : `option ${option} takes no value`;
  }
  return err.message;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-V') {
    console.log(`kiln ${KILN_VERSION}`);
    return 0;
  }
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    const topic = name === 'help' ? rest[0] : undefined;
    if (topic !== undefined) {
      const cmd = COMMANDS[topic];
      if (!cmd) throw new UsageError(`unknown command '${topic}' (commands: ${Object.keys(COMMANDS).join(', ')})`);
      if ('forward' in cmd) return cmd.forward(['--help']);
      console.log(cmd.usage);
      return 0;
    }
    if (!name) {
      console.error(mainHelp());
      return EXIT_USAGE;
    }
    console.log(mainHelp());
    return 0;
  }
  const cmd = COMMANDS[name];
  if (!cmd) throw new UsageError(`unknown command '${name}' (commands: ${Object.keys(COMMANDS).join(', ')}; 'kiln --help' describes them)`);
  // --debug is the CLI's own (how errors print), not the forwarded program's.
  if ('forward' in cmd) return cmd.forward(rest.filter((a) => a !== '--debug'));
  let parsed;
  try {
    parsed = parseArgs({ args: expandDumpDirArg(rest), options: { ...cmd.options, help: { type: 'boolean', short: 'h' }, debug: { type: 'boolean' } }, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError(parseError(e));
  }
  const values = parsed.values as Record<string, unknown>;
  if (values.help) {
    console.log(cmd.usage);
    return 0;
  }
  return cmd.run(parsed.positionals, values);
}

/** Exits once stdout and stderr are flushed: a large output to a pipe is otherwise cut short. */
function exit(code: number): void {
  process.exitCode = code;
  process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
}

const argv = process.argv.slice(2);
const command = argv[0] && argv[0] in COMMANDS ? argv[0] : undefined;
main(argv).then(
  (code) => exit(code),
  (e: unknown) => {
    const who = command ? `kiln ${command}` : 'kiln';
    console.error(`${who}: ${errorParagraph(e, argv.includes('--debug'))}`);
    if (e instanceof UsageError) {
      console.error(`Run '${command ? `kiln help ${command}` : 'kiln --help'}' for usage.`);
      exit(EXIT_USAGE);
    } else exit(EXIT_FAILURE);
  },
);
