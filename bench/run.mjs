// Runs every package's benchmarks (packages/*/bench/*.bench.ts) one after another, from
// source, and prints their ratio lines. Usage: pnpm bench [filter]
import { spawnSync } from 'node:child_process'
import { availableParallelism } from 'node:os'
import { existsSync, readdirSync } from 'node:fs'
import { join, resolve } from 'node:path'

const root = resolve(import.meta.dirname, '..')
const filter = process.argv[2] ?? ''
let failures = 0
// With two CPUs or more and taskset (Linux, util-linux), HTTP benchmarks run their load generator
// on CPU 1 and their servers on CPU 0, so both sides of a ratio get a whole core.
const pin = availableParallelism() >= 2 && spawnSync('taskset', ['-c', '0', 'true']).status === 0
if (pin) console.log('CPU pinning: load generators on CPU 1, servers on CPU 0 (taskset)')
for (const dir of readdirSync(join(root, 'packages'))) {
  const benchDir = join(root, 'packages', dir, 'bench')
  if (!existsSync(benchDir)) continue
  for (const file of readdirSync(benchDir)
    .filter((f) => f.endsWith('.bench.ts'))
    .sort()) {
    const path = join(benchDir, file)
    if (filter && !path.includes(filter)) continue
    console.log(`\n== ${dir}/bench/${file}`)
    const args = ['--conditions=@scanner/source', '--import', 'tsx', path]
    const options = {
      stdio: 'inherit',
      cwd: join(root, 'packages', dir),
      env: pin ? { ...process.env, BENCH_SERVER_CPUS: '0' } : process.env,
    }
    const r = pin
      ? spawnSync('taskset', ['-c', '1', process.execPath, ...args], options)
      : spawnSync(process.execPath, args, options)
    if (r.status !== 0) failures++
  }
}
process.exitCode = failures === 0 ? 0 : 1
