/**
 * The classifier benchmarks' corpus: every line of test/fixtures/corpus (all formats), repeated
 * to `size` lines, most as printed and some behind a docker-compose, syslog or docker
 * `--timestamps` prefix.
 */
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'

export const CORPUS_DIR = join(import.meta.dirname, '..', 'test', 'fixtures', 'corpus')

/** The distinct lines of the corpus files, in file order. */
export function corpusLines(): string[] {
  const lines: string[] = []
  for (const file of readdirSync(CORPUS_DIR).sort()) {
    for (const line of readFileSync(join(CORPUS_DIR, file), 'utf8').split('\n')) {
      if (line !== '') lines.push(line)
    }
  }
  return lines
}

// Mostly plain console lines (what cloudflared prints by default), some prefixed ones.
const PREFIXES = [
  '',
  '',
  '',
  '',
  'cloudflared-1  | ',
  'Nov 28 10:22:31 host cloudflared[1234]: ',
  '2026-11-28T10:22:31.123456789Z ',
]

/** `size` lines: the corpus lines in turn, each with the next prefix of the cycle. */
export function benchCorpus(size: number, base: readonly string[] = corpusLines()): string[] {
  const corpus: string[] = []
  for (let i = 0; corpus.length < size; i++) {
    const line = base[i % base.length]!
    const prefix = PREFIXES[i % PREFIXES.length]!
    corpus.push(line.startsWith('{') && prefix.startsWith('Nov') ? line : prefix + line)
  }
  return corpus
}
