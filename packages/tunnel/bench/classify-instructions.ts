/**
 * Driver for a load-independent measure of the classifier: run it under cachegrind twice, with
 * `passes` and `2 × passes`, and divide the difference in instructions by `passes × lines`.
 *
 *   valgrind --tool=cachegrind --cache-sim=no --cachegrind-out-file=/dev/null \
 *     node --single-threaded --conditions=@scanner/source --import tsx \
 *     bench/classify-instructions.ts pure 10
 *
 * (then the same with 20). `--single-threaded` keeps V8's compiler and GC on the main thread,
 * which makes the count repeatable to about 1 %. Instructions per line = difference / (passes ×
 * 10,000).
 *
 * Arguments: `pure` | `stateful` | `none` (corpus loop only), and the number of passes over the
 * corpus after a warm-up of 20 passes.
 */
import { classifyCloudflaredLine, createLineClassifier } from '../src/classify.js'
import { benchCorpus } from './classify-corpus.js'

const mode = process.argv[2] ?? 'pure'
const passes = Number(process.argv[3] ?? '10')
const corpus = benchCorpus(10_000)
const classifier = createLineClassifier()
const classify: (line: string) => { kind: string } =
  mode === 'stateful'
    ? (line) => classifier.classify(line)
    : mode === 'pure'
      ? classifyCloudflaredLine
      : () => ({ kind: 'none' })

let sink = 0
for (let pass = 0; pass < 20 + passes; pass++) {
  for (const line of corpus) sink += classify(line).kind.length
}
console.log(`${mode}: ${corpus.length} lines × ${passes} passes (+20 warm-up), sink ${sink}`)
