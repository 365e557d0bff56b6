import { existsSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

// The runtime-only entry (`kiln/runtime`) must run an artifact without the compiler: no frontend,
// passes, codegen, artifact writer, IR parser or chevrotain may be reachable from it. And so that it bundles for a
// browser, no Node built-in either, except in the Node-only artifact loader, which the entry
// reaches only through a dynamic import that bundlers leave alone.

const ROOT = resolve(import.meta.dirname, '../..');
const FORBIDDEN_FILES = [/^src\/frontend\//, /^src\/passes\//, /^src\/codegen\//, /^src\/cli\//, /^src\/artifact-writer\//, /^src\/ir\/parser\.ts$/, /^src\/ir\/lexer\.ts$/, /^src\/compiler\.ts$/];
const NODE_ONLY_LOADER = 'src/runtime/artifact-node';
const NODE_BUILTINS = new Set(builtinModules);

interface ModuleGraph {
  /** Every file loaded at run time by static imports, relative to the repo root. */
  readonly files: Set<string>;
  /** Bare package specifiers, with one file that imports each. */
  readonly packages: Map<string, string>;
  /** Dynamic imports with a literal specifier, as `file -> specifier`. */
  readonly dynamic: string[];
}

/** Runtime import specifiers of one file: type-only imports and exports are erased by tsc, so skipped. */
function runtimeImports(file: string): { static: string[]; dynamic: string[] } {
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
  const out = { static: [] as string[], dynamic: [] as string[] };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
      const clause = node.importClause;
      const typeOnly = clause?.isTypeOnly ||
        (clause && !clause.name && clause.namedBindings && ts.isNamedImports(clause.namedBindings) &&
          clause.namedBindings.elements.length > 0 && clause.namedBindings.elements.every((e) => e.isTypeOnly));
      if (!typeOnly) out.static.push(node.moduleSpecifier.text);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      const typeOnly = node.isTypeOnly ||
        (node.exportClause && ts.isNamedExports(node.exportClause) && node.exportClause.elements.length > 0 &&
          node.exportClause.elements.every((e) => e.isTypeOnly));
      if (!typeOnly) out.static.push(node.moduleSpecifier.text);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const arg = node.arguments[0];
      if (arg && ts.isStringLiteral(arg)) out.dynamic.push(arg.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return out;
}

/** Resolves a relative specifier as NodeNext does for our sources (`./x.js` is `./x.ts` in src). */
function resolveRelative(from: string, spec: string): string {
  const base = resolve(dirname(from), spec);
  for (const candidate of [base, base.replace(/\.js$/, '.ts'), `${base}.ts`, join(base, 'index.ts')]) {
    if (existsSync(candidate) && !candidate.endsWith('/')) return candidate;
  }
  throw new Error(`cannot resolve '${spec}' from ${relative(ROOT, from)}`);
}

/** Walks the static import graph from `entry`. */
function moduleGraph(entry: string): ModuleGraph {
  const graph: ModuleGraph = { files: new Set(), packages: new Map(), dynamic: [] };
  const queue = [entry];
  while (queue.length) {
    const file = queue.pop()!;
    const rel = relative(ROOT, file);
    if (graph.files.has(rel)) continue;
    graph.files.add(rel);
    const { static: imports, dynamic } = runtimeImports(file);
    for (const spec of imports) {
      if (spec.startsWith('.')) queue.push(resolveRelative(file, spec));
      else if (!graph.packages.has(spec)) graph.packages.set(spec, rel);
    }
    for (const spec of dynamic) graph.dynamic.push(`${rel} -> ${spec}`);
  }
  return graph;
}

const isNodeBuiltin = (spec: string) => spec.startsWith('node:') || NODE_BUILTINS.has(spec.split('/')[0]!);

describe('runtime-only entry', () => {
  const fromSource = moduleGraph(join(ROOT, 'src/runtime/index.ts'));

  it('reaches no frontend, passes, codegen, artifact writer, IR parser or lexer', () => {
    const bad = [...fromSource.files].filter((f) => FORBIDDEN_FILES.some((re) => re.test(f)));
    expect(bad).toEqual([]);
    // The walk really covers the runtime (a broken walker would pass vacuously).
    expect(fromSource.files).toContain('src/runtime/session.ts');
    expect(fromSource.files).toContain('src/runtime/inference-session.ts');
    expect(fromSource.files).toContain('src/runtime/artifact.ts');
    expect(fromSource.files).toContain('src/ir/errors.ts');
  });

  it('imports no chevrotain and only the packages a runtime needs', () => {
    const packages = [...fromSource.packages.keys()].filter((p) => !isNodeBuiltin(p)).sort();
    expect(packages).not.toContain('chevrotain');
    // webgpu is Dawn for Node; a browser bundle maps it to navigator.gpu (see README).
    expect(packages).toEqual(['webgpu', 'wgsl_reflect/wgsl_reflect.module.js']);
  });

  it('imports no Node built-in statically, so it bundles for a browser', () => {
    const builtins = [...fromSource.packages.entries()].filter(([p]) => isNodeBuiltin(p)).map(([p, f]) => `${f} imports ${p}`);
    expect(builtins).toEqual([]);
    expect([...fromSource.files].filter((f) => f.startsWith(NODE_ONLY_LOADER))).toEqual([]);
    expect(fromSource.dynamic).toEqual([]);
  });

  it('the Node-only loader is the one runtime file with node: imports and reaches nothing forbidden', () => {
    const loader = moduleGraph(join(ROOT, `${NODE_ONLY_LOADER}.ts`));
    expect([...loader.files].filter((f) => FORBIDDEN_FILES.some((re) => re.test(f)))).toEqual([]);
    const builtinUsers = new Set([...loader.packages.entries()].filter(([p]) => isNodeBuiltin(p)).map(([, f]) => f));
    expect([...builtinUsers]).toEqual([`${NODE_ONLY_LOADER}.ts`]);
  });

  it('the inference session names the Node-only loader it imports at run time', () => {
    // The dynamic import is through a variable (invisible to bundlers); check it names the loader.
    const text = readFileSync(join(ROOT, 'src/runtime/inference-session.ts'), 'utf8');
    expect(text).toMatch(/const NODE_LOADER = '\.\/artifact-node\.js'/);
  });

  it('holds for the built JavaScript too, when it has been built', (ctx) => {
    const entry = join(ROOT, 'dist/src/runtime/index.js');
    if (!existsSync(entry)) ctx.skip('dist/ not built (npm run build)');
    const built = moduleGraph(entry);
    const forbidden = [...built.files].map((f) => f.replace(/^dist\//, '').replace(/\.js$/, '.ts')).filter((f) => FORBIDDEN_FILES.some((re) => re.test(f)));
    expect(forbidden).toEqual([]);
    expect([...built.packages.keys()]).not.toContain('chevrotain');
    expect([...built.packages.keys()].filter(isNodeBuiltin)).toEqual([]);
  });
});
