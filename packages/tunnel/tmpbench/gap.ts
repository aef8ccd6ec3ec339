import { createRequire, syncBuiltinESMExports } from 'node:module'
const require = createRequire(import.meta.url)
const cp = require('node:child_process')
const orig = cp.spawn
let spawnCalledAt = 0, spawnReturnedAt = 0, eventAt = 0
cp.spawn = function (...a: unknown[]) { spawnCalledAt = performance.now(); const r = orig.apply(this, a); spawnReturnedAt = performance.now(); r.once('spawn', () => { eventAt = performance.now() }); return r }
syncBuiltinESMExports()
const { mkdtempSync } = await import('node:fs')
const { tmpdir } = await import('node:os')
const { join } = await import('node:path')
const { createTunnel } = await import('../src/index.js')
const { fakeCloudflaredEnv, fakeCloudflaredPath, fakeCloudflaredToken } = await import('../src/testing.js')
const ROUNDS = 30
const rows: number[][] = []
let exitedAt = 0
const tunnel = createTunnel({
  bin: fakeCloudflaredPath, token: fakeCloudflaredToken(),
  env: fakeCloudflaredEnv('exit', { exitAfterMs: 0, exitCode: 1 }),
  backoff: { initialDelayMs: 0, maxDelayMs: 0, jitter: 'none' },
  maxCrashes: ROUNDS + 10, pdeathsig: process.argv[2] !== 'nowrap',
  pidFile: join(mkdtempSync(join(tmpdir(), 'restart-bench-')), 'cf.pid'),
})
const keep = setInterval(() => undefined, 1000)
await new Promise<void>((resolve) => {
  tunnel.on('exit', () => { exitedAt = performance.now() })
  tunnel.on('spawn', ({ start }) => {
    const now = performance.now()
    if (start > 1) rows.push([(globalThis as any).__t2 - (globalThis as any).__t1, now - (globalThis as any).__t2, spawnCalledAt - exitedAt, spawnReturnedAt - spawnCalledAt, eventAt - spawnReturnedAt, now - eventAt, now - exitedAt])
    const g = globalThis as any; ((rows as any).a ??= []).push(g.__t3 - g.__t1); ((rows as any).b ??= []).push(g.__t4 - g.__t3); if (rows.length >= ROUNDS) { (rows as any).t13 = (rows as any).a.sort((x: number, y: number) => x - y)[15].toFixed(3); (rows as any).t34 = (rows as any).b.sort((x: number, y: number) => x - y)[15].toFixed(3); resolve() }
  })
  void tunnel.start()
})
await tunnel.stop(); clearInterval(keep)
const med = (i: number) => rows.map(r => r[i]!).sort((a, b) => a - b)[Math.floor(rows.length / 2)]!.toFixed(2)
console.log(`t1-t3 ${(rows as any).t13} t3-t4 ${(rows as any).t34} after-await->onSpawn ${med(0)} onSpawn->event ${med(1)} exit->spawn() ${med(2)} ms, spawn() ${med(3)} ms, spawn()->cp event ${med(4)} ms, cp event->tunnel spawn ${med(5)}, total ${med(6)} ms`)
