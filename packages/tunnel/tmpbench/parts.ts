import { createRequire, syncBuiltinESMExports } from 'node:module'
const require = createRequire(import.meta.url)
const cp = require('node:child_process')
const orig = cp.spawn
let calledAt = 0, returnedAt = 0
cp.spawn = function (...a: unknown[]) { calledAt = performance.now(); const r = orig.apply(this, a); returnedAt = performance.now(); return r }
syncBuiltinESMExports()
const { execa } = await import('execa')
const { freePort } = await import('../src/internal/proc.js')
const { fakeCloudflaredPath } = await import('../src/testing.js')
const med = (a: number[]) => a.sort((x, y) => x - y)[a.length >> 1]!.toFixed(3)
const fp: number[] = [], pre: number[] = [], post: number[] = [], imm: number[] = [], envc: number[] = []
for (let i = 0; i < 30; i++) {
  let t = performance.now(); await new Promise((r) => setImmediate(r)); imm.push(performance.now() - t)
  t = performance.now(); const e = { ...process.env, A: '1' }; envc.push(performance.now() - t)
  t = performance.now(); await freePort(); fp.push(performance.now() - t)
  t = performance.now()
  const sp = execa(fakeCloudflaredPath, ['--version'], { env: { A: '1' }, extendEnv: true, stdin: 'ignore', stdout: 'pipe', stderr: 'pipe', buffer: false, reject: false, detached: true, cleanup: true, forceKillAfterDelay: false, windowsHide: true })
  const done = performance.now()
  pre.push(calledAt - t); post.push(done - returnedAt)
  sp.stdout!.resume(); sp.stderr!.resume()
  await sp
}
console.log(`setImmediate ${med(imm)} env copy ${med(envc)} freePort ${med(fp)} execa pre-spawn ${med(pre)} execa post-spawn(sync) ${med(post)}`)
