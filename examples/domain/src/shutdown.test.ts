import { afterEach, describe, expect, it, vi } from 'vitest'
import { noopLogger } from '@scanner/core'
import { PRODUCTION_DRAIN_DELAY_MS, readConfig } from './config.js'
import { handleShutdownSignals, runShutdown } from './shutdown.js'

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

describe('DRAIN_DELAY_MS default', () => {
  it('drains long enough for a balancer in production, and stays fast in demo and development', () => {
    expect(readConfig({}, []).drainDelayMs).toBe(PRODUCTION_DRAIN_DELAY_MS)
    expect(readConfig({ NODE_ENV: 'production' }, []).drainDelayMs).toBe(10_000)
    expect(readConfig({}, ['--demo']).drainDelayMs).toBe(0)
    expect(readConfig({ DEMO: '1' }, []).drainDelayMs).toBe(0)
    expect(readConfig({ NODE_ENV: 'development' }, []).drainDelayMs).toBe(0)
    // An explicit setting wins in every mode.
    expect(readConfig({ DRAIN_DELAY_MS: '2500' }, ['--demo']).drainDelayMs).toBe(2500)
    expect(readConfig({ DRAIN_DELAY_MS: '0' }, []).drainDelayMs).toBe(0)
  })
})

describe('DRAIN_DELAY_MS and SHUTDOWN_TIMEOUT_MS', () => {
  it('refuses a drain the shutdown deadline would cut short, naming both settings', () => {
    expect(() => readConfig({ SHUTDOWN_TIMEOUT_MS: '8000' }, [])).toThrow(
      'Invalid option "DRAIN_DELAY_MS": expected less than SHUTDOWN_TIMEOUT_MS (8000), got "10000 (the production default)"',
    )
    expect(() => readConfig({ DRAIN_DELAY_MS: '5000', SHUTDOWN_TIMEOUT_MS: '5000' }, [])).toThrow(
      'expected less than SHUTDOWN_TIMEOUT_MS (5000), got "5000"',
    )
    expect(readConfig({ SHUTDOWN_TIMEOUT_MS: '8000' }, ['--demo']).drainDelayMs).toBe(0)
  })
})
