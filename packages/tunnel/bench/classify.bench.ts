/**
 * Classifier throughput over a mixed, realistic corpus (every file of test/fixtures/corpus, all
 * formats and prefixes), as lines per second and as a ratio to a `line.split(' ')` baseline over
 * the same lines in the same run, and as MB/s against cloudflared's own output rate (a real
 * cloudflared in a tight log loop wrote about 3.7 MB/s, `cloudflared.md` §8). Target: at least
 * 1,000,000 lines/s on one core, for both the pure and the stateful classifier.
 *
 * Run: pnpm bench classify (or, from packages/tunnel:
 * node --conditions=@scanner/source --import tsx bench/classify.bench.ts)
 *
 * Lines per second move with the load on the machine; for a figure that does not, count
 * instructions per line under cachegrind with classify-instructions.ts (see there).
 */
import { readdirSync } from 'node:fs'
import { classifyCloudflaredLine, createLineClassifier } from '../src/classify.js'
import { CORPUS_DIR, benchCorpus, corpusLines } from './classify-corpus.js'

const TARGET_LINES_PER_SECOND = 1_000_000
/** A real cloudflared 2023.7.3 in its tight reconnect loop: 337 MB of log in 90 s. */
const CLOUDFLARED_BYTES_PER_SECOND = 3.7e6
const CORPUS_SIZE = 200_000
const ROUNDS = 12

const base = corpusLines()
const corpus = benchCorpus(CORPUS_SIZE, base)
const files = readdirSync(CORPUS_DIR).length

let bytes = 0
for (const line of corpus) bytes += Buffer.byteLength(line) + 1 // with its newline
const bytesPerLine = bytes / corpus.length

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
  `corpus: ${corpus.length} lines (${base.length} distinct, ${files} files), ${bytesPerLine.toFixed(0)} bytes/line`,
)
contenders.forEach(([name], index) => {
  const perSecond = corpus.length / best[index]!
  const mbPerSecond = (perSecond * bytesPerLine) / 1e6
  console.log(
    `${name.padEnd(34)} ${Math.round(perSecond).toLocaleString('en-US').padStart(12)} lines/s ${mbPerSecond.toFixed(1).padStart(7)} MB/s`,
  )
})
console.log(`ratio classifyCloudflaredLine / baseline: ${(pure / baseline).toFixed(2)}`)
console.log(`ratio createLineClassifier / baseline:    ${(stateful / baseline).toFixed(2)}`)
const verdict = (n: number): string => (n >= TARGET_LINES_PER_SECOND ? 'met' : 'NOT met')
console.log(
  `target ${TARGET_LINES_PER_SECOND.toLocaleString('en-US')} lines/s: ${verdict(pure)} (pure), ${verdict(stateful)} (stateful)`,
)
const headroom = (n: number): string =>
  ((n * bytesPerLine) / CLOUDFLARED_BYTES_PER_SECOND).toFixed(1)
console.log(
  `vs cloudflared's own output rate (3.7 MB/s in a tight log loop): ${headroom(pure)}× (pure), ${headroom(stateful)}× (stateful)`,
)
if (sink === 0) console.log('(unreachable)')
