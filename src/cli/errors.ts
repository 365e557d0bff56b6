import { KilnError } from '../ir/errors.js';

// How the command line fails: a usage error (a bad flag, a missing argument) exits 2, any other
// failure 1; each prints one paragraph, never a stack unless --debug asks for it.

/** The command line was used wrongly: exit code 2, with a pointer to the command's help. */
export class UsageError extends KilnError {
  override name = 'UsageError';
}

export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/**
 * The paragraph printed for an error. kiln's own errors are written for users and printed
 * whole; anything else (a Node or esbuild error reaching here is a gap in kiln's checks) is
 * reduced to its message, with where to get the stack.
 */
export function errorParagraph(e: unknown, debug: boolean): string {
  if (debug && e instanceof Error && e.stack) return e.stack;
  if (e instanceof KilnError) return e.message;
  const message = e instanceof Error ? e.message : String(e);
  return `${message.split('\n').filter((l) => l.trim()).slice(0, 3).join('\n')}\n(an unexpected error: run again with --debug for its stack)`;
}
