/**
 * Every health response carries Content-Length (GET and HEAD, every endpoint, 404 and 405 of
 * the core), on real listeners of all three frameworks: no chunked probe answers.
 */
import { request } from 'node:http'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHealth, databaseCheck, type Health } from '@scanner/health'
import { FRAMEWORKS } from './fixtures/frameworks.js'
import type { Listening } from './fixtures/servers.js'

interface RawResponse {
  readonly status: number
  readonly headers: Readonly<Record<string, string | string[] | undefined>>
  readonly body: string
}

/** A raw node:http request, so the transfer headers are seen as sent. */
function send(url: string, method: string, headers: Record<string, string> = {}) {
  return new Promise<RawResponse>((resolve, reject) => {
    request(url, { method, headers }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (body += chunk))
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body })
      })
      res.on('error', reject)
    })
      .on('error', reject)
      .end()
  })
}

describe.each(Object.keys(FRAMEWORKS))('%s health responses', (name) => {
  let health: Health
  let server: Listening | undefined

  beforeAll(async () => {
    health = createHealth({
      service: 'scanner-api-é', // a multi-byte name: the length is in bytes
      checks: [databaseCheck({ ping: () => undefined })],
    })
    const start = FRAMEWORKS[name]
    if (start === undefined) throw new Error(name)
    server = await start(health)
  })

  afterAll(async () => {
    await server?.close()
    await health.close()
  })

  it.each(['/health/', '/health/detailed/', '/health/ready/', '/health/live/', '/health/live'])(
    'GET and HEAD %s carry Content-Length, not chunked',
    async (path) => {
      for (const accept of ['application/json', 'application/health+json']) {
        const url = `${String(server?.url)}${path}`
        const get = await send(url, 'GET', { accept })
        expect(get.status).toBe(200)
        expect(get.headers['transfer-encoding']).toBeUndefined()
        expect(get.headers['content-length']).toBe(String(Buffer.byteLength(get.body)))
        expect(get.headers['cache-control']).toBe('no-store')
        const head = await send(url, 'HEAD', { accept })
        expect(head.status).toBe(200)
        expect(head.body).toBe('')
        expect(head.headers['transfer-encoding']).toBeUndefined()
        // Ready and live bodies do not change between two requests: HEAD gives GET's length.
        if (path.includes('ready') || path.includes('live')) {
          expect(head.headers['content-length']).toBe(get.headers['content-length'])
        }
      }
    },
  )

  it('a draining readiness answer carries Content-Length too', async () => {
    const drained = createHealth()
    const start = FRAMEWORKS[name]
    if (start === undefined) throw new Error(name)
    const other = await start(drained)
    drained.drain()
    const res = await send(`${other.url}/health/ready/`, 'GET')
    expect(res.status).toBe(503)
    expect(res.headers['content-length']).toBe(String(Buffer.byteLength(res.body)))
    await other.close()
    await drained.close()
  })
})
