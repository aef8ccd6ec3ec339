// Imports (and, for dual packages, requires) every built entry of every package from a
// scratch consumer outside the workspace, without the source condition: what npm users get.
import { execFileSync } from 'node:child_process'
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

const root = resolve(import.meta.dirname, '..')
const scratch = mkdtempSync(join(tmpdir(), 'scanner-smoke-'))
const checks = []
try {
  mkdirSync(join(scratch, 'node_modules', '@scanner'), { recursive: true })
  for (const dir of readdirSync(join(root, 'packages'))) {
    const pkg = JSON.parse(readFileSync(join(root, 'packages', dir, 'package.json'), 'utf8'))
    symlinkSync(join(root, 'packages', dir), join(scratch, 'node_modules', pkg.name), 'dir')
    for (const [key, value] of Object.entries(pkg.exports)) {
      if (key === './package.json') continue
      const spec = key === '.' ? pkg.name : `${pkg.name}/${key.slice(2)}`
      checks.push({ spec, esm: true })
      if (typeof value === 'object' && value.require) checks.push({ spec, esm: false })
    }
  }
  writeFileSync(join(scratch, 'package.json'), '{"name":"smoke","private":true}')
  const lines = checks.map(({ spec, esm }) =>
    esm
      ? `{ const m = await import(${JSON.stringify(spec)}); if (Object.keys(m).length === 0) throw new Error('empty ESM entry ${spec}'); console.log('import  ${spec}: ' + Object.keys(m).length + ' exports') }`
      : `{ const m = require(${JSON.stringify(spec)}); if (Object.keys(m).length === 0) throw new Error('empty CJS entry ${spec}'); console.log('require ${spec}: ' + Object.keys(m).length + ' exports') }`,
  )
  writeFileSync(
    join(scratch, 'smoke.mjs'),
    `import { createRequire } from 'node:module'\nconst require = createRequire(import.meta.url)\n${lines.join('\n')}\n`,
  )
  execFileSync(process.execPath, ['smoke.mjs'], { cwd: scratch, stdio: 'inherit' })
  console.log(`smoke: ${checks.length} entries loaded`)
  // Every bin runs from the consumer's side (`--version`).
  let bins = 0
  for (const dir of readdirSync(join(root, 'packages'))) {
    const pkg = JSON.parse(readFileSync(join(root, 'packages', dir, 'package.json'), 'utf8'))
    for (const [name, file] of Object.entries(pkg.bin ?? {})) {
      const bin = join(scratch, 'node_modules', pkg.name, file)
      const out = execFileSync(process.execPath, [bin, '--version'], { cwd: scratch }).toString()
      // The simulator answers like cloudflared; the package's own commands print its version.
      const expected = name === 'fake-cloudflared' ? /^cloudflared version \d/ : null
      if (expected ? !expected.test(out) : out.trim() !== pkg.version)
        throw new Error(`${name} --version printed ${out}`)
      console.log(`bin ${name} --version: ${out.trim()}`)
      bins++
    }
  }
  console.log(`smoke: ${bins} bin(s) ran`)
} finally {
  rmSync(scratch, { recursive: true, force: true })
}
