/**
 * A bounded line splitter: feeds raw chunks, calls `onLine` for every complete line. A line
 * longer than `maxLineLength` bytes is cut (the rest up to the next newline is dropped and
 * counted), so memory stays bounded whatever the process prints. Invalid UTF-8 becomes U+FFFD.
 * With a `redact` step, a line is redacted before it is cut: the splitter keeps `overscan`
 * bytes past the limit (a secret's length), so a secret that straddles the limit is still
 * whole when it is replaced, and nothing of it survives the cut.
 */
export interface LineSplitter {
  push(chunk: Buffer | string): void
  /** Flushes a final line without a newline. */
  end(): void
  /** Bytes dropped because lines were too long. */
  readonly droppedBytes: number
}

const NEWLINE = 10
const CR = 13

/** Creates a {@link LineSplitter}. `maxLineLength` is in bytes. */
export function createLineSplitter(
  onLine: (line: string, truncated: boolean) => void,
  maxLineLength: number,
  redaction?: { readonly redact: (line: string) => string; readonly overscan: number },
): LineSplitter {
  const redact = redaction?.redact
  // Bytes kept of one line: the limit, plus room for a secret that straddles it.
  const keep = maxLineLength + (redaction === undefined ? 0 : Math.max(0, redaction.overscan))
  const deliver = (text: string, cut: boolean): void => {
    if (redact === undefined) {
      onLine(text, cut)
      return
    }
    const clean = redact(text)
    if (Buffer.byteLength(clean) <= maxLineLength) {
      onLine(clean, cut)
      return
    }
    onLine(Buffer.from(clean).subarray(0, maxLineLength).toString('utf8'), true)
  }
  // Pending bytes of the current (incomplete) line, at most `keep`.
  let parts: Buffer[] = []
  let pendingLength = 0
  let truncated = false
  let dropped = 0

  const emit = (): void => {
    let buf = Buffer.concat(parts, pendingLength)
    parts = []
    pendingLength = 0
    if (buf.length > 0 && buf[buf.length - 1] === CR) buf = buf.subarray(0, buf.length - 1)
    const wasTruncated = truncated
    truncated = false
    deliver(buf.toString('utf8'), wasTruncated)
  }

  const append = (piece: Buffer): void => {
    const room = keep - pendingLength
    if (piece.length <= room) {
      if (piece.length > 0) {
        // Copy small slices so the big chunk they come from can be collected.
        parts.push(piece.length < 4096 ? Buffer.from(piece) : piece)
        pendingLength += piece.length
      }
      return
    }
    if (room > 0) {
      parts.push(Buffer.from(piece.subarray(0, room)))
      pendingLength += room
    }
    dropped += piece.length - Math.max(room, 0)
    truncated = true
  }

  return {
    push(chunk) {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk
      let start = 0
      for (;;) {
        const nl = buf.indexOf(NEWLINE, start)
        if (nl === -1) {
          append(buf.subarray(start))
          return
        }
        if (pendingLength === 0 && !truncated && nl - start <= keep) {
          // Fast path: the whole line is inside this chunk.
          let end = nl
          if (end > start && buf[end - 1] === CR) end--
          deliver(buf.toString('utf8', start, end), false)
        } else {
          append(buf.subarray(start, nl))
          emit()
        }
        start = nl + 1
      }
    },
    end() {
      if (pendingLength > 0 || truncated) emit()
    },
    get droppedBytes() {
      return dropped
    },
  }
}

/** A fixed-size ring buffer of the last `size` items. */
export class RingBuffer<T> {
  readonly #items: (T | undefined)[]
  #next = 0
  #count = 0

  constructor(readonly size: number) {
    this.#items = new Array<T | undefined>(size)
  }

