// Parses IR text (the format printer.ts writes) into a Graph. Two steps: a chevrotain grammar
// turns tokens into a small syntax tree that keeps every token, then a builder walks the tree
// and calls the Graph API, so each semantic error can point at the token it is about.
import { EmbeddedActionsParser, type IParserErrorMessageProvider, type IRecognitionException, type IToken } from 'chevrotain';
import type { AttrValue } from './attrs.js';
import { KilnError } from './errors.js';
import { toF16Array } from './f16.js';
import { Graph, type Node, type Value } from './graph.js';
import {
  allTokens, Arrow, Colon, Comma, DeviceTok, describeToken, describeTokenType, Equals, errorAt, GraphKw, Identifier,
  IRParseError, LBrace, rethrowAt, LBracket, LParen, NumberTok, numberValue, RBrace, RBracket, ReturnKw, RParen, Str, stringValue,
  tokenize, ValueName, valueNameOf,
} from './lexer.js';
import { getOp, type OpDef } from './ops/index.js';
import { formatValueName } from './printer.js';
import { sizeTable, toType, type SizeAst, type SizeTable, type TypeAst } from './parse-type.js';
import { tensorData, type TensorData } from './tensor-data.js';
import {
  formatShapeType, formatType, numel, shapesEqual, typesEqual, type TensorType,
} from './types.js';

export { IRParseError } from './lexer.js';

export interface ParseOptions {
  /** Data for consts printed as `{ref = "NAME"}` (see graphWeights); refs not found stay data-less. */
  weights?: Map<string, TensorData> | ((ref: string) => TensorData | undefined);
}

/** Parses IR text into a Graph; every problem is an IRParseError with line and column. */
export function parseGraph(text: string, opts: ParseOptions = {}): Graph {
  const tokens = tokenize(text);
  grammar.input = tokens;
  const ast = grammar.graph();
  const syntax = grammar.errors[0];
  if (syntax) throw syntaxError(syntax, tokens);
  const weights = opts.weights;
  const lookup = weights instanceof Map ? (ref: string) => weights.get(ref) : weights ?? (() => undefined);
  return buildGraph(ast, lookup);
}

// ---------------------------------------------------------------------------------------------
// Syntax tree: tokens only; decoding happens in the builder, because the grammar's actions also
// run on placeholder tokens while chevrotain records the grammar.

interface ParamAst { name: IToken; type: TypeAst }
type AttrValueAst =
  | { list: false; token: IToken; graph?: GraphAst }
  | { list: true; open: IToken; items: IToken[] };
interface AttrAst { key: IToken; value: AttrValueAst }
interface NodeAst { results: IToken[]; op: IToken; operands: IToken[]; attrs: AttrAst[]; types: TypeAst[] }
interface GraphAst { name: IToken; params: ParamAst[]; results: TypeAst[]; sizes: SizeAst[]; nodes: NodeAst[]; ret: IToken; outputs: IToken[] }

// Messages say what was expected and what was found, in words rather than token type names.
// A name means different things in different rules, so the rule picks the words.
const TYPE_EXAMPLE = 'a type (such as f32[2,3] @webgpu)';
const expectedInRule: Record<string, string> = {
  'type:Identifier': TYPE_EXAMPLE,
  'node:Identifier': 'an op name',
  'attr:Identifier': 'an attribute name',
  'graph:Return': "a node (%name = op(...) : type) or 'return'",
};

const messages: IParserErrorMessageProvider = {
  buildMismatchTokenMessage: ({ expected, actual, ruleName }) => {
    const want = expectedInRule[`${ruleName}:${expected.name}`] ?? describeTokenType(expected);
    return `expected ${want} but found ${describeToken(actual)}`;
  },
  buildNotAllInputParsedMessage: ({ firstRedundant }) =>
    `expected the end of the input after the graph's '}' but found ${describeToken(firstRedundant)}`,
  buildNoViableAltMessage: ({ expectedPathsPerAlt, actual, customUserDescription }) => {
    const firsts = expectedPathsPerAlt.flatMap((paths) => paths.map((p) => describeTokenType(p[0]!)));
    return `expected ${customUserDescription ?? [...new Set(firsts)].join(' or ')} but found ${describeToken(actual[0]!)}`;
  },
  buildEarlyExitMessage: ({ expectedIterationPaths, actual, customUserDescription }) => {
    const firsts = expectedIterationPaths.map((p) => describeTokenType(p[0]!));
    return `expected ${customUserDescription ?? [...new Set(firsts)].join(' or ')} but found ${describeToken(actual[0]!)}`;
  },
};

class IRGrammar extends EmbeddedActionsParser {
  constructor() {
    super(allTokens, { errorMessageProvider: messages });
    this.performSelfAnalysis();
  }

