import { OpTypeError } from '../errors.js';

// ONNX RegexFullMatch takes RE2 syntax. JavaScript's RegExp (with the `u` flag: code points, as
// RE2 reads UTF-8) agrees with RE2 on most of it; where the two read a pattern differently, the
// pattern is rewritten to RE2's meaning or refused:
// - `.` is any character but \n in RE2 (JavaScript also stops at \r, U+2028 and U+2029);
// - \s is [\t\n\f\r ] in RE2 (JavaScript adds \v and Unicode spaces);
// - (?P<name>...) is RE2's spelling of a named group;
// - lookaround and backreferences are not RE2 (it rejects them); flags groups `(?i)`, \A, \z,
//   \Q...\E, \C, \pN, \x{...}, octal escapes and POSIX classes `[[:alpha:]]` are RE2's only: refused.
// \d, \w and \b are ASCII in both.

const RE2_SPACE = '\\t\\n\\f\\r ';
/** Escapes that mean the same in RE2 and in a JavaScript `u` pattern, outside and inside classes. */
const SAME_ESCAPES = new Set(['d', 'D', 'w', 'W', 'n', 't', 'r', 'f', 'v']);
/** Punctuation that may be escaped to stand for itself (a `u` pattern allows only syntax characters and `/`, and `-` in classes). */
const SYNTAX = new Set([...'^$\\.*+?()[]{}|/']);

function refuse(pattern: string, why: string): never {
  throw new OpTypeError(`pattern ${JSON.stringify(pattern)}: ${why}`);
}

/** An RE2 pattern as the JavaScript source that means the same, or an OpTypeError saying why not. */
export function re2ToJs(pattern: string): string {
  let out = '';
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\') {
      const e = pattern[i + 1];
      if (e === undefined) refuse(pattern, 'it ends in a lone backslash');
      i++;
      if (e === 's' || e === 'S') {
        if (!inClass) out += e === 's' ? `[${RE2_SPACE}]` : `[^${RE2_SPACE}]`;
        else if (e === 's') out += RE2_SPACE;
        else refuse(pattern, '\\S inside a character class is not supported');
      } else if (e === 'b' || e === 'B') {
        if (inClass) refuse(pattern, `\\${e} inside a character class is not supported`);
        out += `\\${e}`;
      } else if (SAME_ESCAPES.has(e) || SYNTAX.has(e) || (inClass && e === '-')) {
        out += `\\${e}`;
      } else if (e === 'x' && /^[0-9A-Fa-f]{2}$/.test(pattern.slice(i + 1, i + 3))) {
        out += `\\x${pattern.slice(i + 1, i + 3)}`;
        i += 2;
      } else if (/[A-Za-z0-9]/.test(e)) {
        refuse(pattern, `the escape \\${e} is not supported (kiln reads RE2's \\d \\w \\s \\b, their negations, \\n \\t \\r \\f \\v and \\xHH)`);
      } else {
        // Other escaped punctuation stands for itself in RE2; a `u` pattern wants it bare.
        out += e;
      }
      continue;
    }
    if (inClass) {
      if (c === '[' && pattern[i + 1] === ':') refuse(pattern, 'POSIX classes ([[:alpha:]]) are not supported');
      if (c === ']') inClass = false;
      // `[` and other punctuation are literal in a class for both; a `u` pattern accepts them bare.
      out += c;
      continue;
    }
    if (c === '[') {
      inClass = true;
      out += c;
      // A `]` first (or after `^`) is a literal in RE2; JavaScript would end the class there.
      if (pattern[i + 1] === '^') { out += '^'; i++; }
      if (pattern[i + 1] === ']') { out += '\\]'; i++; }
      continue;
    }
    if (c === '(' && pattern[i + 1] === '?') {
      const rest = pattern.slice(i + 2);
      if (rest.startsWith(':')) { out += '(?:'; i += 2; continue; }
      const named = /^P?<([A-Za-z_][A-Za-z0-9_]*)>/.exec(rest);
      if (named) { out += `(?<${named[1]}>`; i += 1 + named[0].length; continue; }
      refuse(pattern, `the group (?${rest.slice(0, 2)}... is not supported (lookaround and backreferences are not RE2; flag groups are not supported)`);
    }
    out += c === '.' ? '[^\\n]' : c;
  }
  if (inClass) refuse(pattern, 'a character class is not closed');
  return out;
}

const cache = new Map<string, RegExp>();

/** The RegExp that matches a whole string against RE2 pattern `pattern`. */
export function regexOf(pattern: string): RegExp {
  let re = cache.get(pattern);
  if (!re) {
    const source = re2ToJs(pattern);
    try {
      re = new RegExp(`^(?:${source})$`, 'u');
    } catch (e) {
      refuse(pattern, `it is not a valid pattern (${(e as Error).message})`);
    }
    cache.set(pattern, re);
  }
  return re;
}
