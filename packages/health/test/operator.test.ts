/**
 * The operator port: a real node:http listener on 127.0.0.1:0 serving the health endpoints with
 * details, /metrics and extra routes (including a long-lived Server-Sent Events stream), closed
 * by health.close().
 */
import { request } from 'node:http'
import { Registry, Counter } from 'prom-client'
import { afterEach, describe, expect, it } from 'vitest'
import { isInvalidOptionError, isScannerError } from '@scanner/core'
import { createHealth, databaseCheck, type Health, type HealthOptions } from '@scanner/health'

const healths: Health[] = []

function makeHealth(options: HealthOptions = {}): Health {
  const health = createHealth({
    service: 'scanner-api',
    version: '1.2.3',
    checks: [databaseCheck({ ping: () => undefined })],
    ...options,
  })
  healths.push(health)
  return health
}

afterEach(async () => {
  await Promise.all(healths.splice(0).map((h) => h.close()))
})

async function get(url: string, init: RequestInit = {}) {
  const res = await fetch(url, init)
  return { status: res.status, headers: res.headers, text: await res.text() }
}

describe('health.listenOperator()', () => {
  it('listens on 127.0.0.1 and shows details to every caller of the port', async () => {
    const health = makeHealth({ details: 'never' })
    const operator = await health.listenOperator()
    expect(operator.host).toBe('127.0.0.1')
    expect(operator.port).toBeGreaterThan(0)
    expect(operator.url).toBe(`http://127.0.0.1:${operator.port}`)
    for (const path of ['/health/detailed/', '/health/detailed']) {
      const res = await get(operator.url + path, { headers: { 'cf-ray': '230b030023ae2822-SJC' } })
      expect(res.status).toBe(200)
      expect(res.headers.get('cache-control')).toBe('no-store')
      expect(res.headers.get('content-length')).toBe(String(Buffer.byteLength(res.text)))
      expect(JSON.parse(res.text)).toHaveProperty('components.database.status', 'healthy')
    }
    const basic = JSON.parse((await get(`${operator.url}/health/`)).text) as object
    expect(basic).toMatchObject({ version: '1.2.3', system: expect.any(Object) })
    expect((await get(`${operator.url}/health/live/`)).status).toBe(200)
    const head = await get(`${operator.url}/health/ready/`, { method: 'HEAD' })
    expect(head.status).toBe(200)
    expect(head.text).toBe('')
    expect(Number(head.headers.get('content-length'))).toBeGreaterThan(0)
    health.drain()
    expect((await get(`${operator.url}/health/ready/`)).status).toBe(503)
    expect((await get(`${operator.url}/nope`)).status).toBe(404)
    const post = await get(`${operator.url}/health/`, { method: 'POST' })
    expect(post.status).toBe(405)
    expect(post.headers.get('allow')).toBe('GET, HEAD')
  })

  it('serves /metrics from the registry it is given, and only then', async () => {
    const registry = new Registry()
    new Counter({ name: 'operator_test_total', help: 'a test counter', registers: [registry] }).inc(
      3,
    )
    const health = makeHealth({ metrics: registry })
    const withMetrics = await health.listenOperator({ metrics: registry })
    const res = await get(`${withMetrics.url}/metrics`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe(registry.contentType)
    expect(res.headers.get('content-length')).toBe(String(Buffer.byteLength(res.text)))
    expect(res.text).toContain('operator_test_total 3')
    expect(res.text).toContain('health_requests_total')
    expect((await get(`${withMetrics.url}/metrics?x=1`)).status).toBe(200)
    expect((await get(`${withMetrics.url}/metrics`, { method: 'DELETE' })).status).toBe(405)
    const without = await health.listenOperator()
    expect((await get(`${without.url}/metrics`)).status).toBe(404)
  })

  it('mounts routes on their exact path, any method, and contains their failures', async () => {
    const health = makeHealth()
    const seen: string[] = []
    const operator = await health.listenOperator({
      routes: {
        '/status': (req, res) => {
          seen.push(`${req.method ?? ''} ${req.url ?? ''}`)
          res.writeHead(200, { 'content-type': 'text/plain' }).end('ok')
        },
        '/throws': () => {
          throw new Error('internal detail')
        },
        '/rejects': () => Promise.reject(new Error('internal detail')),
      },
    })
    expect((await get(`${operator.url}/status?since=1`)).text).toBe('ok')
    expect((await get(`${operator.url}/status`, { method: 'POST', body: 'x' })).text).toBe('ok')
    expect(seen).toEqual(['GET /status?since=1', 'POST /status'])
    expect((await get(`${operator.url}/status/`)).status).toBe(404)
    expect((await get(`${operator.url}/STATUS`)).status).toBe(404)
    for (const path of ['/throws', '/rejects']) {
      const res = await get(operator.url + path)
      expect(res.status).toBe(500)
      expect(res.text).toBe('{"status":"error"}')
    }
  })

  it('ends long-lived responses (Server-Sent Events) when health.close() runs', async () => {
    const health = makeHealth()
    let streams = 0
    const operator = await health.listenOperator({
      routes: {
        '/status/events': (_req, res) => {
          streams++
          res.writeHead(200, { 'content-type': 'text/event-stream' })
          res.write('data: hello\n\n')
          const timer = setInterval(() => res.write(': ping\n\n'), 50)
          res.on('close', () => {
            clearInterval(timer)
          })
        },
      },
    })
    const ended = new Promise<string>((resolve, reject) => {
      request(`${operator.url}/status/events`, (res) => {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => (text += chunk))
        res.on('end', () => {
          resolve(text)
        })
        res.on('error', reject)
      })
        .on('error', reject)
        .end()
    })
    await expect.poll(() => streams, { timeout: 10_000 }).toBe(1)
    await health.close()
    expect(await ended).toContain('data: hello')
    await expect(fetch(`${operator.url}/health/live/`)).rejects.toThrow()
    await operator.close() // idempotent
  })

  it('lets a response still being prepared finish when it closes', async () => {
    const health = makeHealth()
    let release = (): void => undefined
    let arrived = false
    const operator = await health.listenOperator({
      routes: {
        '/slow': (_req, res) =>
          new Promise<void>((resolve) => {
            arrived = true
            release = () => {
              res.end('done')
              resolve()
            }
          }),
      },
    })
    const answer = fetch(`${operator.url}/slow`)
    await expect.poll(() => arrived, { timeout: 10_000 }).toBe(true)
    const closed = operator.close()
    release()
    const res = await answer
    expect(await res.text()).toBe('done')
    expect(res.headers.get('connection')).toBe('close')
    await closed
  })

  it('closes on its own close(), idempotently', async () => {
    const health = makeHealth()
    const operator = await health.listenOperator()
    await Promise.all([operator.close(), operator.close()])
    await expect(fetch(`${operator.url}/health/live/`)).rejects.toThrow()
    await health.close()
  })

  it.each([
    [{ port: -1 }, 'port'],
    [{ port: 65_536 }, 'port'],
    [{ port: 1.5 }, 'port'],
    [{ port: '8001' }, 'port'],
    [{ host: '' }, 'host'],
    [{ host: 42 }, 'host'],
    [{ metrics: {} }, 'metrics'],
    [{ routes: [] }, 'routes'],
    [{ routes: { status: () => undefined } }, 'routes["status"]'],
    [{ routes: { '/a b': () => undefined } }, 'routes["/a b"]'],
    [{ routes: { '/a?b': () => undefined } }, 'routes["/a?b"]'],
    [{ routes: { '/health/ready/': () => undefined } }, 'routes["/health/ready/"]'],
    [{ routes: { '/x': 'handler' } }, 'routes["/x"]'],
    [{ metrics: new Registry(), routes: { '/metrics': () => undefined } }, 'routes["/metrics"]'],
  ])('rejects %o naming %s', async (options, option) => {
    const health = makeHealth()
    const error: unknown = await health.listenOperator(options as never).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(isInvalidOptionError(error)).toBe(true)
    expect(error).toMatchObject({ option })
    expect(String(error)).toContain(`"${option}"`)
  })

  it('lets /metrics be a route when no registry is given', async () => {
    const health = makeHealth()
    const operator = await health.listenOperator({
      routes: {
        '/metrics': (_req, res) => {
          res.end('mine')
        },
      },
    })
    expect((await get(`${operator.url}/metrics`)).text).toBe('mine')
  })

  it('rejects a busy port with ERR_HEALTH_OPERATOR_LISTEN naming it, and any call after close', async () => {
    const health = makeHealth()
    const first = await health.listenOperator()
    const error: unknown = await health.listenOperator({ port: first.port }).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(isScannerError(error, 'ERR_HEALTH_OPERATOR_LISTEN')).toBe(true)
    expect(String(error)).toContain(`127.0.0.1:${first.port}`)
    expect(String(error)).toContain('EADDRINUSE')
    await health.close()
    const late: unknown = await health.listenOperator().then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(isScannerError(late, 'ERR_HEALTH_CLOSED')).toBe(true)
  })
})

