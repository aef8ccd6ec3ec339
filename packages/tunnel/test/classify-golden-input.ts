/**
 * Input and digest of the classifier's golden test (classify-golden.test.ts): the corpus lines
 * behind several prefixes and in two cases, then seeded random mutations of them, and a short
 * hash of what both classifiers make of each line. The golden file
 * (fixtures/classify-golden.txt) holds the hashes the classifier gave before its performance
 * work (commit 3873da2), so that any change of behaviour shows up, line by line.
 */
import { createHash } from 'node:crypto'
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'

export const GOLDEN_FILE = join(import.meta.dirname, 'fixtures', 'classify-golden.txt')
const CORPUS_DIR = join(import.meta.dirname, 'fixtures', 'corpus')

const PREFIXES = [
  '',
  'cloudflared-1  | ',
  'Nov 28 10:22:31 host cloudflared[1234]: ',
  '2026-11-28T10:22:31.123456789Z ',
  '<14>1 2026-11-28T10:22:31Z host cloudflared 1 - - ',
  '\u001b[90m',
]

/** Pieces inserted by the mutations: separators, escapes, control characters, real phrases. */
const PIECES = [
  '=',
  ' ',
  '"',
  '\\',
  'Z',
  '.',
  '+',
  ':',
  '0',
  '\u001b',
  '\n',
  '\r',
  '\u0000',
  '\t',
  'é',
  'Σ',
  '\u0130',
  '\u212a',
  '{',
  '}',
  '|',
  'INF ',
  'ERR ',
  ' error="',
  ' connIndex=1',
  ' event=0',
  'quic',
  '2026-11-28T10:22:31Z ',
  'Registered tunnel connection',
  'lookup ',
  'no such host',
  'context canceled',
  'Retrying connection in up to 1m4s',
  'handshake did not complete in time',
  'srv recor',
  'unauthorized',
  'no recent network activity',
  'failed to accept QUIC stream: timeout',
  'accept stream listener encountered a failure',
  'Initiating shutdown',
  ' error="read: context canceled"',
  'Connection terminated',
  '429',
]

/** mulberry32: a small deterministic PRNG (also drives the classifier's fuzz test). */
export function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** The golden test's input lines, always the same. */
export function goldenLines(): string[] {
  const real: string[] = []
  for (const file of readdirSync(CORPUS_DIR).sort()) {
    for (const line of readFileSync(join(CORPUS_DIR, file), 'utf8').split('\n')) {
      if (line !== '') real.push(line)
    }
  }
  const lines: string[] = []
  for (const line of real) {
    for (const prefix of PREFIXES) lines.push(prefix + line)
    lines.push(line.toLowerCase())
  }
  const random = prng(0x901d)
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)] as T
  for (let n = 0; n < 3000; n++) {
    let line = pick(PREFIXES) + pick(real)
    const edits = Math.floor(random() * 5)
    for (let k = 0; k < edits; k++) {
      const at = Math.floor(random() * (line.length + 1))
      const op = random()
      if (op < 0.6) line = line.slice(0, at) + pick(PIECES) + line.slice(at)
      else if (op < 0.9) line = line.slice(0, at) + line.slice(at + 1 + Math.floor(random() * 10))
      else line = line.slice(0, at) + pick(real).slice(Math.floor(random() * 80))
    }
    lines.push(line)
  }
  return lines
}

/** A short hash of the pure and the stateful event of a line (JSON, fields in their order). */
export function eventDigest(pure: object, stateful: object, shuttingDown: boolean): string {
  return createHash('sha256')
    .update(`${JSON.stringify(pure)}\n${JSON.stringify(stateful)}\n${shuttingDown}`)
    .digest('base64url')
    .slice(0, 12)
}

/** Digests of every golden line, as the classifiers given make of them (one stateful run). */
export function goldenDigests(
  classify: (line: string) => object,
  classifier: { classify(line: string): object; readonly shuttingDown: boolean; reset(): void },
): string[] {
  return goldenLines().map((line, index) => {
    if (index % 500 === 0) classifier.reset()
    return eventDigest(classify(line), classifier.classify(line), classifier.shuttingDown)
  })
}
