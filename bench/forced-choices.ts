// The kernel choices the A/B tools take on their command lines: 'heuristic' (the adapter's
// defaults), or FAMILY=VARIANT pairs joined by commas, a pair's FAMILY~TEXT=VARIANT forcing only
// the signatures containing TEXT (which may itself hold commas: `conv~p1,1,1,1=rowsg`).
import type { KernelChooser } from '../src/codegen/lower/lowering.js';

/** A chooser forcing the choice's variants where they are offered, and answering nothing elsewhere. */
export function forcedChooser(choice: string): KernelChooser {
  // A pair starts at a family name (lowercase letters and underscores) followed by '~' or '='.
  const pairs = choice === 'heuristic' ? [] : choice.split(/,(?=[a-z_]+[~=])/);
  const forced = pairs.map((kv) => {
    const at = kv.lastIndexOf('=');
    const [family, text] = kv.slice(0, at).split(/~(.*)/s) as [string, string?];
    return { family, text: text || undefined, variant: kv.slice(at + 1) };
  });
  return (family, signature, variants) => forced.find((f) => f.family === family && (f.text === undefined || signature.includes(f.text)) && variants.includes(f.variant))?.variant;
}
