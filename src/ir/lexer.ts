// Tokens of the IR text format, and the error type every parse failure is reported with.
// Literal tokens are decoded here (strings, names, numbers) so that the grammar stays purely
// structural and every decoding problem is reported at its token.
import { createToken, EOF, Lexer, type IToken, type TokenType } from 'chevrotain';
import { KilnError } from './errors.js';

/** A problem in IR text, at a 1-based line and column; the message starts `line L:C: `. */
export class IRParseError extends KilnError {
  override name = 'IRParseError';
  constructor(readonly line: number, readonly column: number, readonly detail: string) {
    super(`line ${line}:${column}: ${detail}`);
  }
}

/** An IRParseError at the start of a token. */
export function errorAt(token: IToken, detail: string): IRParseError {
  return new IRParseError(token.startLine ?? 1, token.startColumn ?? 1, detail);
}

// LABELs are what error messages call a token ("expected ')' but found '{'").
export const Identifier = createToken({ name: 'Identifier', pattern: /[A-Za-z_][A-Za-z0-9_.]*/, label: 'a name' });
const WhiteSpace = createToken({ name: 'WhiteSpace', pattern: /[ \t\r\n]+/, group: Lexer.SKIPPED, line_breaks: true });
const Comment = createToken({ name: 'Comment', pattern: /\/\/[^\n\r]*/, group: Lexer.SKIPPED });
export const Arrow = createToken({ name: 'Arrow', pattern: /->/, label: "'->'" });
export const ValueName = createToken({
  name: 'ValueName', pattern: /%(?:[A-Za-z0-9_.]+|"(?:[^"\\\n\r]|\\.)*")/, label: 'a value name (%name)',
});
export const Str = createToken({ name: 'Str', pattern: /"(?:[^"\\\n\r]|\\.)*"/, label: 'a string' });
export const DeviceTok = createToken({ name: 'Device', pattern: /@[A-Za-z0-9_]+(?::\d+)?/, label: 'a device (@webgpu, @webgpu:N or @cpu)' });
// `inf`/`nan` are numbers unless a longer name starts with them (`info` is a name).
export const NumberTok = createToken({
  name: 'Number', pattern: /-?(?:inf|nan|(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)/, label: 'a number', longer_alt: Identifier,
});
export const GraphKw = createToken({ name: 'Graph', pattern: /graph/, label: "'graph'", longer_alt: Identifier });
export const ReturnKw = createToken({ name: 'Return', pattern: /return/, label: "'return'", longer_alt: Identifier });
const punct = (name: string, text: string) =>
  createToken({ name, pattern: new RegExp(text.replace(/[()[\]{}]/g, '\\$&')), label: `'${text}'` });
export const LParen = punct('LParen', '(');
export const RParen = punct('RParen', ')');
export const LBrace = punct('LBrace', '{');
export const RBrace = punct('RBrace', '}');
export const LBracket = punct('LBracket', '[');
export const RBracket = punct('RBracket', ']');
export const Comma = punct('Comma', ',');
export const Equals = punct('Equals', '=');
export const Colon = punct('Colon', ':');

/** Every token type, in the order the lexer tries them (keywords before names). */
export const allTokens: TokenType[] = [
  WhiteSpace, Comment, Arrow, ValueName, Str, DeviceTok, NumberTok, GraphKw, ReturnKw, Identifier,
  LParen, RParen, LBrace, RBrace, LBracket, RBracket, Comma, Equals, Colon,
];

const lexer = new Lexer(allTokens, { positionTracking: 'full', ensureOptimizations: true });

/** Splits IR text into tokens; the first character that starts no token is an IRParseError. */
export function tokenize(text: string): IToken[] {
  const result = lexer.tokenize(text);
  const bad = result.errors[0];
  if (bad) throw new IRParseError(bad.line ?? 1, bad.column ?? 1, describeBadCharacter(text, bad.offset));
  return result.tokens;
}

function describeBadCharacter(text: string, offset: number): string {
  const c = text[offset]!;
  if (c === '"' || (c === '%' && text[offset + 1] === '"')) {
    return 'unterminated string: expected a closing \'"\' before the end of the line';
  }
  if (c === '%') return `expected a value name after '%' (letters, digits, '_', '.', or a quoted string) but found ${describeChar(text[offset + 1])}`;
  if (c === '@') return `expected a device name after '@' (webgpu, webgpu:N or cpu) but found ${describeChar(text[offset + 1])}`;
  return `unexpected character ${describeChar(c)}`;
}

function describeChar(c: string | undefined): string {
  if (c === undefined || c === '\n' || c === '\r') return 'the end of the line';
  return JSON.stringify(c).replace(/^"|"$/g, "'");
}

/** How an error message names a token it found. */
export function describeToken(token: IToken): string {
  if (token.tokenType === EOF) return 'the end of the input';
  const image = token.image.length > 40 ? `${token.image.slice(0, 37)}...` : token.image;
  return `'${image}'`;
}

/** How an error message names a kind of token it expected. */
export function describeTokenType(type: TokenType): string {
  if (type === EOF) return 'the end of the input';
  return type.LABEL ?? type.name;
}

/** The contents of a string literal (JSON escapes). */
export function stringValue(token: IToken): string {
  return decodeJsonString(token, token.image);
}

/** The name of a value token, without `%` and quotes. */
export function valueNameOf(token: IToken): string {
  const body = token.image.slice(1);
  return body.startsWith('"') ? decodeJsonString(token, body) : body;
}

function decodeJsonString(token: IToken, quoted: string): string {
  try {
    return JSON.parse(quoted) as string;
  } catch {
    throw errorAt(token, `invalid string ${quoted}: expected JSON escapes such as \\" \\\\ \\n \\u00e9 and no control characters`);
  }
}

/** The value of a number token, including `inf`, `-inf` and `nan`. */
export function numberValue(token: IToken): number {
  const s = token.image;
  const body = s.startsWith('-') ? s.slice(1) : s;
  if (body === 'nan') return NaN;
  const magnitude = body === 'inf' ? Infinity : Number(body);
  return s.startsWith('-') ? -magnitude : magnitude;
}

/** Runs `f`, turning a KilnError (bad op, attribute or types) into an IRParseError at `token`. */
export function rethrowAt<T>(token: IToken, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof KilnError && !(e instanceof IRParseError)) throw errorAt(token, e.message);
    throw e;
  }
}
