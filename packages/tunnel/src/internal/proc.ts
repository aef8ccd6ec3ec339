import { accessSync, constants, readdirSync, readFileSync, statSync } from 'node:fs'
import { mkdir, readFile, rm, writeFile, rename } from 'node:fs/promises'
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'
import type { Socket } from 'node:net'
import { delimiter, dirname, isAbsolute, join, resolve } from 'node:path'

/**
 * The variables {@link findExecutable} reads, from a child's `env` over this process's own: the
 * same lookup as `{ ...process.env, ...env }` without copying all of `process.env` (a quarter of
 * a millisecond on every restart).
 */
export function searchPathEnv(
  env: Readonly<Record<string, string | undefined>>,
): Record<'PATH' | 'Path', string | undefined> {
  return {
    PATH: 'PATH' in env ? env.PATH : process.env.PATH,
    Path: 'Path' in env ? env.Path : process.env.Path,
  }
}

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

/** One supervised process group as the pid file records it. */
export interface PidProcess {
  /** The child's pid; it leads its own process group and session (spawned detached). */
  readonly pid: number
  /** Its process group (the pid on Unix, where children are spawned detached). */
  readonly pgid: number
  /** Start time in clock ticks since boot (/proc/<pid>/stat field 22): the identity against pid reuse. */
  readonly startTime: string | undefined
  readonly command: string
}

/** What the pid file records: the supervisor (owner) and every process group it runs. */
export interface PidRecord {
  readonly owner: number
  readonly ownerStartTime: string | undefined
  /** Linux boot id: a record from before a reboot names nothing. */
  readonly bootId: string | undefined
  readonly processes: readonly PidProcess[]
}

let bootIdCache: string | null | undefined

/** The Linux boot id (/proc/sys/kernel/random/boot_id), or undefined. */
export function bootId(): string | undefined {
  if (bootIdCache === undefined) {
    try {
      bootIdCache = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim()
    } catch {
      bootIdCache = null
    }
  }
  return bootIdCache ?? undefined
}

/** Writes the pid file atomically (mode 0600). */
export async function writePidFile(path: string, record: PidRecord): Promise<void> {
  await mkdir(dirname(path), { recursive: true })
  const tmp = `${path}.${process.pid}.tmp`
  await writeFile(tmp, JSON.stringify(record) + '\n', { mode: 0o600 })
  await rename(tmp, path)
}

function toProcess(value: unknown): PidProcess | undefined {
  const p = (typeof value === 'object' && value !== null ? value : {}) as Partial<PidProcess>
  if (typeof p.pid !== 'number' || typeof p.command !== 'string') return undefined
  return {
    pid: p.pid,
    pgid: typeof p.pgid === 'number' ? p.pgid : p.pid,
    startTime: typeof p.startTime === 'string' ? p.startTime : undefined,
    command: p.command,
  }
}

/**
 * Reads the pid file; undefined when absent or unreadable. Also reads the one-process format of
 * earlier versions (`{pid, startTime, command, owner, ownerStartTime}`).
 */
export async function readPidFile(path: string): Promise<PidRecord | undefined> {
  try {
    const parsed = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>
    const owner = typeof parsed.owner === 'number' ? parsed.owner : 0
    const ownerStartTime =
      typeof parsed.ownerStartTime === 'string' ? parsed.ownerStartTime : undefined
    const boot = typeof parsed.bootId === 'string' ? parsed.bootId : undefined
    const list = Array.isArray(parsed.processes) ? parsed.processes : [parsed]
    const processes = list.map(toProcess).filter((p): p is PidProcess => p !== undefined)
    if (processes.length === 0) return undefined
    return { owner, ownerStartTime, bootId: boot, processes }
  } catch {
    return undefined
  }
}

/** Removes the pid file. */
export async function removePidFile(path: string): Promise<void> {
  await rm(path, { force: true }).catch(() => undefined)
}

/** Pids of the live (non-zombie) members of a process group, with their start time and session. */
export function groupMembers(
  pgid: number,
): { readonly pid: number; readonly startTime: string; readonly session: number }[] {
  const members: { pid: number; startTime: string; session: number }[] = []
  let entries: string[]
  try {
    entries = readdirSync('/proc')
  } catch {
    return members
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue
    const stat = procStat(Number(entry))
    if (stat === undefined || stat[0] === 'Z' || Number(stat[2]) !== pgid) continue
    members.push({ pid: Number(entry), startTime: stat[19] ?? '', session: Number(stat[3]) })
  }
  return members
}

/** Outcome of {@link reapStale}. */
export type ReapOutcome =
  | { readonly action: 'none' }
  | { readonly action: 'killed'; readonly pids: readonly number[] }
  | { readonly action: 'kept'; readonly pid: number; readonly why: string }