  push(item: T): void {
    if (this.size === 0) return
    this.#items[this.#next] = item
    this.#next = (this.#next + 1) % this.size
    if (this.#count < this.size) this.#count++
  }

  toArray(): T[] {
    const out: T[] = []
    const first = (this.#next - this.#count + this.size) % Math.max(this.size, 1)
    for (let i = 0; i < this.#count; i++) out.push(this.#items[(first + i) % this.size] as T)
    return out
  }

  clear(): void {
    this.#items.fill(undefined)
    this.#next = 0
    this.#count = 0
  }
}

/** Fragments of a secret this long or longer are redacted anywhere in a line. */
const MIN_FRAGMENT = 8
/**
 * At a line break (start or end of the text, CR, LF), a secret's head or tail this long or
 * longer is redacted too: what a cut at the line limit or a break inside the token leaves.
 */
const MIN_EDGE = 4
const REDACTED = '[REDACTED]'

/** The `MIN_FRAGMENT`-long substrings of recently used secrets. */
const gramCache = new Map<string, Set<string>>()

function gramsOf(secret: string): Set<string> {
  let grams = gramCache.get(secret)
  if (grams === undefined) {
    grams = new Set()
    for (let i = 0; i + MIN_FRAGMENT <= secret.length; i++) {
      grams.add(secret.slice(i, i + MIN_FRAGMENT))
    }
    if (gramCache.size >= 16) gramCache.clear()
    gramCache.set(secret, grams)
  }
  return grams
}

/** Where a head of `secret` (4+ characters) ends `text`, or -1. */
function headAtEnd(text: string, secret: string): number {
  const head = secret.slice(0, MIN_EDGE)
  let p = text.indexOf(head, Math.max(0, text.length - secret.length + 1))
  while (p !== -1 && p <= text.length - MIN_EDGE) {
    if (secret.startsWith(text.slice(p))) return p
    p = text.indexOf(head, p + 1)
  }
  return -1
}

/** The length of a tail of `secret` (4+ characters) that starts `text`, or 0. */
function tailAtStart(text: string, secret: string): number {
  const last = secret.slice(-MIN_EDGE)
  let p = text.lastIndexOf(last, secret.length - MIN_EDGE - 1)
  while (p !== -1) {
    const n = p + MIN_EDGE
    if (secret.endsWith(text.slice(0, n))) return n
    p = p === 0 ? -1 : text.lastIndexOf(last, p - 1)
  }
  return 0
}

/** Runs of characters a token can be made of (base64, base64url, hex, JSON-ish names). */
const TOKEN_RUN = /[A-Za-z0-9+/=_-]{8,}/g

/** Redacts the pieces of `secret` in one segment (text between line breaks). */
function scrubSegment(segment: string, secret: string): string {
  let out = segment
  // A head of the secret at the end of the segment (cut there, or broken by CR/LF).
  const head = headAtEnd(out, secret)
  if (head !== -1) out = out.slice(0, head) + REDACTED
  // A tail of the secret at its start.
  const tail = tailAtStart(out, secret)
  if (tail > 0) out = REDACTED + out.slice(tail)
  // Any longer piece in between.
  if (secret.length < MIN_FRAGMENT || out.length < MIN_FRAGMENT) return out
  const grams = gramsOf(secret)
  let result = ''
  let from = 0
  for (const run of out.matchAll(TOKEN_RUN)) {
    const runEnd = run.index + run[0].length
    for (let i = run.index; i + MIN_FRAGMENT <= runEnd;) {
      if (!grams.has(out.slice(i, i + MIN_FRAGMENT))) {
        i++
        continue
      }
      let end = i + MIN_FRAGMENT
      while (end < runEnd && secret.includes(out.slice(i, end + 1))) end++
      result += out.slice(from, i) + REDACTED
      from = end
      i = end
    }
  }
  return result + out.slice(from)
}

/**
 * Replaces every occurrence of each secret in `text` with `[REDACTED]`, and the pieces a
 * secret leaves when something breaks it: any piece of 8 characters or more anywhere, and
 * heads and tails of 4 or more at a line break (start or end of `text`, CR or LF). So a line
 * cut at the length limit in the middle of a token, or a token broken by LF (two lines) or a
 * bare CR, keeps at most 3 of its characters on either side of the break.
 */
export function scrub(text: string, secrets: readonly string[]): string {
  let out = text
  for (const secret of secrets) {
    if (secret.length === 0) continue
    if (out.includes(secret)) out = out.replaceAll(secret, REDACTED)
    if (secret.length <= MIN_EDGE) continue
    out =
      out.includes('\r') || out.includes('\n')
        ? out
            .split(/(\r\n|\r|\n)/)
            .map((part, i) => (i % 2 === 1 ? part : scrubSegment(part, secret)))
            .join('')
        : scrubSegment(out, secret)
  }
  return out
}
