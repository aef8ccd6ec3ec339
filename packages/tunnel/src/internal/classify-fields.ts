/**
 * The `key=value` fields of cloudflared's console lines: where the message ends and the fields
 * begin, keys (known ones as interned literals), plain and Go-quoted values. Linear in the line,
 * with native searches (indexOf, one sticky regex per known key) rather than character loops
 * where it can.
 */
import { clearNotedFields, noteField } from './classify-draft.js'

/** The frozen empty record of lines without fields. */
export const EMPTY_FIELDS: Record<string, string> = Object.freeze({})

/** Decodes the body of a Go `%q`/`strconv.Quote` string (without the quotes). */
export function unquoteGo(raw: string): string {
  let out = ''
  let i = 0
  const n = raw.length
  while (i < n) {
    const b = raw.indexOf('\\', i)
    if (b < 0) {
      out += raw.slice(i)
      break
    }
    out += raw.slice(i, b)
    const c = raw.charAt(b + 1)
    i = b + 2
    switch (c) {
      case 'n':
        out += '\n'
        break
      case 't':
        out += '\t'
        break
      case 'r':
        out += '\r'
        break
      case 'a':
        out += '\u0007'
        break
      case 'b':
        out += '\b'
        break
      case 'f':
        out += '\f'
        break
      case 'v':
        out += '\v'
        break
      case 'x':
      case 'u':
      case 'U': {
        const len = c === 'x' ? 2 : c === 'u' ? 4 : 8
        const hex = raw.slice(i, i + len)
        const code = hex.length === len && /^[0-9a-fA-F]+$/.test(hex) ? parseInt(hex, 16) : -1
        if (code >= 0 && code <= 0x10ffff) {
          out += String.fromCodePoint(code)
          i += len
        } else {
          out += '\\' + c
        }
        break
      }
      default:
        if (c >= '0' && c <= '7') {
          const oct = raw.slice(b + 1, b + 4)
          if (/^[0-7]{3}$/.test(oct)) {
            out += String.fromCharCode(parseInt(oct, 8) & 0xff)
            i = b + 4
            break
          }
        }
        // `\"`, `\\`, `\'` and anything unknown: keep the character itself.
        out += c
    }
  }
  return out
}

