// Graphviz compiled to WebAssembly (@viz-js/viz) renders the dot of graphToDot as SVG, in Node and
// in a browser alike, with no system Graphviz. It is imported on first use: the module embeds
// Graphviz (about 1.5 MB), which nothing else needs.

type Viz = { renderString(src: string, opts: { format: string }): string };
let viz: Promise<Viz> | undefined;

/** The SVG picture of a dot source. */
export async function renderSvg(dot: string): Promise<string> {
  viz ??= import('@viz-js/viz').then((m) => m.instance());
  return (await viz).renderString(dot, { format: 'svg' });
}
