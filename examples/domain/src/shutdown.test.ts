import { Agent, createServer, request } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { noopLogger } from '@scanner/core'
import { closeConnectionsAfterResponses, handleShutdownSignals, runShutdown } from './shutdown.js'

describe('closeConnectionsAfterResponses', () => {
  it('answers every request, with Connection: close once draining, and ends the connection', async () => {
    const server = createServer((_req, res) => {
      res.end('ok')
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as AddressInfo
    const agent = new Agent({ keepAlive: true, maxSockets: 1 })
    const sockets = new Set<unknown>()
    const get = () =>
      new Promise<{ status: number; connection: string | undefined; body: string }>(
        (resolve, reject) => {
          const req = request({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
            let body = ''
            res.on('data', (chunk: Buffer) => (body += chunk.toString()))
            res.on('end', () => {
              resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, body })
            })
          })
          req.on('socket', (socket) => sockets.add(socket))
          req.on('error', reject)
          req.end()
        },
      )
    expect(await get()).toEqual({ status: 200, connection: 'keep-alive', body: 'ok' })
    expect(await get()).toMatchObject({ connection: 'keep-alive' })
    expect(sockets.size).toBe(1) // one kept-alive connection so far
    const stop = closeConnectionsAfterResponses(server)
    expect(await get()).toEqual({ status: 200, connection: 'close', body: 'ok' })
    expect(await get()).toEqual({ status: 200, connection: 'close', body: 'ok' })
    // The first answer ended the kept-alive connection: the second needed a new one.
    expect(sockets.size).toBe(2)
    const open = () =>
      new Promise<number>((resolve, reject) => {
        server.getConnections((error, count) => {
          if (error) reject(error)
          else resolve(count)
        })
      })
    await expect.poll(open, { timeout: 10_000 }).toBe(0)
    stop()
    expect(await get()).toMatchObject({ connection: 'keep-alive' })
    agent.destroy()
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  })
})

describe('runShutdown', () => {
  it('runs steps in order and keeps going after a failure', async () => {
    const order: string[] = []
    const result = await runShutdown({
      logger: noopLogger,
      steps: [
        { name: 'drain', run: () => order.push('drain') },
        { name: 'tunnel', run: () => Promise.reject(new Error('boom')) },
        {
          name: 'server',
          run: async () => {
            await Promise.resolve()
            order.push('server')
          },
        },
      ],
    })
    expect(order).toEqual(['drain', 'server'])
    expect(result.failed).toEqual(['tunnel'])
  })
})

describe('handleShutdownSignals', () => {
  let dispose: (() => void) | undefined
  afterEach(() => {
    dispose?.()
    vi.useRealTimers()
  })

  it('exits 0 after the steps on SIGTERM and 130 on a second signal', async () => {
    const exit = vi.fn()
    let release: () => void = () => undefined
    const order: string[] = []
    dispose = handleShutdownSignals({
      logger: noopLogger,
      exit,
      steps: [
        { name: 'drain', run: () => order.push('drain') },
        { name: 'slow', run: () => new Promise<void>((resolve) => (release = resolve)) },
      ],
    })
    process.emit('SIGTERM', 'SIGTERM')
    await vi.waitFor(() => {
      expect(order).toEqual(['drain'])
    })
    process.emit('SIGINT', 'SIGINT')
    expect(exit).toHaveBeenLastCalledWith(130)
    release()
    await vi.waitFor(() => {
      expect(exit).toHaveBeenLastCalledWith(0)
    })
  })

  it('ignores the copy of the same signal a package manager forwards, not a later repeat', async () => {
    vi.useFakeTimers()
    const exit = vi.fn()
    let release = (): void => undefined
    dispose = handleShutdownSignals({
      logger: noopLogger,
      exit,
      steps: [{ name: 'slow', run: () => new Promise<void>((resolve) => (release = resolve)) }],
    })
    process.emit('SIGINT', 'SIGINT')
    // Ctrl-C under `pnpm demo`: the terminal's SIGINT and pnpm's forwarded one.
    process.emit('SIGINT', 'SIGINT')
    expect(exit).not.toHaveBeenCalled()
    // A deliberate second Ctrl-C, later, still forces the exit.
    await vi.advanceTimersByTimeAsync(1500)
    process.emit('SIGINT', 'SIGINT')
    expect(exit).toHaveBeenLastCalledWith(130)
    release()
  })

  it('exits 1 when the deadline passes', async () => {
    vi.useFakeTimers()
    const exit = vi.fn()
    dispose = handleShutdownSignals({
      logger: noopLogger,
      exit,
      timeoutMs: 1000,
      steps: [{ name: 'hang', run: () => new Promise(() => undefined) }],
    })
    process.emit('SIGINT', 'SIGINT')
    await vi.advanceTimersByTimeAsync(1000)
    expect(exit).toHaveBeenCalledWith(1)
  })
})