/** 1 for the characters of a field key (`[A-Za-z0-9_.-]`), 2 for those that may start one. */
const KEY_CHAR = new Uint8Array(128)
for (let c = 0; c < 128; c++) {
  const letter = (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95
  if (letter) KEY_CHAR[c] = 2
  else if ((c >= 48 && c <= 57) || c === 46 || c === 45) KEY_CHAR[c] = 1
}

function isKeyChar(c: number): boolean {
  return c < 128 && KEY_CHAR[c] !== 0
}

function isKeyStart(c: number): boolean {
  return c < 128 && KEY_CHAR[c] === 2
}

/** Field keys of cloudflared's log lines (cloudflared.md §1), looked up by length and first letter. */
const KNOWN_KEYS = [
  'autoupdateFreq',
  'cfRay',
  'component',
  'config',
  'connIndex',
  'connection',
  'dest',
  'details',
  'error',
  'event',
  'hard_fail',
  'ingressRule',
  'ip',
  'location',
  'originService',
  'protocol',
  'run_id',
  'status',
  'status_code',
  'suggested_protocol',
  'target',
  'tunnelID',
  'type',
  'version',
]
const MAX_KNOWN_KEY = 32
const KNOWN_KEY_TABLE: (string[] | undefined)[] = new Array<string[] | undefined>(
  MAX_KNOWN_KEY * 128,
)
for (const key of KNOWN_KEYS) {
  const slot = key.length * 128 + key.charCodeAt(0)
  ;(KNOWN_KEY_TABLE[slot] ??= []).push(key)
}

/**
 * The key `s[start, end)`: a known key is returned as its (interned) literal, which spares a
 * string allocation and the hashing of the key when it is stored as a property.
 */
function fieldKey(s: string, start: number, end: number): string {
  const len = end - start
  const first = s.charCodeAt(start)
  if (len < MAX_KNOWN_KEY && first < 128) {
    const candidates = KNOWN_KEY_TABLE[len * 128 + first]
    if (candidates !== undefined) {
      for (const key of candidates) {
        let i = 1
        while (i < len && key.charCodeAt(i) === s.charCodeAt(start + i)) i++
        if (i === len) return key
      }
    }
  }
  return s.slice(start, end)
}

/** A known key followed by `=` at `lastIndex` (one native match instead of two character loops). */
const KNOWN_KEY_EQ = new RegExp(`(?:${KNOWN_KEYS.join('|')})=`, 'y')

/**
 * For each slot of KNOWN_KEY_TABLE with several keys (`error`/`event`, `component`/`connIndex`),
 * a position at which their characters all differ.
 */
const DISTINCT_AT = new Int8Array(MAX_KNOWN_KEY * 128)
KNOWN_KEY_TABLE.forEach((keys, slot) => {
  if (keys === undefined || keys.length < 2) return
  const len = keys[0]?.length ?? 0
  for (let p = 1; p < len; p++) {
    if (new Set(keys.map((key) => key.charCodeAt(p))).size === keys.length) {
      DISTINCT_AT[slot] = p
      return
    }
  }
  throw new Error(`known keys ${keys.join(', ')} differ at no single position`)
})

/** The known key `s[start, end)` (KNOWN_KEY_EQ matched it), as its literal. */
function knownKey(s: string, start: number, end: number): string {
  const slot = (end - start) * 128 + s.charCodeAt(start)
  const candidates = KNOWN_KEY_TABLE[slot]
  if (candidates !== undefined) {
    if (candidates.length === 1) return candidates[0] ?? ''
    const p = DISTINCT_AT[slot] ?? 0
    const c = s.charCodeAt(start + p)
    for (const key of candidates) if (key.charCodeAt(p) === c) return key
  }
  return fieldKey(s, start, end)
}

// The next backslash of the line being split, remembered so that a line of many quoted values
// is searched once (linear), not once per value. Reset by splitMessageAndFields() for each line.
let backslashAt = -2
let backslashFrom = 0

/** Index of the first `\\` at or after `from` in `s` (the line being split), or -1. */
function nextBackslash(s: string, from: number): number {
  if (backslashAt === -2 || from < backslashFrom || (backslashAt >= 0 && backslashAt < from)) {
    backslashAt = s.indexOf('\\', from)
    backslashFrom = from
  }
  return backslashAt
}

/**
 * Parses `key=value key="quoted value" ...` from `i` to the end of `s` into `out`. Returns -1
 * when the run reaches the end of the string, or the position where it stopped being a field run.
 * An unterminated quoted value at the end (a truncated line) is accepted.
 */
function parseFieldRun(s: string, start: number, out: Record<string, string>): number {
  const n = s.length
  let i = start
  for (;;) {
    const ks = i
    let key: string
    KNOWN_KEY_EQ.lastIndex = ks
    if (KNOWN_KEY_EQ.test(s)) {
      i = KNOWN_KEY_EQ.lastIndex - 1
      key = knownKey(s, ks, i)
    } else {
      while (i < n && isKeyChar(s.charCodeAt(i))) i++
      if (i === ks || i >= n || s.charCodeAt(i) !== 61 || !isKeyStart(s.charCodeAt(ks))) {
        return i > ks ? i : ks + 1
      }
      key = fieldKey(s, ks, i)
    }
    i++
    let value: string
    if (i < n && s.charCodeAt(i) === 34) {
      // The closing quote is the first `"` not escaped by a backslash; native searches for both.
      let j = s.indexOf('"', i + 1)
      let b = nextBackslash(s, i + 1)
      const escaped = b >= 0 && (j < 0 || b < j)
      while (b >= 0 && (j < 0 || b < j)) {
        // Skip the escaped character, then look again from after it.
        const after = b + 2
        if (j >= 0 && j < after) j = s.indexOf('"', after)
        b = nextBackslash(s, after)
      }
      if (j < 0) j = n
      const raw = s.slice(i + 1, Math.min(j, n))
      value = escaped ? unquoteGo(raw) : raw
      i = j < n ? j + 1 : n
    } else {
      const j = s.indexOf(' ', i)
      const end = j < 0 ? n : j
      value = s.slice(i, end)
      i = end
    }
    if (key !== '__proto__') out[key] = value
    noteField(key, value)
    if (i >= n) return -1
    if (s.charCodeAt(i) !== 32) return i
    while (i < n && s.charCodeAt(i) === 32) i++
    if (i >= n) return -1
  }
}

/** The fields found by the last splitMessageAndFields() call. */
let splitFields: Record<string, string> = EMPTY_FIELDS

/** The fields found by the last splitMessageAndFields() call. */
export function lastSplitFields(): Record<string, string> {
  return splitFields
}

/**
 * Splits `s` from `start` (`message key=value ...`) into the message (returned) and its fields
 * (then in `lastSplitFields()`): the fields start at the first ` key=` whose remainder parses completely
 * as a field run. Linear: a failed attempt resumes the search where the run stopped parsing.
 */
export function splitMessageAndFields(s: string, start: number): string {
  let from = start
  backslashAt = -2
  for (;;) {
    const eq = s.indexOf('=', from)
    if (eq < 0) break
    let ks = eq
    while (ks > start && isKeyChar(s.charCodeAt(ks - 1))) ks--
    if (ks < eq && isKeyStart(s.charCodeAt(ks)) && (ks === start || s.charCodeAt(ks - 1) === 32)) {
      const fields: Record<string, string> = {}
      clearNotedFields()
      const stop = parseFieldRun(s, ks, fields)
      if (stop < 0) {
        let end = ks
        while (end > start && s.charCodeAt(end - 1) === 32) end--
        const first = s.charCodeAt(start)
        splitFields = fields
        return first === 32 || first === 9 ? s.slice(start, end).trim() : s.slice(start, end)
      }
      from = stop > eq ? stop : eq + 1
    } else {
      from = eq + 1
    }
  }
  splitFields = EMPTY_FIELDS
  clearNotedFields()
  return (start === 0 ? s : s.slice(start)).trim()
}
