import { describe, expect, it } from 'vitest'
import { decideExit, FallbackPolicy, IncidentWindow, PublicProbePolicy } from './internal/policy.js'
import type { RunFacts } from './internal/policy.js'

function clock(start = 0): { now: () => number; advance: (ms: number) => void } {
  let t = start
  return {
    now: () => t,
    advance: (ms) => {
      t += ms
    },
  }
}

describe('IncidentWindow (QUIC incidents)', () => {
  it('fires once when the threshold is reached within the window, then starts over', () => {
    const c = clock()
    const w = new IncidentWindow(3, 5 * 60_000, c.now)
    expect(w.record()).toBe(false)
    c.advance(60_000)
    expect(w.record()).toBe(false)
    expect(w.count).toBe(2)
    c.advance(60_000)
    expect(w.record()).toBe(true)
    expect(w.count).toBe(0)
    expect(w.record()).toBe(false)
  })

  it('forgets incidents older than the window', () => {
    const c = clock()
    const w = new IncidentWindow(3, 1000, c.now)
    w.record()
    w.record()
    c.advance(1000)
    expect(w.count).toBe(0)
    expect(w.record()).toBe(false)
    c.advance(999)
    expect(w.record()).toBe(false)
    expect(w.record()).toBe(true)
  })
})

describe('FallbackPolicy (http2 after repeated QUIC restarts)', () => {
  it('switches after N QUIC restarts within the window, once', () => {
    const c = clock()
    const p = new FallbackPolicy(2, 30 * 60_000, c.now)
    expect(p.recordQuicRestart()).toBe(false)
    c.advance(29 * 60_000)
    expect(p.recordQuicRestart()).toBe(true)
    expect(p.active).toBe(true)
    expect(p.recordQuicRestart()).toBe(false)
  })

  it('does not switch when the restarts are far apart', () => {
    const c = clock()
    const p = new FallbackPolicy(2, 30 * 60_000, c.now)
    p.recordQuicRestart()
    c.advance(31 * 60_000)
    expect(p.recordQuicRestart()).toBe(false)
    expect(p.active).toBe(false)
  })
})

const facts = (overrides: Partial<RunFacts>): RunFacts => ({
  exitCode: 1,
  signal: null,
  becameReady: false,
  invalidToken: false,
  usage: false,
  networkDown: false,
  lastFatal: undefined,
  ...overrides,
})

describe('decideExit (give-up rules)', () => {
  it('restarts at once after a self-update (11)', () => {
    expect(decideExit(facts({ exitCode: 11 }))).toEqual({
      action: 'restart',
      reason: 'self-update',
      immediate: true,
      crash: false,
    })
  })

  it('gives up on a malformed token and other usage errors (255)', () => {
    expect(decideExit(facts({ exitCode: 255, invalidToken: true }))).toMatchObject({
      action: 'fail',
      reason: 'invalid-token',
    })
    expect(decideExit(facts({ exitCode: 255 }))).toMatchObject({
      action: 'fail',
      reason: 'usage-error',
    })
  })

  it('gives up on exit 0 before any connection, restarts after one', () => {
    expect(decideExit(facts({ exitCode: 0, usage: true }))).toMatchObject({
      action: 'fail',
      reason: 'usage-error',
    })
    expect(decideExit(facts({ exitCode: 0, becameReady: true }))).toMatchObject({
      action: 'restart',
      reason: 'exit',
    })
  })

  it('restarts other exits with backoff; they count as crashes unless the network is down', () => {
    expect(decideExit(facts({ exitCode: 1 }))).toEqual({
      action: 'restart',
      reason: 'exit',
      immediate: false,
      crash: true,
    })
    expect(decideExit(facts({ exitCode: null, signal: 'SIGKILL', networkDown: true }))).toEqual({
      action: 'restart',
      reason: 'exit',
      immediate: false,
      crash: false,
    })
  })
})

describe('PublicProbePolicy', () => {
  it('restarts only when the origin answers and the public URL fails N times in a row', () => {
    const p = new PublicProbePolicy(3)
    expect(p.record({ localOk: true, publicOk: false })).toBe(false)
    expect(p.record({ localOk: true, publicOk: false })).toBe(false)
    expect(p.record({ localOk: false, publicOk: false })).toBe(false)
    expect(p.failures).toBe(2)
    expect(p.record({ localOk: undefined, publicOk: false })).toBe(true)
    expect(p.failures).toBe(0)
    p.record({ localOk: true, publicOk: false })
    p.record({ localOk: true, publicOk: true })
    expect(p.failures).toBe(0)
  })
})
