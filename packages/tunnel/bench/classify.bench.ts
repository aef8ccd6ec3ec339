/**
 * Classifier throughput over a mixed, realistic corpus (every file of test/fixtures/corpus, all
 * formats and prefixes), as lines per second and as a ratio to a `line.split(' ')` baseline over
 * the same lines in the same run. Target: at least 500,000 lines/s on one core.
 *
 * Run: pnpm bench classify (or, from packages/tunnel:
 * node --conditions=@scanner/source --import tsx bench/classify.bench.ts)
 */
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { classifyCloudflaredLine, createLineClassifier } from '../src/classify.js'

const TARGET_LINES_PER_SECOND = 500_000
const CORPUS_SIZE = 200_000
const ROUNDS = 12

const dir = join(import.meta.dirname, '..', 'test', 'fixtures', 'corpus')
const base: string[] = []
for (const file of readdirSync(dir).sort()) {
  for (const line of readFileSync(join(dir, file), 'utf8').split('\n')) {
    if (line !== '') base.push(line)
  }
}

// Mostly plain console lines (what cloudflared prints by default), some prefixed ones.
const prefixes = [
  '',
  '',
  '',
  '',
  'cloudflared-1  | ',
  'Nov 28 10:22:31 host cloudflared[1234]: ',
  '2026-11-28T10:22:31.123456789Z ',
]
const corpus: string[] = []
for (let i = 0; corpus.length < CORPUS_SIZE; i++) {
  const line = base[i % base.length]!
  const prefix = prefixes[i % prefixes.length]!
  corpus.push(line.startsWith('{') && prefix.startsWith('Nov') ? line : prefix + line)
}

let sink = 0

const contenders: [string, (line: string) => number][] = [
  ["baseline line.split(' ')", (line) => line.split(' ').length],
  ['classifyCloudflaredLine', (line) => classifyCloudflaredLine(line).kind.length],
]
const classifier = createLineClassifier()
contenders.push([
  'createLineClassifier().classify',
  (line) => classifier.classify(line).kind.length,
])

// Rounds are interleaved and the best round of each contender counts, so that a noisy
// neighbour slowing the machine down for a while affects every contender alike.
const best = contenders.map(() => Infinity)
for (let round = 0; round < ROUNDS; round++) {
  contenders.forEach(([, fn], index) => {
    const start = process.hrtime.bigint()
    for (const line of corpus) sink += fn(line)
    const seconds = Number(process.hrtime.bigint() - start) / 1e9
    if (round > 0) best[index] = Math.min(best[index]!, seconds) // round 0 warms up
  })
}
const [baseline, pure, stateful] = best.map((seconds) => corpus.length / seconds) as [
  number,
  number,
  number,
]

console.log(
  `corpus: ${corpus.length} lines (${base.length} distinct, ${readdirSync(dir).length} files)`,
)
contenders.forEach(([name], index) => {
  const perSecond = corpus.length / best[index]!
  console.log(
    `${name.padEnd(34)} ${Math.round(perSecond).toLocaleString('en-US').padStart(12)} lines/s`,
  )
})
console.log(`ratio classifyCloudflaredLine / baseline: ${(pure / baseline).toFixed(2)}`)
console.log(`ratio createLineClassifier / baseline:    ${(stateful / baseline).toFixed(2)}`)
const verdict = (n: number): string => (n >= TARGET_LINES_PER_SECOND ? 'met' : 'NOT met')
console.log(
  `target ${TARGET_LINES_PER_SECOND.toLocaleString('en-US')} lines/s: ${verdict(pure)} (pure), ${verdict(stateful)} (stateful)`,
)
if (sink === 0) console.log('(unreachable)')
