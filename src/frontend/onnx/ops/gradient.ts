// The Gradient of the ai.onnx.preview.training domain: the derivatives of the tensor named `y`
// with respect to those named `xs`, at the values the node is given for `xs` and then `zs`.
// The nodes computing y from xs and zs are imported again as a function of those, kiln's
// reverse-mode autodiff differentiates it, and the result is inlined where the node stands.
// A y of several elements is differentiated as the sum of its elements (seeded with ones), as
// kiln's autodiff takes any loss.
import { isFloat } from '../../../ir/types.js';
import { inlineGraph } from '../../../ir/inline.js';
import { differentiate } from '../../../passes/autodiff/differentiate.js';
import { typeOf } from '../builder.js';
import { defineOnnxOp } from '../node.js';

defineOnnxOp('ai.onnx.preview.training.Gradient', (n) => {
  const xs = n.attrs.strings('xs') ?? n.fail('needs the attribute xs (the names of the tensors to differentiate with respect to)');
  const zs = n.attrs.strings('zs') ?? [];
  const y = n.attrs.string('y') ?? n.fail('needs the attribute y (the name of the tensor to differentiate)');
  const names = [...xs, ...zs];
  if (n.inputs.length !== names.length) n.fail(`takes one input per name in xs and zs (${names.length}: ${names.join(', ')}), got ${n.inputs.length}`);
  if (new Set(names).size !== names.length) n.fail(`xs and zs name a tensor twice (${names.join(', ')})`);
  const at = names.map((_, i) => n.input(i));
  xs.forEach((x, i) => {
    const { dtype } = typeOf(at[i]!);
    if (!isFloat(dtype)) n.unsupported(`differentiates with respect to '${x}', given ${dtype} values; gradients need floats`);
  });
  const fn = n.importFunction(y, names, at.map(typeOf));
  const loss = fn.graph.outputs[0]!;
  if (!isFloat(loss.type.dtype)) n.unsupported(`differentiates '${y}', a ${loss.type.dtype} tensor; gradients need floats`);
  const withGrads = differentiate(fn.graph, { loss: loss.name, wrt: xs });
  const outs = inlineGraph(n.b.graph, withGrads, [...at.map((x) => n.b.value(x)), ...fn.outside]);
  // The differentiated graph returns y, then one gradient per x.
  return outs.slice(1);
});
