// Throughput ratios of HTTP routes against a baseline route, for the packages' benchmarks.
//
// Method. Every variant runs in its own server process (a child started with the bench file's
// `serve` mode). A variant and the baseline are loaded *at the same time*, each by its own
// autocannon instance with the same number of connections, while both servers share one CPU
// (`pnpm bench` pins servers to CPU 0 and this process to CPU 1 when it can). The scheduler
// gives each server half of that CPU, so the ratio of the two request counts is the ratio of
// their costs per request, and a slow patch of the machine (another tenant, CPU steal, a
// frequency drop) hits both sides alike instead of whichever slice it fell in. The figure is
// the median over rounds. Rounds interleave the variants (round 1 of each, then round 2 of
// each, ...): measured one variant after another, a variant measured later read about 4 % low
// against an identical copy of the baseline, as the long-loaded baseline process kept warming
// up. A second copy of the baseline is measured like a variant and printed as the A/A line:
// the harness's own bias in this run. Each round also reads how busy the servers kept their
// CPU: below 90 %, the load generator rather than the servers set the pace and the ratio is
// flagged.
import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createServer, type RequestListener } from 'node:http'
import type { AddressInfo } from 'node:net'
import autocannon from 'autocannon'

/** One server to measure. */
export interface Variant {
  /** Passed to the bench file as `serve <framework> <name>`. */
  readonly name: string
  /** Label printed in the report. */
  readonly label: string
  /** Path to load. */
  readonly path: string
  /** Minimum ratio to the baseline; undefined for the baseline itself. */
  readonly target?: number
  /** Status every response must have (default: any 2xx). */
  readonly status?: number
  /**
   * Also compare with other variants (by `name`), measured in the same rounds: the median over
   * rounds of (this ratio ÷ that variant's ratio), against `target`.
   */
  readonly floors?: readonly { readonly name: string; readonly target: number }[]
}

export interface RatioBench {
  /** Absolute path of the bench file; it is run as `<file> serve <framework> <variant>`. */
  readonly file: string
  readonly frameworks: readonly string[]
  /** The first variant is the baseline. */
  readonly variants: readonly Variant[]
}

/** Serves a request listener on 127.0.0.1, port 0, for a bench file's `serve` mode; returns the port. */
export async function listenOnLoopback(listener: RequestListener): Promise<number> {
  const server = createServer(listener)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return (server.address() as AddressInfo).port
}

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 9)
const SLICE_S = Number(process.env.BENCH_SLICE_S ?? 1)
// BENCH_FRAMEWORKS=fastify,hono measures only those frameworks.
const ONLY = process.env.BENCH_FRAMEWORKS?.split(',').map((f) => f.trim())
const CONNECTIONS = 32

interface Server {
  readonly child: ChildProcess
  readonly port: number
}

async function startServer(file: string, framework: string, variant: string): Promise<Server> {
  const args = [...process.execArgv, file, 'serve', framework, variant]
  const cpus = process.env.BENCH_SERVER_CPUS
  const child = cpus
    ? spawn('taskset', ['-c', cpus, process.execPath, ...args], {
        stdio: ['ignore', 'pipe', 'inherit'],
      })
    : spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] })
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => {
      reject(new Error(`${framework} ${variant} server exited with ${String(code)}`))
    })
    child.stdout?.once('data', (chunk: Buffer) => {
      resolve(Number(chunk.toString().trim()))
    })
  })
  return { child, port }
}

/** CPU time (user + system) of a process so far, in clock ticks (Linux); undefined elsewhere. */
function cpuTicks(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return Number(fields[11]) + Number(fields[12])
  } catch {
    return undefined
  }
}

