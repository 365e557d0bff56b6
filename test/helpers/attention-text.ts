// Attention graphs as IR text, for the tests of the fused attention kernels and their tuning.

/** softmax(Q K^T * 0.25 [+ mask]) V over [B, H, ., .] tensors, K transposed by a view. */
export function attentionText(o: { q: string; k: string; v: string; out: string; scores: string; sizes?: string; mask?: 'add' | 'where' | ''; maskType?: string; extraOutput?: boolean }): string {
  const { q, k, v, out, scores } = o;
  const kT = k.replace(/\[(.*),(.*),(.*),(.*)\]/, '[$1,$2,$4,$3]');
  const mask = o.mask === 'add' ? `, %mask: f32${o.maskType}` : o.mask === 'where' ? `, %mask: bool${o.maskType}` : '';
  const masked = o.mask === 'add'
    ? `  %m = add(%s, %mask) : f32${scores}\n`
    : o.mask === 'where'
      ? `  %ninf = const() {value = [-inf]} : f32[] @webgpu\n  %m = where(%mask, %s, %ninf) : f32${scores}\n`
      : '  %m = mul(%s, %c) : f32' + scores + '\n';
  return `graph attn(%q: f32${q}, %k: f32${k}, %v: f32${v}${mask}) -> (f32${out}${o.extraOutput ? `, f32${scores}` : ''})${o.sizes ? ` sizes(${o.sizes})` : ''} {
  %c = const() {value = [0.25]} : f32[] @webgpu
  %kT = transpose(%k) {perm = [0, 1, 3, 2]} : f32${kT}
  %r = matmul(%q, %kT) : f32${scores}
  %s = mul(%r, %c) : f32${scores}
${masked}  %p = softmax(%m) {axis = -1} : f32${scores}
  %o = matmul(%p, %v) : f32${out}
  return %o${o.extraOutput ? ', %p' : ''}
}
`.replaceAll(/(f32|bool)(\[[^\]]*\])/g, '$1$2 @webgpu').replaceAll('@webgpu @webgpu', '@webgpu');
}
