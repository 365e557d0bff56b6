import { KilnError } from '../../ir/errors.js';
import { AttributeType, type AttributeObject, type GraphProtoObject, type TensorProtoObject } from './proto.js';

const TYPE_NAMES: Record<number, string> = {
  1: 'float', 2: 'int', 3: 'string', 4: 'tensor', 5: 'graph', 6: 'floats', 7: 'ints', 8: 'strings',
  9: 'tensors', 10: 'graphs', 11: 'sparse tensor', 12: 'sparse tensors', 13: 'type', 14: 'types',
};

/**
 * Typed access to one ONNX node's attributes. An attribute's declared type must match what the
 * op expects (files from old exporters leave `type` unset; then the field that is present decides).
 */
export class OnnxAttrs {
  private readonly byName = new Map<string, AttributeObject>();

  constructor(attrs: readonly AttributeObject[], private readonly where: string) {
    for (const a of attrs) this.byName.set(a.name ?? '', a);
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  names(): string[] {
    return [...this.byName.keys()];
  }

  int(name: string): number | undefined;
  int(name: string, dflt: number): number;
  int(name: string, dflt?: number): number | undefined {
    const a = this.get(name, AttributeType.INT, (x) => x.i !== undefined);
    return a ? a.i ?? 0 : dflt;
  }

  float(name: string): number | undefined;
  float(name: string, dflt: number): number;
  float(name: string, dflt?: number): number | undefined {
    const a = this.get(name, AttributeType.FLOAT, (x) => x.f !== undefined);
    return a ? a.f ?? 0 : dflt;
  }

  string(name: string): string | undefined;
  string(name: string, dflt: string): string;
  string(name: string, dflt?: string): string | undefined {
    const a = this.get(name, AttributeType.STRING, (x) => x.s !== undefined);
    return a ? new TextDecoder().decode(a.s ?? new Uint8Array()) : dflt;
  }

  ints(name: string): number[] | undefined;
  ints(name: string, dflt: number[]): number[];
  ints(name: string, dflt?: number[]): number[] | undefined {
    const a = this.get(name, AttributeType.INTS, (x) => x.ints !== undefined);
    return a ? [...(a.ints ?? [])] : dflt;
  }

  floats(name: string): number[] | undefined;
  floats(name: string, dflt: number[]): number[];
  floats(name: string, dflt?: number[]): number[] | undefined {
    const a = this.get(name, AttributeType.FLOATS, (x) => x.floats !== undefined);
    return a ? [...(a.floats ?? [])] : dflt;
  }

  strings(name: string): string[] | undefined {
    const a = this.get(name, AttributeType.STRINGS, (x) => x.strings !== undefined);
    return a ? (a.strings ?? []).map((s) => new TextDecoder().decode(s)) : undefined;
  }

  tensor(name: string): TensorProtoObject | undefined {
    return this.get(name, AttributeType.TENSOR, (x) => x.t !== undefined)?.t;
  }

  graph(name: string): GraphProtoObject | undefined {
    return this.get(name, AttributeType.GRAPH, (x) => x.g !== undefined)?.g;
  }

  private get(name: string, type: number, present: (a: AttributeObject) => boolean): AttributeObject | undefined {
    const a = this.byName.get(name);
    if (!a) return undefined;
    const declared = a.type ?? AttributeType.UNDEFINED;
    if (declared === AttributeType.UNDEFINED ? !present(a) : declared !== type) {
      const got = declared === AttributeType.UNDEFINED ? 'an attribute of unknown type' : `a ${TYPE_NAMES[declared] ?? `type #${declared}`}`;
      throw new KilnError(`${this.where}: attribute '${name}' must be ${TYPE_NAMES[type]}, got ${got}`);
    }
    return a;
  }
}
