// String ops, on kiln's string_concat, regex_full_match, string_split and string_normalizer (CPU
// reference kernels: string tensors live on the host). Equal on strings is Equal's mapping.
import { re2ToJs } from '../../../ir/ops/regex.js';
import { CASE_CHANGES } from '../../../ir/ops/strings.js';
import { stringTensor } from '../../../ir/tensor-data.js';
import { KilnError } from '../../../ir/errors.js';
import { typeOf } from '../builder.js';
import { defineOnnxOp, type OnnxNode } from '../node.js';
import { constTensor } from '../tensor.js';

function stringInput(n: OnnxNode, i: number) {
  const x = n.input(i);
  if (typeOf(x).dtype !== 'string') n.fail(`input ${i} must be a string tensor, got ${typeOf(x).dtype}`);
  return x;
}

defineOnnxOp('StringConcat', (n) => n.b.op('string_concat', [stringInput(n, 0), stringInput(n, 1)]));

defineOnnxOp('RegexFullMatch', (n) => {
  const pattern = n.attrs.string('pattern');
  if (pattern === undefined) return n.fail("needs the attribute 'pattern'");
  try {
    re2ToJs(pattern);
  } catch (e) {
    if (e instanceof KilnError) n.unsupported(e.message);
    throw e;
  }
  return n.b.op('regex_full_match', [stringInput(n, 0)], { pattern });
});

defineOnnxOp('StringSplit', (n) => {
  const delimiter = n.attrs.string('delimiter');
  const maxsplit = n.attrs.int('maxsplit');
  if (maxsplit !== undefined && maxsplit < 0) n.fail(`maxsplit must be at least 0, got ${maxsplit}`);
  return n.b.ops('string_split', [stringInput(n, 0)], { ...(delimiter ? { delimiter } : {}), ...(maxsplit !== undefined ? { maxsplit } : {}) });
});

// Locales change case mappings and comparisons (Turkish dotless i); kiln applies the default
// (Unicode's locale-independent) mappings, which are en_US's.
const LOCALES = new Set(['', 'en_US', 'en_US.UTF-8', 'C', 'C.UTF-8']);

defineOnnxOp('StringNormalizer', (n) => {
  const x = stringInput(n, 0);
  const locale = n.attrs.string('locale', '');
  if (!LOCALES.has(locale)) n.unsupported(`locale '${locale}' is not supported (kiln's case mappings are the default locale's, en_US)`);
  const shape = typeOf(x).shape;
  if (!(shape.length === 1 || (shape.length === 2 && shape[0] === 1))) n.fail(`takes [C] or [1, C] strings, got [${shape.join(',')}]`);
  const caseChange = n.attrs.string('case_change_action', 'NONE');
  if (!(CASE_CHANGES as readonly string[]).includes(caseChange)) n.fail(`case_change_action must be one of ${CASE_CHANGES.join(', ')}, got '${caseChange}'`);
  const words = n.attrs.strings('stopwords') ?? [];
  const stop = words.length ? [constTensor(`${n.where} stopwords`, stringTensor([words.length], words))] : [];
  return n.b.op('string_normalizer', [x, ...stop], { case_change: caseChange, case_sensitive: n.attrs.int('is_case_sensitive', 0) !== 0 });
});
