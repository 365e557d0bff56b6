// A tiny static server for the browser example, on 127.0.0.1 only. It serves the page
// (examples/browser), kiln's runtime modules as built (dist/src), wgsl_reflect's ES module, and
// artifact folders under /artifacts/NAME/, so the page runs them with no bundler.
//   npx kiln compile dist/examples/mlp/model.js -o mlp.kiln
//   node dist/examples/browser/server.js mlp.kiln        (then open the URL it prints)
import { existsSync, readFileSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { basename, dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface DemoServerOptions {
  /** Folders to serve by URL prefix, e.g. { '/artifacts/': '/tmp/out' } (artifacts, input files). */
  readonly mounts?: Readonly<Record<string, string>>;
  /** Port on 127.0.0.1; 0 (the default) picks a free one. */
  readonly port?: number;
}

export interface DemoServer {
  /** `http://127.0.0.1:PORT`, without a trailing slash. */
  readonly origin: string;
  /** The page's URL (index.html), to which `?artifact=...` is added. */
  readonly page: string;
  /** Paths requested so far, in order (for tests and curiosity). */
  readonly requests: readonly string[];
  close(): Promise<void>;
}

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.wgsl': 'text/plain; charset=utf-8',
  '.kir': 'text/plain; charset=utf-8',
  '.bin': 'application/octet-stream',
};

/** The repository root: the nearest folder above this file with kiln's package.json (works from src and from dist). */
function repoRoot(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'kiln') return dir;
    if (dirname(dir) === dir) throw new Error('cannot find the kiln repository above examples/browser/server');
  }
}

/**
 * Starts the example's server on 127.0.0.1: the page at /examples/browser/ (and / redirects
 * there), dist/src/ and node_modules/wgsl_reflect/ of the repository, and each mount. Nothing
 * else is served: no directory listings, no path outside those folders.
 */
export async function startDemoServer(opts: DemoServerOptions = {}): Promise<DemoServer> {
  const root = repoRoot();
  const roots: [string, string][] = [
    ['/examples/browser/', join(root, 'examples/browser')],
    ['/dist/src/', join(root, 'dist/src')],
    ['/node_modules/wgsl_reflect/', join(root, 'node_modules/wgsl_reflect')],
    ...Object.entries(opts.mounts ?? {}).map(([prefix, dir]): [string, string] => [`/${prefix.replace(/^\/+|\/+$/g, '')}/`, resolve(dir)]),
  ];
  const requests: string[] = [];

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://127.0.0.1').pathname);
    requests.push(path);
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(res, 405, 'only GET and HEAD');
    if (path === '/' || path === '/index.html') {
      res.writeHead(302, { location: `/examples/browser/index.html${new URL(req.url ?? '/', 'http://x').search}` });
      res.end();
      return;
    }
    const route = roots.find(([prefix]) => path.startsWith(prefix));
    if (!route || path.includes('\0')) return reply(res, 404, 'not found');
    const [prefix, dir] = route;
    const file = resolve(dir, `.${sep}${path.slice(prefix.length)}`);
    // resolve() removes '..': whatever is left must still lie inside the mounted folder.
    if (file !== dir && !file.startsWith(dir + sep)) return reply(res, 404, 'not found');
    let body: Buffer;
    try {
      const target = (await stat(file)).isDirectory() ? join(file, 'index.html') : file;
      body = await readFile(target);
      res.writeHead(200, { 'content-type': TYPES[extname(target)] ?? 'application/octet-stream', 'cache-control': 'no-store' });
    } catch {
      return reply(res, 404, 'not found');
    }
    res.end(req.method === 'HEAD' ? undefined : body);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => reply(res, 500, String(e)));
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(opts.port ?? 0, '127.0.0.1', () => ok());
  });
  const { port } = server.address() as { port: number };
  const origin = `http://127.0.0.1:${port}`;
  return {
    origin,
    page: `${origin}/examples/browser/index.html`,
    requests,
    close: () => new Promise<void>((ok) => {
      server.closeAllConnections();
      server.close(() => ok());
    }),
  };
}

function reply(res: ServerResponse, status: number, text: string): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(text);
}

/** `node server.js [ARTIFACT ...] [--port N]`: serves each artifact folder as /artifacts/NAME/ and prints its page. */
async function main(args: string[]): Promise<void> {
  const portAt = args.indexOf('--port');
  const port = portAt >= 0 ? Number(args[portAt + 1]) : 8080;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port takes a port number, got '${args[portAt + 1] ?? ''}'`);
  const dirs = portAt < 0 ? args : args.filter((_, i) => i !== portAt && i !== portAt + 1);
  const mounts: Record<string, string> = {};
  for (const dir of dirs) mounts[`/artifacts/${basename(resolve(dir))}/`] = dir;
  const server = await startDemoServer({ mounts, port });
  console.log(`serving on ${server.origin} (127.0.0.1 only); Ctrl-C stops it`);
  for (const prefix of Object.keys(mounts)) console.log(`  ${server.page}?artifact=${prefix}`);
  if (dirs.length === 0) console.log(`  ${server.page}  (no artifact given: node server.js ARTIFACT.kiln)`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((e: unknown) => {
    console.error((e as Error).message);
    process.exit(1);
  });
}
