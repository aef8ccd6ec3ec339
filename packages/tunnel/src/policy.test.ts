import { describe, expect, it } from 'vitest'
import { classifyCloudflaredLine } from './classify.js'
import {
  decideExit,
  environmentOf,
  FallbackPolicy,
  IncidentWindow,
  PublicProbePolicy,
} from './internal/policy.js'
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
  environment: undefined,
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

  it('restarts other exits with backoff; they count as crashes unless the environment is to blame', () => {
    expect(decideExit(facts({ exitCode: 1 }))).toEqual({
      action: 'restart',
      reason: 'exit',
      immediate: false,
      crash: true,
    })
    for (const cause of [
      'dns-failure',
      'network-down',
      'edge-unreachable',
      'rate-limited',
    ] as const) {
      expect(decideExit(facts({ exitCode: 1, environment: cause }))).toEqual({
        action: 'restart',
        reason: 'exit',
        immediate: false,
        crash: false,
        cause,
      })
    }
  })

  it('still gives up on a malformed token whatever the environment', () => {
    expect(
      decideExit(facts({ exitCode: 255, invalidToken: true, environment: 'dns-failure' })),
    ).toMatchObject({ action: 'fail', reason: 'invalid-token' })
  })
})

describe('environmentOf', () => {
  const line = (text: string) => classifyCloudflaredLine(text)
  it('names DNS failures, rate limits and network errors of the real 2023.7.3 lines', () => {
    expect(
      environmentOf(
        line(
          '2026-11-28T10:22:31Z ERR Initiating shutdown error="Could not lookup srv records on _v2-origintunneld._tcp.argotunnel.com: lookup _v2-origintunneld._tcp.argotunnel.com on 127.0.0.53:53: dial udp 127.0.0.53:53: connect: network is unreachable"',
        ),
      ),
    ).toBe('dns-failure')
    expect(
      environmentOf(
        line(
          'failed to request quick Tunnel: Post "https://api.trycloudflare.com/tunnel": dial tcp 127.0.0.1:443: connect: connection refused',
        ),
      ),
    ).toBe('edge-unreachable')
    expect(
      environmentOf(
        line(
          '2026-11-28T10:22:31Z ERR Error unmarshaling QuickTunnel response: error code: 1015 status_code="429 Too Many Requests"',
        ),
      ),
    ).toBe('rate-limited')
  })
  it('leaves real crashes alone', () => {
    expect(
      environmentOf(
        line(
          '2026-11-28T10:22:31Z ERR Initiating shutdown error="failed to serve tunnel: simulated exit"',
        ),
      ),
    ).toBeUndefined()
    expect(environmentOf(line('Provided Tunnel token is not valid.'))).toBeUndefined()
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
