import { accessSync, constants, readFileSync, statSync } from 'node:fs'
import { mkdir, readFile, rm, writeFile, rename } from 'node:fs/promises'
import { createServer } from 'node:net'
import { delimiter, dirname, isAbsolute, join, resolve } from 'node:path'

/**
 * Finds an executable: a path (absolute or relative to `cwd`) or a name searched on `PATH`.
 * Returns its absolute path, or `undefined` when there is no executable file there.
 *
 * @example
 * ```ts
 * findExecutable('cloudflared') // '/usr/local/bin/cloudflared' or undefined
 * ```
 */
export function findExecutable(
  bin: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
  cwd: string = process.cwd(),
): string | undefined {
  const executable = (path: string): boolean => {
    try {
      if (!statSync(path).isFile()) return false
      accessSync(path, constants.X_OK)
      return true
    } catch {
      return false
    }
  }
  if (bin.includes('/') || bin.includes('\\') || isAbsolute(bin)) {
    const full = resolve(cwd, bin)
    return executable(full) ? full : undefined
  }
  const dirs = (env.PATH ?? env.Path ?? '').split(delimiter).filter(Boolean)
  const exts = process.platform === 'win32' ? ['', '.exe', '.cmd', '.bat'] : ['']
  for (const dir of dirs) {
    for (const ext of exts) {
      const full = join(dir, bin + ext)
      if (executable(full)) return full
    }
  }
  return undefined
}

let setprivCache: string | null | undefined

/** Path of util-linux `setpriv` on Linux, or undefined. */
export function setprivPath(): string | undefined {
  if (process.platform !== 'linux') return undefined
  if (setprivCache === undefined) setprivCache = findExecutable('setpriv') ?? null
  return setprivCache ?? undefined
}

/** Fields of /proc/<pid>/stat after the command name. */
function procStat(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const end = stat.lastIndexOf(')')
    return stat.slice(end + 2).split(' ')
  } catch {
    return undefined
  }
}

/** Start time of a process in clock ticks since boot (Linux), or undefined. */
export function procStartTime(pid: number): string | undefined {
  // Field 22 overall = index 19 after the "(comm)" field.
  return procStat(pid)?.[19]
}

/** Process group of a process (Linux), or undefined. */
export function procGroup(pid: number): number | undefined {
  const pgrp = procStat(pid)?.[2]
  return pgrp === undefined ? undefined : Number(pgrp)
}

/** State letter of a process (Linux: R, S, Z, ...), or undefined. */
export function procState(pid: number): string | undefined {
  return procStat(pid)?.[0]
}

/** Command line of a process (Linux), or undefined. */
export function procCmdline(pid: number): string[] | undefined {
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`, 'utf8')
    return raw.split('\0').filter((part) => part !== '')
  } catch {
    return undefined
  }
}

/** Whether a process exists (and is not a zombie, where /proc tells). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
  return procState(pid) !== 'Z'
}

/** Sends a signal to a whole process group; false when no process was there. */
export function killGroup(pgid: number, signal: NodeJS.Signals): boolean {
  if (!Number.isInteger(pgid) || pgid <= 1) return false
  try {
    process.kill(-pgid, signal)
    return true
  } catch {
    return false
  }
}

/** Sends a signal to one process; false when it was not there. */
export function killPid(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(pid, signal)
    return true
  } catch {
    return false
  }
}

/** Picks a free TCP port on 127.0.0.1 (listen on 0, read the port, close). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer()
    server.unref()
    server.once('error', reject)
    server.listen(0, host, () => {
      const address = server.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      server.close(() => {
        resolvePort(port)
      })
    })
  })
}

/** What the pid file records about a supervised process. */
export interface PidRecord {
  readonly pid: number
  readonly startTime: string | undefined
  readonly command: string
  readonly owner: number
  readonly ownerStartTime: string | undefined
}

/** Writes the pid file atomically. */
export async function writePidFile(path: string, record: PidRecord): Promise<void> {
  await mkdir(dirname(path), { recursive: true })
  const tmp = `${path}.${process.pid}.tmp`
  await writeFile(tmp, JSON.stringify(record) + '\n', { mode: 0o600 })
  await rename(tmp, path)
}

/** Reads the pid file; undefined when absent or unreadable. */
export async function readPidFile(path: string): Promise<PidRecord | undefined> {
  try {
    const parsed = JSON.parse(await readFile(path, 'utf8')) as Partial<PidRecord>
    if (typeof parsed.pid !== 'number' || typeof parsed.command !== 'string') return undefined
    return {
      pid: parsed.pid,
      startTime: parsed.startTime,
      command: parsed.command,
      owner: typeof parsed.owner === 'number' ? parsed.owner : 0,
      ownerStartTime: parsed.ownerStartTime,
    }
  } catch {
    return undefined
  }
}

/** Removes the pid file if it still names `pid` (ownership check). */
export async function removePidFile(path: string, pid?: number): Promise<void> {
  if (pid !== undefined) {
    const current = await readPidFile(path)
    if (current !== undefined && current.pid !== pid) return
  }
  await rm(path, { force: true }).catch(() => undefined)
}

/** Outcome of {@link reapStale}. */
export type ReapOutcome =
  | { readonly action: 'none' }
  | { readonly action: 'killed'; readonly pid: number }
  | { readonly action: 'kept'; readonly pid: number; readonly why: string }

/**
 * Finds a stale child recorded in a pid file and stops it, after checking it really is that
 * process: same start time (Linux /proc), command line containing the recorded command, and an
 * owner (the supervisor that started it) that is gone. Never signals anything unverified.
 */
export async function reapStale(path: string): Promise<ReapOutcome> {
  const record = await readPidFile(path)
  if (record === undefined) return { action: 'none' }
  const { pid } = record
  const forget = async (): Promise<ReapOutcome> => {
    await removePidFile(path, pid)
    return { action: 'none' }
  }
  if (!Number.isInteger(pid) || pid <= 1 || pid === process.pid) return forget()
  if (!isAlive(pid)) return forget()
  if (process.platform !== 'linux') {
    return { action: 'kept', pid, why: 'cannot verify the process identity on this platform' }
  }
  const startTime = procStartTime(pid)
  const cmdline = procCmdline(pid)
  if (
    startTime === undefined ||
    record.startTime === undefined ||
    startTime !== record.startTime ||
    !cmdline?.some((part) => part === record.command || part.endsWith(record.command))
  ) {
    // Recycled pid: another process now. Never touch it.
    return forget()
  }
  const ownerAlive =
    record.owner > 1 &&
    isAlive(record.owner) &&
    (record.ownerStartTime === undefined || procStartTime(record.owner) === record.ownerStartTime)
  if (ownerAlive) {
    return { action: 'kept', pid, why: `its supervisor (pid ${record.owner}) is still running` }
  }
  if (procGroup(pid) === pid) killGroup(pid, 'SIGKILL')
  else killPid(pid, 'SIGKILL')
  for (let i = 0; i < 50 && isAlive(pid); i++) {
    await new Promise((r) => setTimeout(r, 20))
  }
  await removePidFile(path, pid)
  return { action: 'killed', pid }
}
