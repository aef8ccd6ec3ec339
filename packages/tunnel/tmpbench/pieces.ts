import { procStartTime, bootId } from '../src/internal/proc.js'
import { createLineSplitter } from '../src/internal/lines.js'
const med = (a: number[]) => a.sort((x, y) => x - y)[a.length >> 1]!.toFixed(4)
const a: number[] = [], b: number[] = [], c: number[] = []
for (let i = 0; i < 200; i++) {
  let t = performance.now(); procStartTime(process.pid); a.push(performance.now() - t)
  t = performance.now(); bootId(); b.push(performance.now() - t)
  t = performance.now(); createLineSplitter(() => {}, 4096, { redact: (l) => l, overscan: 0 }); c.push(performance.now() - t)
}
console.log(`procStartTime ${med(a)} bootId ${med(b)} splitter ${med(c)}`)
