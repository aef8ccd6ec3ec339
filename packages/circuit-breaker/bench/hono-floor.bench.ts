// Where the request-ID floor's cost goes on Hono under @hono/node-server (issue 17, item 4), as
// ratios to the bare route, measured in the same run (method: bench/lib/ratio.ts). Every request
// carries the headers a request has behind a Cloudflare Tunnel (../shared/cloudflared.md §9).
//   noop:    one middleware that only calls next(): what any middleware costs
//   read:    the middleware reads one request header (c.req.header)
//   header:  the middleware sets one response header (c.header)
//   reqid:   hono/request-id, the request-ID floor of the breaker bench (read + generate + set)
//   body:    the route answers c.body(body, 200, headers) with three headers (the health handler)
// and the same with Hono's context patched by bench/upstream/hono-context.patch (`+ record`):
// headers set before the response exists stay a plain record, so @hono/node-server writes them
// without building a Headers and reading it back. The patch is applied to a temporary copy of the
// installed hono; nothing in node_modules changes.
import { spawnSync } from 'node:child_process'
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import type { Hono as HonoClass, MiddlewareHandler } from 'hono'
import { listenOnLoopback, runRatioBench, type Variant } from '../../../bench/lib/ratio.js'

/** `hono` runs on @hono/node-server 1.19, `hono-v2` on @hono/node-server 2. */
type Framework = 'hono' | 'hono-v2'
type Mode =
  | 'bare'
  | 'noop'
  | 'read'
  | 'header'
  | 'header-record'
  | 'reqid'
  | 'reqid-record'
  | 'body'
  | 'body-record'
const PATTERN = '/api/quotes/:symbol'
const PATCHED_ENV = 'SCANNER_BENCH_PATCHED_HONO'
/** What the edge adds to every proxied request, plus a browser's usual headers. */
const TUNNEL_HEADERS: Readonly<Record<string, string>> = {
  'user-agent':
    'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36',
  accept: 'application/json',
  'accept-encoding': 'gzip, br',
  'accept-language': 'en-US,en;q=0.9',
  'cf-ray': '230b030023ae2822-SJC',
  'cf-visitor': '{"scheme":"https"}',
  'x-forwarded-proto': 'https',
  'cdn-loop': 'cloudflare',
  'cf-connecting-ip': '203.0.113.7',
  'x-forwarded-for': '203.0.113.7',
  'cf-ipcountry': 'US',
}
const HEALTH_HEADERS = {
  'content-type': 'application/health+json',
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
}
/** Where the read header goes, so that the read is not optimised away. */
const sink: { value?: unknown } = {}

async function serve(framework: Framework, mode: Mode): Promise<number> {
  const patched = mode.endsWith('-record')
  const base = patched ? process.env[PATCHED_ENV] : undefined
  if (patched && base === undefined) throw new Error(`${PATCHED_ENV} is not set`)
  // The patched copy is imported by path: its files, not the installed ones.
  const { Hono } = (await (base === undefined
    ? import('hono')
    : import(pathToFileURL(join(base, 'dist/index.js')).href))) as { Hono: typeof HonoClass }
  const { requestId } = (await (base === undefined
    ? import('hono/request-id')
    : import(pathToFileURL(join(base, 'dist/middleware/request-id/index.js')).href))) as {
    requestId: () => MiddlewareHandler
  }
  const app = new Hono()
  if (mode === 'noop') app.use((_c, next) => next())
  if (mode === 'read') {
    app.use((c, next) => {
      sink.value = c.req.header('x-request-id')
      return next()
    })
  }
  if (mode === 'header' || mode === 'header-record') {
    app.use((c, next) => {
      c.header('x-request-id', '0b9c5f7e-3f4a-4c1e-9d2b-6a1f0e8c7d35')
      return next()
    })
  }
  if (mode === 'reqid' || mode === 'reqid-record') app.use(requestId())
  if (mode === 'body' || mode === 'body-record') {
    app.get(PATTERN, (c) => c.body('{"status":"pass"}', 200, HEALTH_HEADERS))
  } else {
    app.get(PATTERN, (c) => c.json({ symbol: c.req.param('symbol'), price: 101.25 }))
  }
  const { getRequestListener } =
    framework === 'hono-v2'
      ? await import('@hono/node-server-v2')
      : await import('@hono/node-server')
  const listener = getRequestListener(app.fetch)
  return listenOnLoopback((req, res) => {
    void listener(req, res)
  })
}

/** A temporary copy of the installed hono with the upstream proposal applied. */
function patchedHono(): string {
  const entry = fileURLToPath(import.meta.resolve('hono'))
  const root = dirname(dirname(entry))
  const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    version: string
  }
  const dir = mkdtempSync(join(tmpdir(), 'scanner-hono-'))
  cpSync(root, dir, { recursive: true, dereference: true })
  const patch = fileURLToPath(
    new URL('../../../bench/upstream/hono-context.patch', import.meta.url),
  )
  const r = spawnSync('patch', ['-s', '-p1', '-d', dir, '-i', patch], { encoding: 'utf8' })
  if (r.error !== undefined) {
    rmSync(dir, { recursive: true, force: true })
    throw new Error(`the hono-floor bench needs the patch command (${r.error.message})`)
  }
  if (r.status !== 0) {
    rmSync(dir, { recursive: true, force: true })
    throw new Error(
      `bench/upstream/hono-context.patch does not apply to hono ${version}` +
        ` (${(r.stdout + r.stderr).trim() || `exit ${String(r.status)}`})`,
    )
  }
  return dir
}

if (process.argv[2] === 'serve') {
  process.stdout.write(`${await serve(process.argv[3] as Framework, process.argv[4] as Mode)}\n`)
} else {
  const dir = patchedHono()
  process.env[PATCHED_ENV] = dir
  const path = '/api/quotes/ACME'
  const v = (name: Mode, label: string, floors?: Variant['floors']): Variant => ({
    name,
    label,
    path,
    headers: TUNNEL_HEADERS,
    floors,
  })
  try {
    await runRatioBench({
      file: fileURLToPath(import.meta.url),
      frameworks: ['hono', 'hono-v2'],
      variants: [
        v('bare', 'bare route (c.json)'),
        v('noop', 'middleware calling next()'),
        v('read', 'middleware: c.req.header()', [{ name: 'noop' }]),
        v('header', 'middleware: c.header()', [{ name: 'noop' }]),
        v('header-record', 'middleware: c.header() + record', [
          { name: 'noop' },
          { name: 'header' },
        ]),
        v('reqid', 'hono/request-id (the floor)'),
        v('reqid-record', 'hono/request-id + record', [{ name: 'reqid' }]),
        v('body', 'c.body() with 3 headers'),
        v('body-record', 'c.body() with 3 headers + record', [{ name: 'body' }]),
      ],
    })
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
