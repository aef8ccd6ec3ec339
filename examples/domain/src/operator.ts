import type { IncomingMessage, ServerResponse } from 'node:http'
import type { OperatorRouteHandler } from '@scanner/health'
import type { ScannerApi } from './api.js'
import { isDomainError } from './errors.js'

/** Largest JSON body the operator routes read, in bytes. */
const MAX_BODY_BYTES = 1024

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(text)),
    'cache-control': 'no-store',
  })
  res.end(text)
}

/** Reads a small JSON body; resolves `undefined` when it is too large or not JSON. */
function readJson(req: IncomingMessage): Promise<{ readonly value: unknown } | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > MAX_BODY_BYTES) {
        resolve(undefined)
        req.destroy()
        return
      }
      chunks.push(chunk)
    })
    req.on('end', () => {
      try {
        resolve({ value: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown })
      } catch {
        resolve(undefined)
      }
    })
    req.on('error', () => {
      resolve(undefined)
    })
  })
}

/**
 * The operator-only routes of the example APIs, served on the operator port (never on the
 * public app): `GET /api/feed/mode` reads the upstream feed's mode and `POST /api/feed/mode`
 * with `{"mode":"ok"|"fail"|"slow"}` sets it (fault injection, to open a breaker on demand).
 *
 * @example
 * ```ts
 * await health.listenOperator({ metrics, routes: operatorRoutes(api) })
 * ```
 */
export function operatorRoutes(api: ScannerApi): Record<string, OperatorRouteHandler> {
  return {
    '/api/feed/mode': async function feedMode(req, res) {
      if (req.method === 'GET' || req.method === 'HEAD') {
        sendJson(res, 200, api.feedMode())
        return
      }
      if (req.method !== 'POST') {
        res.setHeader('allow', 'GET, HEAD, POST')
        sendJson(res, 405, { status: 405, detail: 'Method not allowed' })
        return
      }
      const body = await readJson(req)
      if (body === undefined) {
        sendJson(res, 400, { status: 400, detail: 'Expected a JSON body of at most 1 KB' })
        return
      }
      try {
        sendJson(res, 200, api.setFeedMode(body.value))
      } catch (error) {
        if (!isDomainError(error)) throw error
        sendJson(res, error.status ?? 400, { status: error.status, detail: error.message })
      }
    },
  }
}
