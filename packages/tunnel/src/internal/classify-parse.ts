/**
 * Line parsing for the cloudflared classifier: sanitising, prefix stripping (journald, syslog,
 * docker, docker-compose) and the three line formats (zerolog console, zerolog JSON, plain text).
 * Every function here does bounded, linear work: the input is truncated before any regex runs,
 * and no regex has nested quantifiers.
 */
import type { CloudflaredLevel } from '../classify.js'
import { clearNotedFields, newDraft, noteFieldsOf, type Draft } from './classify-draft.js'
import { EMPTY_FIELDS, lastSplitFields, splitMessageAndFields } from './classify-fields.js'

/** Longest line (in UTF-16 code units) that is looked at; the rest is cut off. */
export const MAX_LINE_LENGTH = 16_384

const JSON_LEVELS: Readonly<Record<string, CloudflaredLevel>> = {
  trace: 'trace',
  debug: 'debug',
  info: 'info',
  warn: 'warn',
  warning: 'warn',
  error: 'error',
  fatal: 'fatal',
  panic: 'panic',
}

// eslint-disable-next-line no-control-regex -- CSI / OSC / two-byte ANSI escape sequences
const ANSI_ALL = /\u001b(?:\[[0-9;?]*[ -/]*[@-~]|\][^\u0007\u001b]*(?:\u0007|\u001b\\)?|[@-Z\\-_])/g
// eslint-disable-next-line no-control-regex -- remaining control characters become spaces
const CONTROL_ALL = /[\u0000-\u0008\u000a-\u001f\u007f]/g

// RFC 5424: `<PRI>VERSION TIMESTAMP HOST APP PROCID MSGID SD `, SD being `-` or `[...]` blocks.
const SYSLOG_5424 = /<\d{1,3}>\d{1,2} (\S+) \S+ \S+ \S+ \S+ (?:-|\[[^\]]*\]) ?/y
// RFC 3164 / journald short format: `[<PRI>]Mmm dd hh:mm:ss host tag[pid]: `.
const SYSLOG_3164 =
  /(?:<\d{1,3}>)?(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec) {1,2}\d{1,2} \d\d:\d\d:\d\d(?:\.\d{1,9})? \S+ [^\s:[]{1,128}(?:\[\d{1,10}\])?: ?/iy
// `host tag[pid]: ` after a journald short-iso timestamp (`journalctl -o short-iso`).
const HOST_TAG = /[\w.-]{1,255} [^\s:[]{1,128}\[\d{1,10}\]: ?/y
// docker compose: `cloudflared-1  | ` (v2) or `tunnel_1 | ` (v1).
const COMPOSE = /[A-Za-z0-9][\w.-]{0,127} +\| ?/y
const JSON_LEVEL = /"level"\s*:\s*"(\w{1,10})"/
const JSON_TIME = /"time"\s*:\s*"([^"]{1,64})"/

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57
}

function digitsAt(s: string, i: number, n: number): boolean {
  for (let k = i; k < i + n; k++) if (!isDigit(s.charCodeAt(k))) return false
  return true
}

// RFC 3339 / ISO 8601 timestamp, sticky. A `.` must start a fraction of 1 to 10 digits (taken
// greedily, without backtracking: the lookahead and back-reference make the group atomic), and a
// `+`/`-` an `hh:mm`/`hhmm` offset; otherwise the timestamp is not one.
const TIMESTAMP =
  /\d{4}-\d\d-\d\d[Tt]\d\d:\d\d:\d\d(?:\.(?=(\d{1,10}))\1|(?!\.))(?:[Zz]|[+-](?:\d\d:\d\d|\d{4})|(?![+-]))/y

/**
 * End index of an RFC 3339 / ISO 8601 timestamp starting at `i` (`2026-11-28T10:22:31Z`,
 * fractions and `+hh:mm`/`+hhmm` offsets accepted), or -1.
 */
export function timestampEnd(s: string, i: number): number {
  TIMESTAMP.lastIndex = i
  return TIMESTAMP.test(s) ? TIMESTAMP.lastIndex : -1
}