  // graph NAME(%x: T, ...) -> (T, ...) { node* return %v, ... }
  graph = this.RULE('graph', (): GraphAst => {
    this.CONSUME(GraphKw);
    const name = this.OR({
      DEF: [{ ALT: () => this.CONSUME(Identifier) }, { ALT: () => this.CONSUME(Str) }],
      ERR_MSG: 'a graph name',
    });
    this.CONSUME(LParen);
    const params: ParamAst[] = [];
    this.MANY_SEP({ SEP: Comma, DEF: () => params.push(this.SUBRULE(this.param)) });
    this.CONSUME(RParen);
    this.CONSUME(Arrow);
    this.CONSUME2(LParen);
    const results: TypeAst[] = [];
    this.MANY_SEP2({ SEP: Comma, DEF: () => results.push(this.SUBRULE(this.type)) });
    this.CONSUME2(RParen);
    // sizes(N: [1, 32], W: [8, 1280]): the ranges of the size names the types use.
    const sizes: SizeAst[] = [];
    // `sizes` is a name elsewhere (an attribute key), so the header tells it by its text.
    this.OPTION({
      GATE: () => this.LA(1).image === 'sizes',
      DEF: () => {
      this.CONSUME3(Identifier);
      this.CONSUME3(LParen);
      this.MANY_SEP4({
        SEP: Comma,
        DEF: () => {
          const sizeName = this.CONSUME2(Identifier);
          this.CONSUME(Colon);
          this.CONSUME(LBracket);
          const min = this.CONSUME(NumberTok);
          this.CONSUME3(Comma);
          const max = this.CONSUME2(NumberTok);
          this.CONSUME(RBracket);
          sizes.push({ name: sizeName, min, max });
        },
      });
      this.CONSUME3(RParen);
      },
    });
    this.CONSUME(LBrace);
    const nodes: NodeAst[] = [];
    this.MANY(() => nodes.push(this.SUBRULE(this.node)));
    const ret = this.CONSUME(ReturnKw);
    const outputs: IToken[] = [];
    this.MANY_SEP3({ SEP: Comma, DEF: () => outputs.push(this.CONSUME(ValueName)) });
    this.CONSUME(RBrace);
    return { name, params, results, sizes, nodes, ret, outputs };
  });

  private param = this.RULE('param', (): ParamAst => {
    const name = this.CONSUME(ValueName);
    this.CONSUME(Colon);
    return { name, type: this.SUBRULE(this.type) };
  });

  // %a, %b = op(%x, %y) {key = value, ...} : T, T
  private node = this.RULE('node', (): NodeAst => {
    const results: IToken[] = [];
    this.AT_LEAST_ONE_SEP({ SEP: Comma, DEF: () => results.push(this.CONSUME(ValueName)) });
    this.CONSUME(Equals);
    const op = this.CONSUME(Identifier);
    this.CONSUME(LParen);
    const operands: IToken[] = [];
    this.MANY_SEP({ SEP: Comma, DEF: () => operands.push(this.CONSUME2(ValueName)) });
    this.CONSUME(RParen);
    const attrs: AttrAst[] = [];
    this.OPTION(() => {
      this.CONSUME(LBrace);
      this.MANY_SEP2({ SEP: Comma, DEF: () => attrs.push(this.SUBRULE(this.attr)) });
      this.CONSUME(RBrace);
    });
    this.CONSUME(Colon);
    const types: TypeAst[] = [];
    this.AT_LEAST_ONE_SEP2({ SEP: Comma, DEF: () => types.push(this.SUBRULE(this.type)), ERR_MSG: TYPE_EXAMPLE });
    return { results, op, operands, attrs, types };
  });

  private attr = this.RULE('attr', (): AttrAst => {
    const key = this.CONSUME(Identifier);
    this.CONSUME(Equals);
    const value = this.OR<AttrValueAst>({
      DEF: [
        { ALT: () => ({ list: false, token: this.CONSUME(NumberTok) }) },
        { ALT: () => ({ list: false, token: this.CONSUME(Str) }) },
        { ALT: () => ({ list: false, token: this.CONSUME2(Identifier) }) },
        {
          // A nested graph: the body of a fused kernel.
          ALT: () => {
            const graph = this.SUBRULE(this.graph);
            return { list: false, token: graph.name, graph };
          },
        },
        {
          ALT: () => {
            const open = this.CONSUME(LBracket);
            const items: IToken[] = [];
            // Numbers, or the quoted elements of a string tensor.
            this.MANY_SEP({ SEP: Comma, DEF: () => items.push(this.OR2([{ ALT: () => this.CONSUME2(NumberTok) }, { ALT: () => this.CONSUME2(Str) }])) });
            this.CONSUME(RBracket);
            return { list: true, open, items };
          },
        },
      ],
      ERR_MSG: 'an attribute value (a number, a string, true, false, a [list] or a graph)',
    });
    return { key, value };
  });

