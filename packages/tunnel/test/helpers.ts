import type { Logger } from '@scanner/core'
import { createTunnel } from '@scanner/tunnel'
import type {
  DnsMonitorLike,
  DnsMonitorState,
  Tunnel,
  TunnelEvents,
  TunnelOptions,
} from '@scanner/tunnel'
import { fakeCloudflaredPath, fakeCloudflaredToken } from '@scanner/tunnel/testing'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const dirs: string[] = []

/** A fresh temporary directory (removed by {@link removeTempDirs}). */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'scanner-tunnel-test-'))
  dirs.push(dir)
  return dir
}

/** Removes the directories made by {@link tempDir}. */
export function removeTempDirs(): void {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
}

/** One record written to a {@link RecordingLogger}. */
export interface LogRecord {
  readonly level: string
  readonly bindings: Record<string, unknown>
  readonly obj: unknown
  readonly msg: string | undefined
}

/** A logger that keeps every record (and its bindings). */
export interface RecordingLogger extends Logger {
  readonly records: LogRecord[]
}

export function recordingLogger(): RecordingLogger {
  const records: LogRecord[] = []
  const make = (bindings: Record<string, unknown>): Logger => {
    const method =
      (level: string) =>
      (objOrMsg: unknown, msg?: string): void => {
        if (typeof objOrMsg === 'string') records.push({ level, bindings, obj: {}, msg: objOrMsg })
        else records.push({ level, bindings, obj: objOrMsg, msg })
      }
    return {
      debug: method('debug'),
      info: method('info'),
      warn: method('warn'),
      error: method('error'),
      child: (more) => make({ ...bindings, ...more }),
    }
  }
  return Object.assign(make({}), { records })
}

/** A logger that only counts calls (for floods). */
export function countingLogger(): Logger & { count: number } {
  const state = { count: 0 }
  const inc = (): void => {
    state.count++
  }
  const logger: Logger & { count: number } = {
    debug: inc,
    info: inc,
    warn: inc,
    error: inc,
    child: () => logger,
    get count() {
      return state.count
    },
  }
  return logger
}

/** Polls `predicate` until true; rejects after `timeoutMs`. */
export async function waitFor(
  predicate: () => boolean,
  timeoutMs = 30_000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

/** Waits until `path` holds a pid (a positive integer) and returns it. */
export async function readPidFile(path: string, timeoutMs = 10_000): Promise<number> {
  let pid = 0
  await waitFor(
    () => {
      try {
        pid = Number(readFileSync(path, 'utf8').trim())
      } catch {
        return false
      }
      return Number.isInteger(pid) && pid > 0
    },
    timeoutMs,
    `a pid in ${path}`,
  )
  return pid
}

/** Resolves with the first event matching `predicate`. */
export function nextEvent<K extends keyof TunnelEvents>(
  tunnel: Tunnel,
  event: K,
  predicate: (e: TunnelEvents[K]) => boolean = () => true,
  timeoutMs = 30_000,
): Promise<TunnelEvents[K]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off()
      reject(new Error(`timed out waiting for event ${event}`))
    }, timeoutMs)
    const off = tunnel.on(event, (e) => {
      if (!predicate(e)) return
      clearTimeout(timer)
      off()
      resolve(e)
    })
  })
}

/** Pids of every live process in a process group (Linux /proc). */
export function groupMembers(pgid: number): number[] {
  const pids: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      if (Number(fields[2]) === pgid && fields[0] !== 'Z') pids.push(Number(entry))
    } catch {
      // gone
    }
  }
  return pids
}

/** Whether a pid is alive (and not a zombie). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] !== 'Z'
  } catch {
    return false
  }
}

export const TOKEN_SECRET = 'c2VjcmV0LXRlc3QtdG9rZW4tOTg3NjU0MzIx'
export const testToken: string = fakeCloudflaredToken({ secret: TOKEN_SECRET })

/** Fast options for tests: the simulator, a pid file in a temp dir, short timings. */
export function fastOptions(overrides: TunnelOptions = {}): TunnelOptions {
  return {
    bin: fakeCloudflaredPath,
    token: testToken,
    pidFile: join(tempDir(), 'cloudflared.pid'),
    gracePeriodMs: 500,
    killMarginMs: 300,
    readyPollIntervalMs: 100,
    readyProbeTimeoutMs: 500,
    backoff: { initialDelayMs: 50, factor: 2, maxDelayMs: 2000, jitter: 'none' },
    ...overrides,
  }
}

const open = new Set<Tunnel>()

/** createTunnel() with {@link fastOptions}; stopped by {@link stopAll}. */
export function tunnelFor(overrides: TunnelOptions = {}): Tunnel {
  const tunnel = createTunnel(fastOptions(overrides))
  open.add(tunnel)
  return tunnel
}

/** Stops every tunnel made by {@link tunnelFor} (use in afterEach). */
export async function stopAll(): Promise<void> {
  await Promise.all([...open].map((t) => t.stop()))
  open.clear()
  removeTempDirs()
}

type DnsEvent = 'failure' | 'network-down' | 'recovered'

/** A DNS monitor double with the @scanner/health DnsMonitor shape. */
export class FakeDns implements DnsMonitorLike {
  state: DnsMonitorState = 'ok'
  readonly #listeners = new Map<DnsEvent, Set<(report: unknown) => void>>()
  on(event: DnsEvent, listener: (report: unknown) => void): () => void {
    const set = this.#listeners.get(event) ?? new Set()
    this.#listeners.set(event, set)
    set.add(listener)
    return () => set.delete(listener)
  }
  emit(event: DnsEvent): void {
    this.state = event === 'failure' ? 'dns-failure' : event === 'recovered' ? 'ok' : 'network-down'
    for (const l of this.#listeners.get(event) ?? []) l({ status: this.state })
  }
  listeners(): number {
    let n = 0
    for (const set of this.#listeners.values()) n += set.size
    return n
  }
}
