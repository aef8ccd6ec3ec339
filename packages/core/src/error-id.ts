import { randomFillSync } from 'node:crypto'

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'
const PATTERN = /^err_[0-7][0-9A-HJKMNP-TV-Z]{25}$/
const POOL_SIZE = 4096
const pool = new Uint8Array(POOL_SIZE)
let poolOffset = POOL_SIZE

function encodeTime(ms: number): string {
  let out = ''
  let value = ms
  for (let i = 0; i < 10; i++) {
    out = ALPHABET.charAt(value % 32) + out
    value = Math.floor(value / 32)
  }
  return out
}

// 80 random bits -> 16 characters of 5 bits each, read straight from the pool.
function encodeRandom(): string {
  if (poolOffset + 10 > POOL_SIZE) {
    randomFillSync(pool)
    poolOffset = 0
  }
  const o = poolOffset
  poolOffset += 10
  let out = ''
  let buffer = 0
  let bits = 0
  for (let i = o; i < o + 10; i++) {
    buffer = ((buffer << 8) | (pool[i] ?? 0)) & 0xfff // at most 4 + 8 bits are pending
    bits += 8
    if (bits >= 10) {
      bits -= 10
      out += ALPHABET.charAt((buffer >> (bits + 5)) & 31) + ALPHABET.charAt((buffer >> bits) & 31)
    } else {
      bits -= 5
      out += ALPHABET.charAt((buffer >> bits) & 31)
    }
  }
  return out
}

// The time part changes once per millisecond; IDs made in the same millisecond share it.
let lastTime = -1
let lastTimePart = ''

/**
 * Creates an error ID: `err_` followed by 26 Crockford base32 characters, the first 10 from
 * the 48-bit millisecond timestamp and the last 16 from 80 random bits (`node:crypto`).
 * IDs sort lexicographically by time across milliseconds and cannot be guessed.
 *
 * @example
 * ```ts
 * const id = createErrorId() // 'err_01JDQ8X6R5T0Y3V9K2M4N6P8Q0'
 * ```
 */
export function createErrorId(now: number = Date.now()): string {
  if (now !== lastTime) {
    lastTimePart = 'err_' + encodeTime(now)
    lastTime = now
  }
  return lastTimePart + encodeRandom()
}

/**
 * Tells whether `value` has the shape of an ID made by {@link createErrorId}.
 *
 * @example
 * ```ts
 * isErrorId('err_01JDQ8X6R5T0Y3V9K2M4N6P8Q0') // true
 * ```
 */
export function isErrorId(value: unknown): value is string {
  return typeof value === 'string' && PATTERN.test(value)
}

/** Returns the creation time encoded in an error ID, or `undefined` for a malformed ID. */
export function errorIdTime(id: string): Date | undefined {
  if (!isErrorId(id)) return undefined
  let ms = 0
  for (let i = 4; i < 14; i++) ms = ms * 32 + ALPHABET.indexOf(id.charAt(i))
  return new Date(ms)
}
