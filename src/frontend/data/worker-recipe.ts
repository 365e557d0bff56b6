import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import { KilnError } from '../../ir/errors.js';

// What a worker thread builds its own copy of something from (a dataset, a collate function, an
// init hook), since functions and class instances cannot be sent to another thread: a module
// every thread can import, the export to call, and arguments that can be sent (structured clone;
// a SharedArrayBuffer among them is shared, not copied). This plays the part pickling a dataset
// plays for PyTorch's worker processes.

/** A module export that a worker thread calls, with `args`, to make what it needs. */
export interface WorkerRecipe {
  /** The module: a URL (`new URL('./dataset.js', import.meta.url)`) or an absolute path; .ts modules load through tsx. */
  readonly module: string | URL;
  /** The exported function to call (default `'default'`). */
  readonly export?: string;
  /** Its arguments, which must survive structured cloning (no functions, no class instances). */
  readonly args?: readonly unknown[];
}

/** A recipe as it travels to a worker: the module as a URL string. */
export interface SentRecipe {
  readonly module: string;
  readonly export: string;
  readonly args: readonly unknown[];
}

/** `recipe` checked and made sendable; `what` names it in errors. */
export function sendable(recipe: WorkerRecipe, what: string): SentRecipe {
  const m = recipe?.module;
  let module: string;
  if (m instanceof URL) module = m.href;
  else if (typeof m === 'string' && /^(file|data):/.test(m)) module = m;
  else if (typeof m === 'string' && isAbsolute(m)) module = pathToFileURL(m).href;
  else throw new KilnError(`${what}: module must be a URL or an absolute path (a worker thread resolves it on its own), got ${JSON.stringify(m)}`);
  const name = recipe.export ?? 'default';
  if (typeof name !== 'string') throw new KilnError(`${what}: export must be the name of an exported function, got ${typeof name}`);
  const args = recipe.args ?? [];
  if (!Array.isArray(args)) throw new KilnError(`${what}: args must be an array`);
  try {
    structuredClone(args);
  } catch (e) {
    throw new KilnError(`${what}: args cannot be sent to a worker thread (${(e as Error).message}); pass data (numbers, strings, arrays, plain objects, typed arrays), not functions or class instances`);
  }
  return { module, export: name, args };
}

/** Whether importing `url` needs a TypeScript loader. */
export function isTypeScript(url: string): boolean {
  return /\.[cm]?tsx?$/.test(new URL(url).pathname);
}

/** Whether this thread loads TypeScript: kiln itself runs from its sources, or tsx was registered here. */
let loadsTypeScript = isTypeScript(import.meta.url);

/** Imports a recipe's module (TypeScript through tsx) and calls its export with `lead` then the recipe's args. */
export async function callRecipe(recipe: SentRecipe, what: string, ...lead: unknown[]): Promise<unknown> {
  if (isTypeScript(recipe.module) && !loadsTypeScript) {
    (await import('tsx/esm/api')).register();
    loadsTypeScript = true;
  }
  const mod = await import(recipe.module) as Record<string, unknown>;
  const fn = mod[recipe.export];
  if (typeof fn !== 'function') {
    throw new KilnError(`${what}: ${recipe.module} has no exported function '${recipe.export}' (exports: ${Object.keys(mod).join(', ') || 'none'})`);
  }
  return fn(...lead, ...recipe.args);
}
