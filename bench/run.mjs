// Runs every package's benchmarks (packages/*/bench/*.bench.ts) one after another, from
// source, and prints their ratio lines. Usage: pnpm bench [filter]
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { join, resolve } from 'node:path'

const root = resolve(import.meta.dirname, '..')
const filter = process.argv[2] ?? ''
let failures = 0
for (const dir of readdirSync(join(root, 'packages'))) {
  const benchDir = join(root, 'packages', dir, 'bench')
  if (!existsSync(benchDir)) continue
  for (const file of readdirSync(benchDir)
    .filter((f) => f.endsWith('.bench.ts'))
    .sort()) {
    const path = join(benchDir, file)
    if (filter && !path.includes(filter)) continue
    console.log(`\n== ${dir}/bench/${file}`)
    const r = spawnSync(
      process.execPath,
      ['--conditions=@scanner/source', '--import', 'tsx', path],
      { stdio: 'inherit', cwd: join(root, 'packages', dir) },
    )
    if (r.status !== 0) failures++
  }
}
process.exitCode = failures === 0 ? 0 : 1
