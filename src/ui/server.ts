/**
 * `convlab ui`: a local web server on 127.0.0.1 for the dashboard and the playground (the static site in
 * dist/web/) and the runs API. Every response is cross-origin isolated (COOP same-origin, COEP require-corp), so the
 * playground gets shared memory and threads. Requests naming another Host, or sent from a page of another origin,
 * are refused: only pages this server served may read the runs.
 *
 *   GET /api/runs                  the run list (summary rows, live flags)
 *   GET /api/runs/<name>           one run: config, epoch rows, evaluation, latest confusion matrix, ETA
 *   GET /api/runs/<name>/events    the same, pushed with server-sent events whenever its files change
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { listRuns, runDetails, runStamp } from './runs.js';

export interface UiServerOptions {
  /** Folder holding run directories (default: runs). */
  runsDir: string;
  /** Port on 127.0.0.1; 0 picks a free one. */
  port: number;
  /** The static site (default: dist/web of this package). */
  webRoot?: string;
  /** How often live runs' files are checked, in ms (default 500). */
  pollMs?: number;
}

export interface UiServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** A port already in use, as one line naming it. */
export class PortInUseError extends Error {
  override name = 'PortInUseError';
  constructor(readonly port: number) {
    super(`port ${port} on 127.0.0.1 is already in use; choose another with --port`);
  }
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm', '.json': 'application/json', '.map': 'application/json', '.gz': 'application/gzip',
  '.safetensors': 'application/octet-stream', '.png': 'image/png', '.svg': 'image/svg+xml',
};

/** dist/src/ui/server.js → dist/web. */
export function defaultWebRoot(): string {
  return fileURLToPath(new URL('../../web/', import.meta.url));
}

function isolationHeaders(res: ServerResponse): void {
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
  res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
  res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Cache-Control', 'no-cache');
}

function send(res: ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

/** Why a request is refused (another Host, a foreign Origin), or null when it may be served. */
export function refusal(req: IncomingMessage, port: number): string | null {
  const allowed = [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`];
  const host = req.headers.host ?? '';
  if (!allowed.includes(host.toLowerCase())) return `refused: Host '${host}' is not this dashboard (${allowed[0]})`;
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== 'null' && !allowed.some((a) => origin.toLowerCase() === `http://${a}`)) {
    return `refused: requests from ${origin} may not read this dashboard`;
  }
  return null;
}

export async function startUiServer(opts: UiServerOptions): Promise<UiServer> {
  const webRoot = resolve(opts.webRoot ?? defaultWebRoot());
  if (!existsSync(join(webRoot, 'index.html'))) {
    throw new Error(`${webRoot}: the web build is missing (run npm run build:web)`);
  }
  const runsDir = resolve(opts.runsDir);
  const pollMs = opts.pollMs ?? 500;
  const streams = new Set<ServerResponse>();
  let port = opts.port;

  const serveStatic = (path: string, res: ServerResponse): void => {
    const file = resolve(webRoot, '.' + (path === '/' ? '/index.html' : path));
    if (!(file === webRoot || file.startsWith(webRoot + sep)) || !existsSync(file) || !statSync(file).isFile()) {
      send(res, 404, `not found: ${path}`);
      return;
    }
    res.writeHead(200, { 'Content-Type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream', 'Content-Length': statSync(file).size });
    createReadStream(file).pipe(res);
  };

  const streamRun = (name: string, req: IncomingMessage, res: ServerResponse): void => {
    res.writeHead(200, { 'Content-Type': 'text/event-stream', Connection: 'keep-alive' });
    streams.add(res);
    let stamp = '';
    let busy = false;
    const push = async (): Promise<void> => {
      if (busy) return;
      busy = true;
      try {
        const next = runStamp(runsDir, name);
        if (next === stamp) return;
        stamp = next;
        const details = await runDetails(runsDir, name);
        res.write(`event: run\ndata: ${JSON.stringify(details)}\n\n`);
      } catch (e) {
        // A file caught mid-replace, or damaged: say so and try again at the next change.
        res.write(`event: problem\ndata: ${JSON.stringify((e as Error).message)}\n\n`);
      } finally {
        busy = false;
      }
    };
    const timer = setInterval(() => void push(), pollMs);
    void push();
    req.on('close', () => { clearInterval(timer); streams.delete(res); });
  };

  const api = async (path: string, req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (path === '/api/runs') {
      send(res, 200, JSON.stringify({ runsDir, runs: await listRuns(runsDir) }), 'application/json');
      return;
    }
    const events = path.endsWith('/events');
    const name = decodeURIComponent(path.slice('/api/runs/'.length, events ? -'/events'.length : undefined));
    if (events) { streamRun(name, req, res); return; }
    const details = await runDetails(runsDir, name);
    if (!details) send(res, 404, `no run '${name}' in ${runsDir}`);
    else send(res, 200, JSON.stringify(details), 'application/json');
  };

  const server: Server = createServer((req, res) => {
    isolationHeaders(res);
    const why = refusal(req, port);
    if (why) { send(res, 403, why); return; }
    if (req.method !== 'GET' && req.method !== 'HEAD') { send(res, 405, 'only GET'); return; }
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    const handled = path.startsWith('/api/runs') ? api(path, req, res) : Promise.resolve(serveStatic(path, res));
    handled.catch((e: unknown) => { if (!res.headersSent) send(res, 500, (e as Error).message); else res.end(); });
  });

  await new Promise<void>((resolveListen, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(e.code === 'EADDRINUSE' ? new PortInUseError(opts.port) : e));
    server.listen(opts.port, '127.0.0.1', () => resolveListen());
  });
  const address = server.address();
  port = typeof address === 'object' && address ? address.port : opts.port;
  return {
    url: `http://127.0.0.1:${port}/`,
    port,
    close: () => new Promise<void>((done) => {
      for (const s of streams) s.end();
      server.closeAllConnections();
      server.close(() => done());
    }),
  };
}
