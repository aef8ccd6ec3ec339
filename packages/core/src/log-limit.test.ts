import { describe, expect, it } from 'vitest'
import { OutputLimiter, lineShape } from './log-limit.js'

function clock(): { now: () => number; advance(ms: number): void } {
  let t = 0
  return {
    now: () => t,
    advance: (ms) => {
      t += ms
    },
  }
}

describe('lineShape', () => {
  it('makes lines that differ only in times, ports, addresses and ids alike', () => {
    expect(lineShape('2024-01-01T00:00:01Z ERR dial 10.0.0.1:7844 connIndex=1')).toBe(
      lineShape('2025-12-31T23:59:59Z ERR dial 192.168.1.20:443 connIndex=3'),
    )
    expect(lineShape('Registered tunnel connection connIndex=0')).not.toBe(
      lineShape('Connection terminated connIndex=0'),
    )
  })
})

describe('OutputLimiter', () => {
  it('writes a shape `repeats` times per window and summarises the rest when it ends', () => {
    const c = clock()
    const limiter = new OutputLimiter({ repeats: 3, windowMs: 10_000 }, c.now)
    const admitted = Array.from({ length: 10 }, (_, i) => {
      c.advance(100)
      return limiter.admit('cloudflared', `ERR boom ${i}`, i === 9 ? 50 : 40)
    })
    expect(admitted).toEqual([true, true, true, false, false, false, false, false, false, false])
    expect(limiter.drain()).toEqual([])
    c.advance(10_000)
    expect(limiter.drain()).toEqual([
      {
        source: 'cloudflared',
        level: 50,
        count: 7,
        message: '… repeated 7 times in 0.9 s: ERR boom 9',
      },
    ])
    // A new window starts fresh.
    expect(limiter.admit('cloudflared', 'ERR boom 99', 40)).toBe(true)
  })

  it('holds every source to its token bucket and counts the drops', () => {
    const c = clock()
    const limiter = new OutputLimiter({ repeats: 1000, linesPerSecond: 10, burst: 20 }, c.now)
    let written = 0
    for (let i = 0; i < 1000; i++)
      if (limiter.admit('origin', `line ${'x'.repeat(i % 50)}`, 30)) written++
    expect(written).toBe(20)
    c.advance(1000)
    expect(limiter.admit('origin', 'after a second', 30)).toBe(true)
    const [summary] = limiter.drain()
    expect(summary?.count).toBe(980)
    expect(summary?.message).toBe('… 980 lines dropped by the rate limit (10 lines/s) in 1.0 s')
    // Other sources have their own bucket.
    expect(limiter.admit('cloudflared', 'x', 30)).toBe(true)
  })

  it('remembers a bounded number of shapes', () => {
    const c = clock()
    const limiter = new OutputLimiter({ repeats: 1, burst: 1e9, linesPerSecond: 1e9 }, c.now)
    for (let i = 0; i < 10_000; i++) {
      const word = i
        .toString(16)
        .replace(/[0-9a-f]/g, (d) => String.fromCharCode(103 + parseInt(d, 16)))
      limiter.admit('cloudflared', `${word} line`, 30)
      limiter.admit('cloudflared', `${word} line`, 30)
    }
    const summaries = limiter.drain(true)
    // Every shape was suppressed once; the oldest windows were closed early to stay bounded.
    expect(summaries).toHaveLength(10_000)
    expect(summaries.every((s) => s.count === 1)).toBe(true)
  })
})
