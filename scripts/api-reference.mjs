// Writes docs/api.md, the typed API reference of `kiln/runtime`, from the doc comments of its
// exports (TypeScript's own compiler reads them). `node scripts/api-reference.mjs --check` fails
// when the file is out of date instead of writing it.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const ENTRY = join(ROOT, 'src/runtime/index.ts');
const OUT = join(ROOT, 'docs/api.md');

const program = ts.createProgram([ENTRY], { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, strict: true, types: [] });
const checker = program.getTypeChecker();
const entry = checker.getSymbolAtLocation(program.getSourceFile(ENTRY));
const print = (node) => ts.createPrinter({ removeComments: true }).printNode(ts.EmitHint.Unspecified, node, node.getSourceFile()).replace(/\s+/g, ' ');
const doc = (symbol) => ts.displayPartsToString(symbol.getDocumentationComment(checker)).trim();

/** The declaration's signature line: its text up to the body. */
function signature(decl) {
  const text = print(decl);
  if (ts.isClassDeclaration(decl) || ts.isInterfaceDeclaration(decl)) return text.replace(/\s*\{.*$/, '');
  if ((ts.isFunctionDeclaration(decl) || ts.isMethodDeclaration(decl) || ts.isConstructorDeclaration(decl) || ts.isGetAccessor(decl)) && decl.body) {
    return decl.getText().slice(0, decl.body.getStart() - decl.getStart()).replace(/\s+/g, ' ').trim();
  }
  if (ts.isVariableDeclaration(decl)) return `const ${decl.name.getText()}: ${checker.typeToString(checker.getTypeAtLocation(decl))}`;
  return text.length > 300 ? `${text.slice(0, 300)} …` : text;
}

function members(decl) {
  if (!ts.isClassDeclaration(decl) && !ts.isInterfaceDeclaration(decl)) return [];
  return decl.members.filter((m) => {
    const mods = ts.getCombinedModifierFlags(m);
    // An overloaded method's implementation signature is not part of its type.
    const implementation = m.body && decl.members.some((o) => o !== m && !o.body && o.kind === m.kind && o.name?.getText() === m.name?.getText());
    return !implementation && !(mods & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) && !(m.name && ts.isPrivateIdentifier(m.name));
  }).map((m) => {
    const sym = m.name ? checker.getSymbolAtLocation(m.name) : m.symbol;
    const d = sym ? doc(sym) : '';
    return `- \`${signature(m).replace(/;$/, '')}\`${d ? `: ${d.replace(/\n+/g, ' ')}` : ''}`;
  });
}

const sections = checker.getExportsOfModule(entry).map((exported) => {
  const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
  const decl = symbol.declarations?.[0];
  if (!decl) return '';
  const file = decl.getSourceFile().fileName.slice(ROOT.length + 1);
  const lines = [`### ${exported.name}`, '', `\`${file}\``, '', '```ts', signature(decl), '```'];
  const d = doc(symbol);
  if (d) lines.push('', d);
  const m = members(decl);
  if (m.length) lines.push('', ...m);
  return lines.join('\n');
}).filter(Boolean).sort((a, b) => a.localeCompare(b));

const text = [
  '# `kiln/runtime` API reference',
  '',
  'Generated from the doc comments by `node scripts/api-reference.mjs`; do not edit by hand.',
  'Every export of the runtime-only entry, in alphabetical order.',
  '',
  ...sections.flatMap((s) => [s, '']),
].join('\n');

if (process.argv.includes('--check')) {
  let current = '';
  try { current = readFileSync(OUT, 'utf8'); } catch { /* missing */ }
  if (current !== text) {
    console.error('docs/api.md is out of date: run node scripts/api-reference.mjs');
    process.exit(1);
  }
} else writeFileSync(OUT, text);
