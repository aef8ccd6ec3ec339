import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { createSocket } from 'node:dgram'
import { createServer } from 'node:net'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as dnsPacket from 'dns-packet'
import { main } from '../../src/cli/main.js'

/** The CLI entry, run from source. */
export const cliPath: string = fileURLToPath(new URL('../../src/cli.ts', import.meta.url))
/** Repository root: `--import tsx` resolves from here. */
export const repoRoot: string = fileURLToPath(new URL('../../../../', import.meta.url))

/** The CLI's argv prefix: node with the source condition and tsx. */
export const nodeArgs: readonly string[] = [
  '--conditions=@scanner/source',
  '--import',
  'tsx',
  cliPath,
]

/** The environment of every spawned CLI: no inherited SCANNER_TUNNEL_* or token. */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined || k.startsWith('SCANNER_TUNNEL_') || k === 'TUNNEL_TOKEN') continue
    if (k === 'CREDENTIALS_DIRECTORY' || k.startsWith('VITEST') || k === 'NODE_OPTIONS') continue
    env[k] = v
  }
  return { ...env, ...extra }
}

export interface CliResult {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs the CLI in a real process and waits for it to exit. */
export function runCli(
  args: readonly string[],
  options: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<CliResult> {
  const child = spawnCli(args, options.env)
  return waitExit(child, options.timeoutMs ?? 45_000)
}

/** Starts the CLI in a real process (for `run`). */
export function spawnCli(args: readonly string[], env: Record<string, string> = {}): CliProcess {
  const child = spawn(process.execPath, [...nodeArgs, ...args], {
    cwd: repoRoot,
    env: cleanEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  }) as CliProcess
  child.out = ''
  child.err = ''
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (child.out += d))
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (child.err += d))
  return child
}

export type CliProcess = ChildProcess & { out: string; err: string }

/** Waits for a spawned CLI to exit (kills it after `timeoutMs`). */
export function waitExit(child: CliProcess, timeoutMs = 45_000): Promise<CliResult> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    const done = (code: number | null, signal: NodeJS.Signals | null): void => {
      clearTimeout(timer)
      resolve({ code, signal, stdout: child.out, stderr: child.err })
    }
    if (child.exitCode !== null || child.signalCode !== null) {
      done(child.exitCode, child.signalCode)
      return
    }
    child.once('close', done)
  })
}

/** Polls `predicate` until it holds (or throws after `timeoutMs` with `what`). */
export async function waitFor<T>(
  what: string,
  predicate: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 45_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await predicate()
    if (value !== undefined && value !== false) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** Runs the CLI in-process and captures its output. */
export async function runInProcess(
  args: readonly string[],
  env: Record<string, string | undefined> = {},
  cwd = process.cwd(),
): Promise<CliResult> {
  let stdout = ''
  let stderr = ''
  const code = await main(args, {
    env,
    cwd,
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
  })
  return { code, signal: null, stdout, stderr }
}

/** A temporary directory removed by the returned function. */
export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'scanner-tunnel-cli-'))
  return {
    dir,
    cleanup: () => {
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** Tells whether a process exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** The `dns:` section of a test config: the edge name, resolved through loopback servers. */
export function dnsSection(
  systemServer: string,
  fallback: string,
  extra: readonly string[] = [],
): string[] {
  return [
    'dns:',
    '  names: [region1.v2.argotunnel.com]',
    `  systemServers: ["${systemServer}"]`,
    `  fallbacks: ["${fallback}"]`,
    ...extra.map((line) => `  ${line}`),
  ]
}

/** A DNS server on 127.0.0.1 that answers A queries with 127.0.0.1, SERVFAIL, or nothing (`drop`). */
export interface LoopbackDns {
  readonly address: string
  mode: 'ok' | 'servfail' | 'drop'
  queries: number
  close(): Promise<void>
}

/** Starts a tiny authoritative DNS server over node:dgram on a loopback port. */
export async function startDns(mode: LoopbackDns['mode'] = 'ok'): Promise<LoopbackDns> {
  const socket = createSocket('udp4')
  const state = { mode, queries: 0 }
  socket.on('message', (msg, rinfo) => {
    let query: dnsPacket.DecodedPacket
    try {
      query = dnsPacket.decode(msg)
    } catch {
      return
    }
    state.queries++
    if (state.mode === 'drop') return
    const question = query.questions?.[0]
    const ok = state.mode === 'ok'
    const response = dnsPacket.encode({
      type: 'response',
      id: query.id ?? 0,
      flags: dnsPacket.AUTHORITATIVE_ANSWER | (ok ? 0 : 2),
      questions: query.questions ?? [],
      answers:
        ok && question?.type === 'A'
          ? [{ type: 'A', name: question.name, ttl: 5, class: 'IN', data: '127.0.0.1' }]
          : [],
    })
    socket.send(response, rinfo.port, rinfo.address)
  })
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve))
  const { port } = socket.address()
  return {
    address: `127.0.0.1:${port}`,
    get mode() {
      return state.mode
    },
    set mode(m) {
      state.mode = m
    },
    get queries() {
      return state.queries
    },
    set queries(n) {
      state.queries = n
    },
    close: () =>
      new Promise<void>((resolve) =>
        socket.close(() => {
          resolve()
        }),
      ),
  }
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      server.close(() => {
        resolve(port)
      })
    })
  })
}
