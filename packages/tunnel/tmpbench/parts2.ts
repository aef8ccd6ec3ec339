import { createRequire, syncBuiltinESMExports } from 'node:module'
const require = createRequire(import.meta.url)
const cp = require('node:child_process')
const orig = cp.spawn
let calledAt = 0, returnedAt = 0
cp.spawn = function (...a: unknown[]) { calledAt = performance.now(); const r = orig.apply(this, a); returnedAt = performance.now(); return r }
syncBuiltinESMExports()
const { execa } = await import('execa')
const { fakeCloudflaredPath } = await import('../src/testing.js')
const med = (a: number[]) => a.sort((x, y) => x - y)[a.length >> 1]!.toFixed(3)
const base = { stdin: 'ignore', stdout: 'pipe', stderr: 'pipe', buffer: false, reject: false, detached: true, forceKillAfterDelay: false, windowsHide: true } as const
const variants: Record<string, object> = {
  current: { ...base, env: { A: '1' }, extendEnv: true, cleanup: true },
  nocleanup: { ...base, env: { A: '1' }, extendEnv: true, cleanup: false },
  noextend: { ...base, env: { A: '1', PATH: process.env.PATH }, extendEnv: false, cleanup: true },
  both: { ...base, env: { A: '1', PATH: process.env.PATH }, extendEnv: false, cleanup: false },
}
for (const [name, opts] of Object.entries(variants)) {
  const pre: number[] = [], post: number[] = []
  for (let i = 0; i < 30; i++) {
    const t = performance.now()
    const sp = execa(fakeCloudflaredPath, ['--version'], opts as never)
    const done = performance.now()
    pre.push(calledAt - t); post.push(done - returnedAt)
    sp.stdout!.resume(); sp.stderr!.resume()
    await sp
  }
  console.log(`${name}: pre ${med(pre)} post ${med(post)}`)
}
{
  const pre: number[] = [], post: number[] = []
  for (let i = 0; i < 30; i++) {
    const t = performance.now()
    const sp = cp.spawn(fakeCloudflaredPath, ['--version'], { env: { ...process.env, A: '1' }, stdio: ['ignore', 'pipe', 'pipe'], detached: true, windowsHide: true })
    const done = performance.now()
    pre.push(calledAt - t); post.push(done - returnedAt)
    sp.stdout.resume(); sp.stderr.resume()
    await new Promise((r) => sp.once('close', r))
  }
  console.log(`raw spawn + env copy: pre ${med(pre)} post ${med(post)}`)
}
