import { describe, expect, it } from 'vitest'
import { createErrorId, errorIdTime, isErrorId } from './error-id.js'

describe('createErrorId', () => {
  it('has the documented shape', () => {
    const id = createErrorId()
    expect(id).toMatch(/^err_[0-9A-HJKMNP-TV-Z]{26}$/)
    expect(isErrorId(id)).toBe(true)
  })

  it('makes 200,000 unique IDs in time order across milliseconds', () => {
    const ids: string[] = new Array<string>(200_000)
    const base = Date.UTC(2026, 10, 28)
    for (let i = 0; i < ids.length; i++) ids[i] = createErrorId(base + Math.floor(i / 1000))
    expect(new Set(ids).size).toBe(ids.length)
    // Every ID of a later millisecond sorts after every ID of an earlier one.
    for (let i = 1000; i < ids.length; i += 1000) {
      const prevMsMax = ids.slice(i - 1000, i).reduce((a, b) => (a > b ? a : b))
      const thisMsMin = ids.slice(i, i + 1000).reduce((a, b) => (a < b ? a : b))
      expect(prevMsMax < thisMsMin).toBe(true)
    }
  }, 60_000)

  it('sorts by real time too', () => {
    const a = createErrorId(1_000)
    const b = createErrorId(1_001)
    const c = createErrorId(Date.now())
    expect([c, b, a].sort()).toEqual([a, b, c])
  })

  it('encodes its creation time', () => {
    const now = Date.UTC(2026, 10, 28, 13, 58, 17, 123)
    expect(errorIdTime(createErrorId(now))?.getTime()).toBe(now)
    expect(errorIdTime('nope')).toBeUndefined()
  })

  it('isErrorId rejects malformed values', () => {
    for (const value of [
      '',
      'err_',
      'err_01JDQ8X6R5T0Y3V9K2M4N6P8Q', // 25 chars
      'err_01JDQ8X6R5T0Y3V9K2M4N6P8QU', // U is not Crockford
      'ERR_01JDQ8X6R5T0Y3V9K2M4N6P8Q0',
      'err_81JDQ8X6R5T0Y3V9K2M4N6P8Q0', // beyond 48-bit time
      42,
      null,
    ]) {
      expect(isErrorId(value)).toBe(false)
    }
  })
})