/** End of a Go `log` package timestamp `2026/11/28 10:22:31[.micro]` starting at `i`, or -1. */
function stdlibTimestampEnd(s: string, i: number): number {
  if (
    s.length < i + 19 ||
    !digitsAt(s, i, 4) ||
    s.charCodeAt(i + 4) !== 47 ||
    !digitsAt(s, i + 5, 2) ||
    s.charCodeAt(i + 7) !== 47 ||
    !digitsAt(s, i + 8, 2) ||
    s.charCodeAt(i + 10) !== 32 ||
    !digitsAt(s, i + 11, 2) ||
    s.charCodeAt(i + 13) !== 58 ||
    !digitsAt(s, i + 14, 2) ||
    s.charCodeAt(i + 16) !== 58 ||
    !digitsAt(s, i + 17, 2)
  ) {
    return -1
  }
  let j = i + 19
  if (s.charCodeAt(j) === 46) {
    j++
    while (j < s.length && j < i + 30 && isDigit(s.charCodeAt(j))) j++
  }
  return j
}

/** The zerolog console level at `i` (`INF`, `ERR`, ...) followed by a space or the end. */
function consoleLevelAt(s: string, i: number): CloudflaredLevel | undefined {
  if (s.length < i + 3) return undefined
  if (s.length > i + 3 && s.charCodeAt(i + 3) !== 32) return undefined
  const a = s.charCodeAt(i)
  const b = s.charCodeAt(i + 1)
  const c = s.charCodeAt(i + 2)
  switch (a) {
    case 73: // I
      return b === 78 && c === 70 ? 'info' : undefined // INF
    case 69: // E
      return b === 82 && c === 82 ? 'error' : undefined // ERR
    case 87: // W
      return b === 82 && c === 78 ? 'warn' : undefined // WRN
    case 68: // D
      return b === 66 && c === 71 ? 'debug' : undefined // DBG
    case 70: // F
      return b === 84 && c === 76 ? 'fatal' : undefined // FTL
    case 80: // P
      return b === 78 && c === 67 ? 'panic' : undefined // PNC
    case 84: // T
      return b === 82 && c === 67 ? 'trace' : undefined // TRC
    default:
      return undefined
  }
}

/** Truncates, strips ANSI escapes and turns other control characters into spaces. */
function sanitize(input: string): string {
  let s = input.length > MAX_LINE_LENGTH ? input.slice(0, MAX_LINE_LENGTH) : input
  // A full control-character scan costs more than the rest of the parse, so look only for
  // what matters: ANSI escapes (colours on a TTY), and line breaks or NULs inside the line.
  // Other control characters are kept as they are.
  if (s.includes('\u001b')) {
    s = s.replace(ANSI_ALL, '').replace(CONTROL_ALL, ' ')
  } else if (s.includes('\n') || s.includes('\r') || s.includes('\u0000')) {
    s = s.replace(CONTROL_ALL, ' ')
  }
  if (s.charCodeAt(0) === 0xfeff) s = s.slice(1)
  // Most lines end in a printable ASCII character: no whitespace to trim.
  const last = s.charCodeAt(s.length - 1)
  return last > 32 && last < 127 ? s : s.trimEnd()
}

// What stripPrefixes() found, in module variables rather than an object (one call per line).
/** Where the line starts once its prefixes are gone. */
let strippedStart = 0
/** An ISO timestamp found in a prefix (docker `--timestamps`, RFC 5424). */
let prefixTime: string | undefined
/** End of cloudflared's own timestamp at `strippedStart` when followed by a level, or -1. */
let consoleTimeEnd = -1
/** That level. */
let consoleLevel: CloudflaredLevel | undefined

/** Runs a sticky regex at `i`: the end of its match, or -1. */
function stickyEnd(re: RegExp, s: string, i: number): number {
  re.lastIndex = i
  return re.test(s) ? re.lastIndex : -1
}

/** Skips journald, syslog, docker-compose and docker `--timestamps` prefixes. */
function stripPrefixes(s: string): void {
  let i = 0
  let time: string | undefined
  let afterTimestamp = false
  consoleTimeEnd = -1
  consoleLevel = undefined
  for (let round = 0; round < 6; round++) {
    const c = s.charCodeAt(i)
    let end = -1
    if (c === 60) {
      // '<'
      SYSLOG_5424.lastIndex = i
      const m = SYSLOG_5424.exec(s)
      if (m) {
        end = SYSLOG_5424.lastIndex
        const t = m[1]
        if (t !== undefined && t !== '-' && timestampEnd(t, 0) === t.length) time ??= t
      } else {
        end = stickyEnd(SYSLOG_3164, s, i)
      }
    } else if (isDigit(c)) {
      const tsEnd = timestampEnd(s, i)
      if (tsEnd > 0 && s.charCodeAt(tsEnd) === 32) {
        const next = tsEnd + 1
        // cloudflared's own timestamp is followed by its level; anything else means the
        // timestamp was added in front of the line (docker --timestamps, journalctl short-iso).
        const level = consoleLevelAt(s, next)
        if (level === undefined) {
          time ??= s.slice(i, tsEnd)
          i = next
          afterTimestamp = true
          continue
        }
        consoleTimeEnd = tsEnd
        consoleLevel = level
        break
      }
      end = stickyEnd(COMPOSE, s, i)
    } else if ((c >= 65 && c <= 90) || (c >= 97 && c <= 122)) {
      if (afterTimestamp) end = stickyEnd(HOST_TAG, s, i)
      if (end < 0) end = stickyEnd(SYSLOG_3164, s, i)
      if (end < 0 && consoleLevelAt(s, i) === undefined) end = stickyEnd(COMPOSE, s, i)
    }
    if (end < 0) break
    i = end
    afterTimestamp = false
  }
  strippedStart = i
  prefixTime = time
}

