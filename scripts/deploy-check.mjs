// The container image's steps without a container engine: deploys an example API exactly as
// examples/Dockerfile's build stage does (scripts/deploy-example.mjs), starts it with the
// image's command (`node dist/server.js`, production environment, from the deployed
// directory), and checks that it serves /health/ready/ and /health/live/ on loopback, that
// SIGTERM turns readiness to 503 while it drains, and that it then exits 0.
//
//   node scripts/deploy-check.mjs [express-api|fastify-api|hono-api]   (after `pnpm build`)
import { execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

const root = resolve(import.meta.dirname, '..')
const app = process.argv[2] ?? 'express-api'
const work = mkdtempSync(join(tmpdir(), 'scanner-deploy-'))
const target = join(work, 'app')

function freePort() {
  return new Promise((done, fail) => {
    const server = createServer()
    server.once('error', fail)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => done(port))
    })
  })
}

async function status(url) {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5000) })
    await res.arrayBuffer()
    return res.status
  } catch {
    return undefined
  }
}

async function until(what, condition, timeoutMs) {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (await condition()) return
    await new Promise((r) => setTimeout(r, 200))
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
}

let child
let output = ''
try {
  execFileSync(process.execPath, [join(root, 'scripts/deploy-example.mjs'), app, target], {
    stdio: ['ignore', 'ignore', 'inherit'],
  })
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  child = spawn(process.execPath, ['dist/server.js'], {
    cwd: target,
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PORT: String(port),
      TUNNEL: 'off', // cloudflared runs beside the pods in the Kubernetes example
      DNS_CHECK: 'off', // no resolver traffic from CI: loopback only
      DRAIN_DELAY_MS: '1500',
      SHUTDOWN_TIMEOUT_MS: '20000',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  child.stdout.on('data', (chunk) => (output += chunk))
  child.stderr.on('data', (chunk) => (output += chunk))
  const exited = new Promise((done) => child.once('exit', (code, signal) => done({ code, signal })))

  await until(
    `${base}/health/ready/ to answer 200`,
    async () => (await status(`${base}/health/ready/`)) === 200,
    90_000,
  )
  console.log(`deploy-check: ${app} from the deployed directory serves ${base}/health/ready/ (200)`)
  const live = await status(`${base}/health/live/`)
  if (live !== 200) throw new Error(`/health/live/ answered ${live}`)

  child.kill('SIGTERM')
  await until(
    '/health/ready/ to answer 503 while draining',
    async () => (await status(`${base}/health/ready/`)) === 503,
    10_000,
  )
  console.log('deploy-check: SIGTERM turned /health/ready/ to 503 (draining)')
  const { code, signal } = await Promise.race([
    exited,
    new Promise((_, fail) =>
      setTimeout(() => fail(new Error('no exit within 30 s of SIGTERM')), 30_000),
    ),
  ])
  if (code !== 0) throw new Error(`exited with ${code ?? signal} after SIGTERM`)
  console.log('deploy-check: exited 0 after draining')
} catch (error) {
  console.error(`deploy-check FAILED: ${error instanceof Error ? error.message : String(error)}`)
  if (output) console.error(`--- server output ---\n${output.slice(-4000)}`)
  process.exitCode = 1
} finally {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  rmSync(work, { recursive: true, force: true })
}
