/**
 * Test helpers shared by the example smoke tests: start an example server as a real child
 * process, a loopback-only DNS server, and process-tree inspection to prove nothing is left
 * running after shutdown.
 *
 * @module @scanner-examples/domain/testing
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createSocket, type Socket } from 'node:dgram'
import { readFileSync, readdirSync } from 'node:fs'

/**
 * A DNS server on 127.0.0.1 that answers every A question with 127.0.0.1 (and AAAA with no
 * answer), so a DNS checker can be exercised without any traffic leaving the machine.
 *
 * @example
 * ```ts
 * const dns = await startLoopbackDns()
 * env.DNS_FALLBACKS = dns.address // '127.0.0.1:53535'
 * await dns.close()
 * ```
 */
export async function startLoopbackDns(): Promise<{
  readonly address: string
  readonly port: number
  readonly queries: () => number
  close(): Promise<void>
}> {
  const socket: Socket = createSocket('udp4')
  let count = 0
  socket.on('message', (query, remote) => {
    count++
    const reply = answer(query)
    if (reply !== undefined) socket.send(reply, remote.port, remote.address)
  })
  await new Promise<void>((resolve) => {
    socket.bind(0, '127.0.0.1', resolve)
  })
  socket.unref()
  const { port } = socket.address()
  return {
    address: `127.0.0.1:${port}`,
    port,
    queries: () => count,
    close: () =>
      new Promise<void>((resolve) => {
        socket.close(() => {
          resolve()
        })
      }),
  }
}

function answer(query: Buffer): Buffer | undefined {
  if (query.length < 12) return undefined
  // Walk the question name to find QTYPE.
  let offset = 12
  while (offset < query.length && query[offset] !== 0) offset += (query[offset] ?? 0) + 1
  const end = offset + 5 // zero byte + QTYPE + QCLASS
  if (end > query.length) return undefined
  const qtype = query.readUInt16BE(offset + 1)
  const isA = qtype === 1
  const header = Buffer.alloc(12)
  query.copy(header, 0, 0, 2) // ID
  header.writeUInt16BE(0x8180 | (query.readUInt16BE(2) & 0x0100), 2) // response, RD copied, RA
  header.writeUInt16BE(1, 4) // QDCOUNT
  header.writeUInt16BE(isA ? 1 : 0, 6) // ANCOUNT
  const question = query.subarray(12, end)
  if (!isA) return Buffer.concat([header, question])
  const record = Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4, 127, 0, 0, 1])
  return Buffer.concat([header, question, record])
}

/** A running example server started by {@link startExample}. */
export interface RunningExample {
  readonly child: ChildProcess
  /** The URL the server printed (`... listening on http://127.0.0.1:PORT`). */
  readonly url: string
  /** Everything the process wrote so far (stdout and stderr). */
  output(): string
  /** Resolves when `pattern` appears in the output (after `from` characters); 30 s by default. */
  waitForOutput(pattern: RegExp, timeoutMs?: number, from?: number): Promise<RegExpMatchArray>
  /**
   * Sends `signal` (none with `null`: the caller already signalled) and resolves with the exit
   * code (or signal name); SIGKILLs the process group after `timeoutMs`.
   */
  stop(signal?: NodeJS.Signals | null, timeoutMs?: number): Promise<number | NodeJS.Signals>
  /** SIGKILLs the whole process group now if the process still runs (test clean-up). */
  kill(): void
}

/**
 * Starts `command` (by default the example's `pnpm start` command line) in `cwd` as a real
 * child process in its own process group, and waits for the printed URL.
 */
export async function startExample(options: {
  readonly cwd: string
  readonly env: NodeJS.ProcessEnv
  readonly args?: readonly string[]
  readonly command?: string
  readonly shell?: boolean
  /** Wait for the `listening on` line, in ms (tsx compiles first: slow on a loaded machine). @default 60000 */
  readonly timeoutMs?: number
}): Promise<RunningExample> {
  const args = options.args ?? ['--conditions=@scanner/source', '--import', 'tsx', 'src/server.ts']
  const child = spawn(options.command ?? process.execPath, [...args], {
    cwd: options.cwd,
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
    shell: options.shell ?? false,
  })
  let output = ''
  const waiters = new Set<() => void>()
  const onData = (chunk: Buffer): void => {
    output += chunk.toString('utf8')
    for (const waiter of waiters) waiter()
  }
  child.stdout?.on('data', onData)
  child.stderr?.on('data', onData)
  const exited = new Promise<number | NodeJS.Signals>((resolve) => {
    child.once('exit', (code, signal) => {
      resolve(code ?? signal ?? -1)
      for (const waiter of waiters) waiter()
    })
  })

  const waitForOutput = (
    pattern: RegExp,
    timeoutMs = 30_000,
    from = 0,
  ): Promise<RegExpMatchArray> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const match = output.slice(from).match(pattern)
        if (match) {
          cleanup()
          resolve(match)
        } else if (child.exitCode !== null || child.signalCode !== null) {
          cleanup()
          reject(new Error(`process exited before ${String(pattern)}:\n${output}`))
        }
      }
      const timer = setTimeout(() => {
        cleanup()
        reject(new Error(`timed out waiting for ${String(pattern)}:\n${output}`))
      }, timeoutMs)
      const cleanup = (): void => {
        clearTimeout(timer)
        waiters.delete(check)
      }
      waiters.add(check)
      check()
    })

  let url: string
  try {
    const match = await waitForOutput(/listening on (http:\/\/\S+)/, options.timeoutMs ?? 60_000)
    url = match[1] ?? ''
  } catch (error) {
    if (child.pid !== undefined && child.exitCode === null) killGroup(child.pid)
    throw error
  }

  return {
    child,
    url,
    output: () => output,
    waitForOutput,
    async stop(signal: NodeJS.Signals | null = 'SIGTERM', timeoutMs = 15_000) {
      if (signal !== null && child.exitCode === null && child.signalCode === null) {
        child.kill(signal)
      }
      const timer = setTimeout(() => {
        if (child.pid !== undefined) killGroup(child.pid)
      }, timeoutMs)
      try {
        return await exited
      } finally {
        clearTimeout(timer)
      }
    },
    kill() {
      if (child.exitCode === null && child.pid !== undefined) killGroup(child.pid)
    },
  }
}

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL')
  } catch {
    // already gone
  }
}

/** Pids of the live descendants of `pid` (Linux `/proc`; empty elsewhere). */
export function descendants(pid: number): number[] {
  let entries: string[]
  try {
    entries = readdirSync('/proc').filter((name) => /^\d+$/.test(name))
  } catch {
    return []
  }
  const parents = new Map<number, number>()
  for (const entry of entries) {
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      // Fields after the command name, which is in parentheses and may contain spaces.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      if (fields[0] === 'Z') continue // zombie: already dead
      parents.set(Number(entry), Number(fields[1]))
    } catch {
      // process ended while reading
    }
  }
  const found: number[] = []
  const queue = [pid]
  while (queue.length > 0) {
    const parent = queue.shift()
    for (const [child, ppid] of parents) {
      if (ppid === parent && !found.includes(child)) {
        found.push(child)
        queue.push(child)
      }
    }
  }
  return found
}

/** The command line of `pid`, or `undefined` when it is gone. */
export function commandLine(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim()
  } catch {
    return undefined
  }
}

/** Tells whether `pid` is still alive (and not a zombie). */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] !== 'Z'
  } catch {
    try {
      process.kill(pid, 0)
      return true
    } catch {
      return false
    }
  }
}