function jsonValueToString(v: unknown): string {
  if (typeof v === 'string') return v
  if (typeof v === 'number' || typeof v === 'boolean') return String(v)
  if (v === null) return 'null'
  return JSON.stringify(v)
}

function parseJsonObject(s: string, truncated: boolean): Draft | undefined {
  let value: unknown
  try {
    value = JSON.parse(s)
  } catch {
    return undefined
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined
  const obj = value as Record<string, unknown>
  const fields: Record<string, string> = {}
  let level: CloudflaredLevel | undefined
  let time: string | undefined
  let message = ''
  for (const key of Object.keys(obj)) {
    const v = obj[key]
    if (key === 'level') {
      level = typeof v === 'string' ? JSON_LEVELS[v.toLowerCase()] : undefined
    } else if (key === 'time') {
      time = typeof v === 'string' ? v : undefined
    } else if (key === 'message' || (key === 'msg' && !('message' in obj))) {
      message = jsonValueToString(v)
    } else if (key !== '__proto__') {
      fields[key] = jsonValueToString(v)
    }
  }
  parsedLevel = level
  noteFieldsOf(fields)
  return newDraft('json', level, time ?? prefixTime, message.trim(), fields, truncated)
}

/** The level the line given to the last parseLine() call carries (`undefined`: none). */
let parsedLevel: CloudflaredLevel | undefined

/** The level the last parsed line carries, `undefined` for plain and stdlib lines. */
export function lastParsedLevel(): CloudflaredLevel | undefined {
  return parsedLevel
}

/**
 * Parses one physical line of cloudflared output into a draft event (see `lastParsedLevel()`).
 * Never throws for string input.
 */
export function parseLine(input: string): Draft {
  const truncated = input.length > MAX_LINE_LENGTH
  const s = sanitize(input)
  stripPrefixes(s)
  const start = strippedStart

  if (consoleLevel !== undefined) {
    const level = consoleLevel
    const time = s.slice(start, consoleTimeEnd)
    const message = splitMessageAndFields(s, consoleTimeEnd + 5)
    parsedLevel = level
    return newDraft('console', level, time, message, lastSplitFields(), truncated)
  }

  const first = s.charCodeAt(start)
  if (first === 123) {
    // '{'
    const text = start === 0 ? s : s.slice(start)
    const json = parseJsonObject(text, truncated)
    if (json) return json
    // Not valid JSON (cut off, or not JSON at all): keep the text, salvage level and time.
    const lm = JSON_LEVEL.exec(text)
    const tm = JSON_TIME.exec(text)
    const level = lm?.[1] !== undefined ? JSON_LEVELS[lm[1].toLowerCase()] : undefined
    parsedLevel = level
    clearNotedFields()
    return newDraft('json', level, tm?.[1] ?? prefixTime, text, EMPTY_FIELDS, truncated)
  }

  parsedLevel = undefined
  if (isDigit(first)) {
    const stdEnd = stdlibTimestampEnd(s, start)
    if (stdEnd > 0) {
      const time = `${s.slice(start, start + 4)}-${s.slice(start + 5, start + 7)}-${s.slice(start + 8, start + 10)}T${s.slice(start + 11, stdEnd)}`
      const message = splitMessageAndFields(s, stdEnd)
      return newDraft('stdlib', undefined, time, message, lastSplitFields(), truncated)
    }
  }

  const level = consoleLevelAt(s, start)
  if (level !== undefined) {
    // A console line whose timestamp was lost (or a box line shown without it).
    const message = splitMessageAndFields(s, start + 4)
    parsedLevel = level
    return newDraft('console', level, prefixTime, message, lastSplitFields(), truncated)
  }

  const message = splitMessageAndFields(s, start)
  return newDraft('plain', undefined, prefixTime, message, lastSplitFields(), truncated)
}