describe('the operator port against DNS rebinding', () => {
  /** GET `path` with a given Host header (node:http sends it as given). */
  function getWithHost(
    url: string,
    path: string,
    host: string,
  ): Promise<{ status: number; text: string }> {
    const { hostname, port } = new URL(url)
    return new Promise((resolve, reject) => {
      request({ hostname, port, path, headers: { host } }, (res) => {
        let text = ''
        res.setEncoding('utf8').on('data', (d: string) => (text += d))
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, text })
        })
      })
        .on('error', reject)
        .end()
    })
  }

  it('answers IP addresses, localhost and allowedHosts in Host; any other name gets 403 on every path', async () => {
    let routeCalls = 0
    const registry = new Registry()
    const health = makeHealth()
    const operator = await health.listenOperator({
      metrics: registry,
      allowedHosts: ['scanner-admin.monitoring.svc'],
      routes: {
        '/status': (_req, res) => {
          routeCalls++
          res.end('page')
        },
      },
    })
    const port = String(operator.port)
    for (const host of [
      `127.0.0.1:${port}`,
      'localhost',
      `LOCALHOST:${port}`,
      `[::1]:${port}`,
      `10.1.2.3:${port}`,
      `Scanner-Admin.monitoring.svc:${port}`,
    ]) {
      expect((await getWithHost(operator.url, '/health/detailed/', host)).status, host).toBe(200)
    }
    expect(routeCalls).toBe(0)
    for (const host of [
      `attacker.example:${port}`,
      'localhost.attacker.example',
      '127.0.0.1.nip.io',
      'scanner-admin.monitoring.svc.attacker.example',
      'a:b:c',
    ]) {
      for (const path of ['/health/detailed/', '/health/', '/metrics', '/status', '/nope']) {
        const answer = await getWithHost(operator.url, path, host)
        expect(answer.status, `${host} ${path}`).toBe(403)
        expect(answer.text).not.toContain('database')
      }
    }
    expect(routeCalls).toBe(0)
  })

  it('rejects allowedHosts that are not host names', async () => {
    const health = makeHealth()
    for (const allowedHosts of [['a b'], ['host:80'], [''], 'host' as unknown as string[]]) {
      const error = await health.listenOperator({ allowedHosts }).catch((e: unknown) => e)
      expect(isInvalidOptionError(error), String(allowedHosts)).toBe(true)
      expect((error as Error).message).toContain('allowedHosts')
    }
  })
})
