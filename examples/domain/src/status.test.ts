import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { createBreakerRegistry } from '@scanner/circuit-breaker'
import { createLogger } from '@scanner/core'
import { createHealth, createStatusHistory } from '@scanner/health'
import { createDeploymentStatus, withErrorHistory } from './status.js'

describe('withErrorHistory', () => {
  it('records errors logged with an error ID (children too), keeps the logger whole', () => {
    const lines: string[] = []
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString())
        done()
      },
    })
    const history = createStatusHistory()
    const logger = withErrorHistory(createLogger({ level: 'info', destination }), history)
    const child = logger.child({ module: 'http' })
    child.error(
      {
        err: new Error('upstream down'),
        errorId: 'err_01JDQ8X6R5T0Y3V9K2M4N6P8Q0',
        route: 'GET /x',
        status: 502,
      },
      'unhandled error',
    )
    child.info({ errorId: 'err_info' }, 'a 404, logged at info')
    logger.warn('no id here')
    expect(typeof logger.flush).toBe('function') // still the pino logger
    expect(logger.level).toBe('info')
    expect(lines).toHaveLength(3)
    expect(history.events()).toEqual([
      expect.objectContaining({
        kind: 'error',
        errorId: 'err_01JDQ8X6R5T0Y3V9K2M4N6P8Q0',
        message: 'GET /x: upstream down',
        status: 502,
      }),
    ])
  })
})

describe('createDeploymentStatus', () => {
  it('serves the page with breakers recorded and a simulated URL marked', async () => {
    const breakers = createBreakerRegistry()
    const health = createHealth({ checks: [] })
    let tunnel:
      | {
          status(): { state: string; url: string }
          onStateChange(l: (e: { state: string; previous: string }) => void): () => void
          onRestart(l: (e: { reason: string }) => void): () => void
          on(event: string, l: (e: never) => void): () => void
        }
      | undefined
    const status = createDeploymentStatus({ health, breakers, tunnel: () => tunnel })
    try {
      breakers.forceOpen(breakers.get('GET /api/feed/:symbol').key)
      tunnel = {
        status: () => ({ state: 'running', url: 'https://a-b-c-d.trycloudflare.com' }),
        onStateChange: () => () => undefined,
        onRestart: () => () => undefined,
        on: () => () => undefined,
      }
      status.watchTunnel(tunnel, { simulated: true })
      const handler = status.routes['/status']
      expect(handler).toBeDefined()
      let body = ''
      await new Promise<void>((resolve) => {
        const res = {
          headersSent: false,
          writeHead: () => res,
          end: (chunk?: string) => {
            body = chunk ?? ''
            resolve()
          },
        }
        void handler?.({ method: 'GET', url: '/status' } as never, res as never)
      })
      expect(body).toContain('https://a-b-c-d.trycloudflare.com (simulated: it does not exist)')
      expect(body).toContain('GET /api/feed/:symbol')
      expect(status.history.events({ kinds: ['breaker'] })).toHaveLength(1)
    } finally {
      await status.close()
      await health.close()
      await breakers.close()
    }
  })
})