async function load(server: Server, variant: Variant, duration: number): Promise<number> {
  const result = await autocannon({
    url: `http://127.0.0.1:${server.port}${variant.path}`,
    connections: CONNECTIONS,
    duration,
  })
  const expected = variant.status
  const wrong =
    expected === undefined
      ? result.non2xx
      : result.requests.total -
        ((result.statusCodeStats as Record<string, { count?: number }>)[String(expected)]?.count ??
          0)
  if (wrong > 0 || result.errors > 0) {
    throw new Error(
      `${variant.label}: ${wrong} responses with the wrong status, ${result.errors} errors`,
    )
  }
  return result.requests.total
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/** Runs the benchmark and prints one block per framework; returns the number of missed targets. */
export async function runRatioBench(bench: RatioBench): Promise<number> {
  const [baseline, ...compared] = bench.variants
  if (baseline === undefined) throw new Error('no variants')
  // A second copy of the baseline, measured like any variant: the harness's own bias, which
  // should read 1.00. A figure elsewhere is only as good as this one.
  const others = [{ ...baseline, label: `${baseline.label} again (A/A)` }, ...compared]
  const variants = [baseline, ...others]
  console.log(
    `autocannon, ${CONNECTIONS} connections per server, 127.0.0.1 only. Each variant is loaded at ` +
      `the same time as the baseline (${baseline.label}), both servers sharing one CPU, ` +
      `${ROUNDS} rounds of ${SLICE_S} s interleaved across the variants; ratio = median over ` +
      `rounds of the two request counts. The A/A line is a second copy of the baseline: the ` +
      `harness's own bias (ideally 1.00).`,
  )
  let missed = 0
  for (const framework of bench.frameworks) {
    if (ONLY !== undefined && !ONLY.includes(framework)) continue
    const servers = await Promise.all(
      variants.map((v) => startServer(bench.file, framework, v.name)),
    )
    try {
      // Warm-up (JIT, connection pools), and each server's throughput with the CPU to itself.
      const solo: number[] = []
      for (const [i, variant] of variants.entries()) {
        await load(servers[i]!, variant, 1)
        solo.push((await load(servers[i]!, variant, 2)) / 2)
      }
      console.log(`${framework}:`)
      console.log(
        `  ${baseline.label.padEnd(34)} ${solo[0]!.toFixed(0).padStart(7)} req/s alone   (baseline)`,
      )
      // Interleaved rounds: every variant is measured over the same stretch of the run.
      const ratios: number[][] = others.map(() => [])
      const busy: number[][] = others.map(() => [])
      for (let round = 0; round < ROUNDS; round++) {
        for (const [j, variant] of others.entries()) {
          const i = j + 1
          const pids = [servers[0]!.child.pid, servers[i]!.child.pid]
          const before = pids.map(cpuTicks)
          const started = performance.now()
          const [base, measured] = await Promise.all([
            load(servers[0]!, baseline, SLICE_S),
            load(servers[i]!, variant, SLICE_S),
          ])
          const seconds = (performance.now() - started) / 1000
          const after = pids.map(cpuTicks)
          ratios[j]!.push(measured / base)
          if (before.every((t) => t !== undefined) && after.every((t) => t !== undefined)) {
            const ticks = after[0]! + after[1]! - before[0]! - before[1]!
            busy[j]!.push(ticks / 100 / seconds)
          }
        }
      }
      for (const [j, variant] of others.entries()) {
        const i = j + 1
        const ratio = median(ratios[j]!)
        let verdict = ''
        if (variant.target !== undefined) {
          const met = ratio >= variant.target
          if (!met) missed++
          verdict = ` (target >= ${variant.target.toFixed(2)}: ${met ? 'met' : 'MISSED'})`
        }
        const spread = `rounds ${Math.min(...ratios[j]!).toFixed(2)}-${Math.max(...ratios[j]!).toFixed(2)}`
        const cpu = busy[j]!.length > 0 ? median(busy[j]!) : undefined
        const pace =
          cpu === undefined
            ? ''
            : `, servers' CPU ${(cpu * 100).toFixed(0)} % busy` +
              (cpu < 0.9 ? ' (below 90 %: the load generator may have set the pace)' : '')
        console.log(
          `  ${variant.label.padEnd(34)} ${solo[i]!.toFixed(0).padStart(7)} req/s alone   ratio ${ratio.toFixed(2)}${verdict}  [${spread}${pace}]`,
        )
      }
      // Against a floor variant: per round, this variant's ratio over the floor's.
      for (const [j, variant] of others.entries()) {
        for (const floor of variant.floors ?? []) {
          const f = others.findIndex((o, k) => k > 0 && o.name === floor.name)
          if (f < 0) throw new Error(`${variant.label}: no variant named ${floor.name}`)
          const quotients = ratios[j]!.map((r, round) => r / ratios[f]![round]!)
          const value = median(quotients)
          const met = value >= floor.target
          if (!met) missed++
          console.log(
            `  ${`${variant.label} ÷ ${others[f]!.label}`.padEnd(60)} ${value.toFixed(2)} (target >= ${floor.target.toFixed(2)}: ${met ? 'met' : 'MISSED'})  [rounds ${Math.min(...quotients).toFixed(2)}-${Math.max(...quotients).toFixed(2)}]`,
          )
        }
      }
    } finally {
      for (const { child } of servers) child.kill()
    }
  }
  if (missed > 0) console.log(`${missed} target(s) missed`)
  return missed
}