  // f32[8,784] @webgpu
  private type = this.RULE('type', (): TypeAst => {
    const dtype = this.CONSUME(Identifier);
    this.CONSUME(LBracket);
    const dims: IToken[] = [];
    // A dimension: a number, a size name, or a quoted size expression ("floor((W-1)/2)+1").
    this.MANY_SEP({
      SEP: Comma,
      DEF: () => dims.push(this.OR([
        { ALT: () => this.CONSUME(NumberTok) }, { ALT: () => this.CONSUME2(Identifier) }, { ALT: () => this.CONSUME(Str) },
      ])),
    });
    this.CONSUME(RBracket);
    return { dtype, dims, device: this.CONSUME(DeviceTok) };
  });
}

// Building the grammar analyses it, which is slow: do it once.
const grammar = new IRGrammar();

function syntaxError(e: IRecognitionException, tokens: IToken[]): IRParseError {
  if (!Number.isNaN(e.token.startOffset)) return errorAt(e.token, e.message);
  // The input ended early: point just past the last token.
  const last = tokens[tokens.length - 1];
  return last ? new IRParseError(last.endLine ?? 1, (last.endColumn ?? 0) + 1, e.message) : new IRParseError(1, 1, e.message);
}

// ---------------------------------------------------------------------------------------------
// Builder: syntax tree -> Graph, through Graph's public API only.

type WeightLookup = (ref: string) => TensorData | undefined;
interface Defined { value: Value; token: IToken }

function buildGraph(ast: GraphAst, weights: WeightLookup, outer: SizeTable = new Map()): Graph {
  const g = new Graph(ast.name.tokenType === Str ? stringValue(ast.name) : ast.name.image);
  const scope = new Map<string, Defined>();
  const sizes = sizeTable(ast.sizes, outer);
  const headerTypes = ast.results.map((t) => toType(t, sizes));
  for (const p of ast.params) {
    const [name] = claimNames([p.name], scope);
    scope.set(name!, { value: g.addInput(name!, toType(p.type, sizes)), token: p.name });
  }
  for (const n of ast.nodes) buildNode(g, n, scope, weights, sizes);
  const outputs = ast.outputs.map((t) => lookupValue(t, scope));
  if (outputs.length !== headerTypes.length) {
    throw errorAt(ast.ret, `expected ${headerTypes.length} return value${headerTypes.length === 1 ? '' : 's'} as the header declares, but found ${outputs.length}`);
  }
  outputs.forEach((v, i) => {
    if (!typesEqual(v.type, headerTypes[i]!)) {
      throw errorAt(ast.outputs[i]!, `expected result ${i} to be ${formatType(headerTypes[i]!)} as the header declares, but ${formatValueName(v.name)} is ${formatType(v.type)}`);
    }
  });
  g.setOutputs(outputs);
  return g;
}

function buildNode(g: Graph, n: NodeAst, scope: Map<string, Defined>, weights: WeightLookup, sizes: SizeTable): void {
  const def = rethrowAt(n.op, () => getOp(n.op.image));
  const inputs = n.operands.map((t) => lookupValue(t, scope));
  const types = n.types.map((t) => toType(t, sizes));
  const attrs = buildAttrs(n, def, types[0]!, weights, sizes);
  if (n.op.image === 'const') attachWeight(n, attrs, types[0]!, weights);
  const names = claimNames(n.results, scope);
  let node: Node;
  try {
    node = g.addNode(def.name, inputs, attrs, { types, names, device: types[0]!.device });
  } catch (e) {
    if (e instanceof KilnError) throw errorAt(blame(def, n, inputs, attrs, types), e.message);
    throw e;
  }
  node.outputs.forEach((v, i) => scope.set(v.name, { value: v, token: n.results[i]! }));
}

/** The token to blame when addNode rejects a node: the first declared type that inference disagrees with, else the op. */
function blame(def: OpDef, n: NodeAst, inputs: Value[], attrs: Record<string, AttrValue>, types: TensorType[]): IToken {
  try {
    const inferred = def.infer(inputs.map((v) => v.type), def.withDefaults(attrs), types);
    const i = inferred.findIndex((t, k) => types[k] && (t.dtype !== types[k]!.dtype || !shapesEqual(t.shape, types[k]!.shape)));
    if (i >= 0) return n.types[i]!.dtype;
  } catch {
    // The op rejects its operands or attributes: that is the op's line, not a declared type.
  }
  return n.op;
}

function claimNames(tokens: IToken[], scope: Map<string, Defined>): string[] {
  const seen = new Map<string, IToken>(); // `%a, %a = ...` repeats a name within one node
  return tokens.map((t) => {
    const name = valueNameOf(t);
    const earlier = scope.get(name)?.token ?? seen.get(name);
    if (earlier) {
      throw errorAt(t, `${formatValueName(name)} is defined twice: it was already defined at line ${earlier.startLine}:${earlier.startColumn}`);
    }
    seen.set(name, t);
    return name;
  });
}