/**
 * Finds the process groups recorded in a pid file by a supervisor that is gone, and kills them
 * (SIGKILL to the group), after checking identity: same boot, and either the recorded leader is
 * alive with the recorded start time and command, or the leader is gone and the group still has
 * members of the same session that started no earlier than it (while any member lives, Linux
 * does not reuse the group's number as a pid). Never signals anything unverified; forgets the
 * file otherwise.
 */
export async function reapStale(path: string): Promise<ReapOutcome> {
  const record = await readPidFile(path)
  if (record === undefined) return { action: 'none' }
  const forget = async (): Promise<ReapOutcome> => {
    await removePidFile(path)
    return { action: 'none' }
  }
  const ownerAlive =
    record.owner > 1 &&
    record.owner !== process.pid &&
    isAlive(record.owner) &&
    (record.ownerStartTime === undefined || procStartTime(record.owner) === record.ownerStartTime)
  if (process.platform !== 'linux') {
    const first = record.processes.find((p) => p.pid > 1 && isAlive(p.pid))
    if (first === undefined) return forget()
    return {
      action: 'kept',
      pid: first.pid,
      why: 'cannot verify the process identity on this platform',
    }
  }
  const boot = bootId()
  if (record.bootId !== undefined && boot !== undefined && record.bootId !== boot) return forget()
  if (ownerAlive) {
    const live = record.processes.find((p) => isAlive(p.pid))
    if (live !== undefined) {
      return {
        action: 'kept',
        pid: live.pid,
        why: `its supervisor (pid ${record.owner}) is still running`,
      }
    }
    return forget()
  }
  const killed: number[] = []
  for (const proc of record.processes) {
    const { pid, pgid, startTime } = proc
    if (!Number.isInteger(pid) || pid <= 1 || pid === process.pid || startTime === undefined)
      continue
    if (!Number.isInteger(pgid) || pgid <= 1 || pgid === process.pid) continue
    let verified = false
    if (isAlive(pid)) {
      const cmdline = procCmdline(pid)
      // A live pid with another start time or command is a recycled pid: never touch it.
      verified =
        procStartTime(pid) === startTime &&
        procGroup(pid) === pgid &&
        cmdline?.some((part) => part === proc.command || part.endsWith(proc.command)) === true
    } else if (pgid === pid) {
      // The leader is gone: what is left of its group (helpers, grandchildren).
      const members = groupMembers(pgid)
      verified =
        members.length > 0 &&
        members.every((m) => m.session === pgid && Number(m.startTime) >= Number(startTime))
    }
    if (!verified) continue
    const members = groupMembers(pgid).map((m) => m.pid)
    killGroup(pgid, 'SIGKILL')
    for (let i = 0; i < 100 && groupMembers(pgid).length > 0; i++) {
      await new Promise((r) => setTimeout(r, 20))
    }
    killed.push(...(members.length > 0 ? members : [pid]))
  }
  await removePidFile(path)
  return killed.length > 0 ? { action: 'killed', pids: killed } : { action: 'none' }
}

/**
 * The keeper of a process group: a `/bin/sh` (about 1 MB) in a session of its own whose stdin is
 * a pipe from this process. It blocks reading that pipe; when this process dies, however it dies
 * (even SIGKILL), the kernel closes the pipe, the read returns, and the keeper SIGKILLs the
 * whole group: cloudflared and anything it spawned. Stop it with {@link stopKeeper} once the group
 * is gone. Undefined where there is no `/bin/sh` (Windows) or it cannot start.
 */
export function startKeeper(pgid: number): ChildProcess | undefined {
  if (process.platform === 'win32' || !Number.isInteger(pgid) || pgid <= 1) return undefined
  try {
    const keeper = spawn('/bin/sh', ['-c', 'read _ ; kill -9 -"$0" 2>/dev/null', String(pgid)], {
      stdio: ['pipe', 'ignore', 'ignore'],
      detached: true,
    })
    keeper.on('error', () => undefined)
    keeper.stdin?.on('error', () => undefined)
    ;(keeper.stdin as Socket | null)?.unref()
    keeper.unref()
    return keeper
  } catch {
    return undefined
  }
}

/** Ends a keeper without letting it fire (SIGKILL, so its read never returns). */
export function stopKeeper(keeper: ChildProcess | undefined): void {
  if (keeper?.pid === undefined || keeper.exitCode !== null || keeper.signalCode !== null) return
  try {
    process.kill(keeper.pid, 'SIGKILL')
  } catch {
    // already gone
  }
  keeper.stdin?.destroy()
}