function lookupValue(token: IToken, scope: Map<string, Defined>): Value {
  const found = scope.get(valueNameOf(token));
  if (!found) throw errorAt(token, `${token.image} is not defined above (expected a graph parameter or the result of an earlier node)`);
  return found.value;
}

// ---------------------------------------------------------------------------------------------
// Attributes

function buildAttrs(n: NodeAst, def: OpDef, resultType: TensorType, weights: WeightLookup, sizes: SizeTable): Record<string, AttrValue> {
  const attrs: Record<string, AttrValue> = {};
  for (const a of n.attrs) {
    const key = a.key.image;
    if (key in attrs) throw errorAt(a.key, `attribute '${key}' is given twice`);
    const v = a.value;
    attrs[key] = def.attrSpecs[key]?.kind === 'tensor' ? tensorValue(v, resultType)
      : !v.list && v.graph ? buildGraph(v.graph, weights, sizes) : attrValue(v);
    // Checked one at a time so the error points at the attribute it is about.
    rethrowAt(a.key, () => def.checkAttr(key, attrs[key]!));
  }
  return attrs;
}

function attrValue(v: AttrValueAst): AttrValue {
  if (v.list) {
    return v.items.map((t) => {
      if (t.tokenType !== NumberTok) throw errorAt(t, `expected a number in the list but found ${t.image}`);
      return numberValue(t);
    });
  }
  const t = v.token;
  if (t.tokenType === NumberTok) return numberValue(t);
  if (t.tokenType === Str) return stringValue(t);
  if (t.image === 'true' || t.image === 'false') return t.image === 'true';
  throw errorAt(t, `expected an attribute value (a number, a string, true, false or a [list]) but found '${t.image}'`);
}

/** A tensor attribute: the flat list of elements of the node's declared result type. */
function tensorValue(v: AttrValueAst, type: TensorType): TensorData {
  const desc = formatShapeType(type.dtype, type.shape);
  const count = (k: number) => `${k} element${k === 1 ? '' : 's'}`;
  if (!v.list) throw errorAt(v.token, `expected a [list] of the ${count(numel(type.shape))} of ${desc} but found '${v.token.image}'`);
  if (v.items.length !== numel(type.shape)) {
    throw errorAt(v.open, `expected ${count(numel(type.shape))} for ${desc} but found ${v.items.length}`);
  }
  if (type.dtype === 'string') {
    return tensorData('string', type.shape, v.items.map((t) => {
      if (t.tokenType !== Str) throw errorAt(t, `expected ${DTYPE_RANGE.string} for a string element but found '${t.image}'`);
      return stringValue(t);
    }));
  }
  const values = v.items.map((t) => {
    if (t.tokenType !== NumberTok) throw errorAt(t, `expected ${DTYPE_RANGE[type.dtype]} for a ${type.dtype} element but found ${t.image}`);
    const x = numberValue(t);
    if (!fitsDType(x, type.dtype)) throw errorAt(t, `expected ${DTYPE_RANGE[type.dtype]} for a ${type.dtype} element but found '${t.image}'`);
    return x;
  });
  return type.dtype === 'f16' ? tensorData('f16', type.shape, toF16Array(values)) : tensorData(type.dtype, type.shape, values);
}

const DTYPE_RANGE = {
  f32: 'a number', f16: 'a number', i32: 'an integer in [-2^31, 2^31)', u32: 'an integer in [0, 2^32)', bool: '0 or 1', string: 'a "quoted" string',
} as const;

function fitsDType(x: number, dtype: TensorType['dtype']): boolean {
  switch (dtype) {
    case 'f32': case 'f16': return true;
    case 'i32': return Number.isInteger(x) && x >= -(2 ** 31) && x < 2 ** 31;
    case 'u32': return Number.isInteger(x) && x >= 0 && x < 2 ** 32;
    case 'bool': return x === 0 || x === 1;
    case 'string': return false;
  }
}

/** A const printed as `{ref = "NAME"}` gets its data from the weights, when they have it. */
function attachWeight(n: NodeAst, attrs: Record<string, AttrValue>, type: TensorType, weights: WeightLookup): void {
  const ref = attrs.ref;
  if (typeof ref !== 'string' || attrs.value !== undefined) return;
  const data = weights(ref);
  if (!data) return;
  if (data.dtype !== type.dtype || !shapesEqual(data.shape, type.shape)) {
    const at = n.attrs.find((a) => a.key.image === 'ref')!;
    throw errorAt(at.key, `expected weight "${ref}" to be ${formatShapeType(type.dtype, type.shape)} as declared, but the weights hold ${formatShapeType(data.dtype, data.shape)}`);
  }
  attrs.value = data;
}
