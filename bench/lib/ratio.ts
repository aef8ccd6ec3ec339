// Throughput ratios of HTTP routes against a baseline route, for the packages' benchmarks.
//
// Method. Every variant runs in its own server process (a child started with the bench file's
// `serve` mode), and so does its own copy of the baseline: each variant is paired with a
// baseline process of its own. A pair is loaded *at the same time*, each server by its own
// autocannon instance with the same number of connections, while both servers share one CPU
// (`pnpm bench` pins servers to CPU 0 and this process to CPU 1 when it can). The scheduler gives
// each server half of that CPU, so the ratio of the two request counts is the ratio of their
// costs per request, and a slow patch of the machine (another tenant, CPU steal, a frequency
// drop) hits both sides alike. The figure is the median over rounds; rounds interleave the pairs
// (round 1 of each, then round 2 of each, ...).
//
// Fairness within a pair. Both servers of a pair are loaded in the same slices and idle in the
// same slices, so an idle process's cold start (V8 shrinks an idle heap; caches go cold) costs
// both alike. With one baseline shared by every pair, loaded in every slice while each variant
// was loaded in one slice of six, an identical copy of the baseline read 0.86-0.91 of it. Each
// slice starts with a short unmeasured warm-up of both, and which side is started first
// alternates by round. A second pair of two baseline copies is measured like a variant and
// printed as the A/A line: the harness's own bias in this run.
//
// Two figures per line. `req/s` is the ratio of request counts. `CPU/req` is the baseline's CPU
// time per request divided by the variant's (bare ÷ variant: 1.00 = as cheap as bare, 0.90 = each
// request costs 11 % more), read from /proc/<pid>/task/*/schedstat (Linux; nanoseconds, all of a
// server's threads). When the servers keep their CPU busy, the two agree. When they do not (on a
// 2-core machine one autocannon process tops out near the fast frameworks' speed), the load
// generator, not the servers, set the pace: the request counts then tell how fair autocannon was,
// and CPU/req is the figure that counts. Each line says which one its verdict used.
import { spawn, type ChildProcess } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
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
  /** Request headers to send (default: autocannon's own few). */
  readonly headers?: Readonly<Record<string, string>>
  /**
   * Also compare with other variants (by `name`), measured in the same rounds: the median over
   * rounds of (this ratio ÷ that variant's ratio), against `target` when there is one.
   */
  readonly floors?: readonly { readonly name: string; readonly target?: number }[]
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
// A framework's block is measured again, with fresh servers, while its A/A pair reads outside
// this band (at most ATTEMPTS times in all).
const AA_LOW = 0.97
const AA_HIGH = 1.03
const ATTEMPTS = Number(process.env.BENCH_ATTEMPTS ?? 3)
// Every server is loaded alone this long before anything is measured.
const WARMUP_S = Number(process.env.BENCH_WARMUP_S ?? 3)
// Each measured slice starts with this much unmeasured load of both servers of its pair.
const WARM_S = Number(process.env.BENCH_WARM_S ?? 0.25)
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

/**
 * CPU time a process has run so far, in nanoseconds: the sum over its threads of the first field
 * of /proc/<pid>/task/<tid>/schedstat (Linux). Undefined where that cannot be read.
 */
function cpuNs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined
  try {
    let total = 0
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        total += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0])
      } catch {
        // A thread that ended between the listing and the read: its time is lost to both reads.
      }
    }
    return total
  } catch {
    return undefined
  }
}

async function load(server: Server, variant: Variant, duration: number): Promise<number> {
  const result = await autocannon({
    url: `http://127.0.0.1:${server.port}${variant.path}`,
    connections: CONNECTIONS,
    duration,
    headers: variant.headers,
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

const spread = (values: readonly number[]): string =>
  `${Math.min(...values).toFixed(2)}-${Math.max(...values).toFixed(2)}`

/**
 * The figure a verdict stands on: CPU/req where the servers were under 90 % busy (the load
 * generator set the pace), else the request-count ratio.
 */
function figure(
  reqs: readonly number[],
  cpu: readonly number[],
  busy: number,
): { value: number; byCpu: boolean } {
  const byCpu = cpu.length > 0 && busy < 0.9
  return { value: byCpu ? median(cpu) : median(reqs), byCpu }
}

const inBand = (aa: number): boolean => aa >= AA_LOW && aa <= AA_HIGH

/** One pair's rounds: request-count ratios, CPU-per-request ratios, and how busy the CPU was. */
interface Rounds {
  readonly reqs: number[]
  readonly cpu: number[]
  readonly busy: number[]
}

/** Loads a pair at once for one slice (after an unmeasured warm-up); pushes its figures. */
async function measurePair(
  pair: readonly [Server, Server],
  variants: readonly [Variant, Variant],
  round: number,
  rounds: Rounds,
): Promise<void> {
  // Alternate which autocannon starts first: the first one opens its connections first.
  const order = round % 2 === 0 ? [0, 1] : [1, 0]
  const both = (seconds: number): Promise<number[]> =>
    Promise.all(order.map((k) => load(pair[k]!, variants[k]!, seconds))).then((counts) =>
      order[0] === 0 ? counts : [counts[1]!, counts[0]!],
    )
  if (WARM_S > 0) await both(WARM_S)
  const pids = pair.map((s) => s.child.pid)
  const before = pids.map(cpuNs)
  const started = performance.now()
  const [base, measured] = (await both(SLICE_S)) as [number, number]
  const seconds = (performance.now() - started) / 1000
  const after = pids.map(cpuNs)
  rounds.reqs.push(measured / base)
  if ([...before, ...after].every((t) => t !== undefined)) {
    const baseNs = after[0]! - before[0]!
    const variantNs = after[1]! - before[1]!
    rounds.cpu.push(baseNs / base / (variantNs / measured))
    rounds.busy.push((baseNs + variantNs) / 1e9 / seconds)
  }
}

/** One framework's block of the report, and the A/A figure it stands on. */
interface Block {
  readonly lines: string[]
  readonly missed: number
  readonly aa: number
}

/** Starts fresh servers for one framework, measures every pair, and returns the report block. */
async function measureFramework(
  bench: RatioBench,
  framework: string,
  baseline: Variant,
  others: readonly Variant[],
): Promise<Block> {
  const lines: string[] = []
  let missed = 0
  const pairs = await Promise.all(
    others.map(async (v): Promise<[Server, Server]> => [
      await startServer(bench.file, framework, baseline.name),
      await startServer(bench.file, framework, v.name),
    ]),
  )
  try {
    // Warm-up (JIT, connection pools), and each variant's throughput with the CPU to itself.
    // A server reaches its steady speed only after a few seconds of load (one second of
    // warm-up left Fastify at 60 % of it, Express at 45 %).
    const solo: number[] = []
    for (const [j, variant] of others.entries()) {
      const [base, server] = pairs[j]!
      await load(base, baseline, WARMUP_S)
      await load(server, variant, WARMUP_S)
      if (j === 0) solo.push((await load(base, baseline, 2)) / 2)
      solo.push((await load(server, variant, 2)) / 2)
    }
    lines.push(
      `  ${baseline.label.padEnd(34)} ${solo[0]!.toFixed(0).padStart(7)} req/s alone   (baseline)`,
    )
    // Interleaved rounds: every pair is measured over the same stretch of the run.
    const rounds: Rounds[] = others.map(() => ({ reqs: [], cpu: [], busy: [] }))
    // Round 0 is not counted: the first time a pair is loaded together, with connections
    // coming and going for both at once, it still read up to 1.5 for an A/A pair.
    for (let round = 0; round <= ROUNDS; round++) {
      for (const [j, variant] of others.entries()) {
        const target = round === 0 ? { reqs: [], cpu: [], busy: [] } : rounds[j]!
        await measurePair(pairs[j]!, [baseline, variant], round, target)
      }
    }
    const verdict = (
      label: string,
      r: Rounds,
      target: number | undefined,
      quotient?: Rounds,
    ): string => {
      const reqs = quotient ? r.reqs.map((x, k) => x / quotient.reqs[k]!) : r.reqs
      const cpu = quotient ? r.cpu.map((x, k) => x / quotient.cpu[k]!) : r.cpu
      const busy = median([...r.busy, ...(quotient?.busy ?? [])])
      const { value, byCpu } = figure(reqs, cpu, busy)
      let text = `  ${label.padEnd(60)} req/s ${median(reqs).toFixed(2)} [${spread(reqs)}]`
      if (cpu.length > 0) text += `  CPU/req ${median(cpu).toFixed(2)} [${spread(cpu)}]`
      if (r.busy.length > 0) text += `  servers ${(busy * 100).toFixed(0)} % busy`
      if (target !== undefined) {
        const met = value >= target
        if (!met) missed++
        text += `  target >= ${target.toFixed(2)} on ${byCpu ? 'CPU/req' : 'req/s'}: ${met ? 'met' : 'MISSED'}`
      }
      return text
    }
    for (const [j, variant] of others.entries()) {
      lines.push(`  ${variant.label.padEnd(34)} ${solo[j + 1]!.toFixed(0).padStart(7)} req/s alone`)
    }
    for (const [j, variant] of others.entries()) {
      lines.push(verdict(variant.label, rounds[j]!, variant.target))
    }
    // Against a floor variant: per round, this variant's figures over the floor's.
    for (const [j, variant] of others.entries()) {
      for (const floor of variant.floors ?? []) {
        const f = others.findIndex((o, k) => k > 0 && o.name === floor.name)
        if (f < 0) throw new Error(`${variant.label}: no variant named ${floor.name}`)
        lines.push(
          verdict(`${variant.label} ÷ ${others[f]!.label}`, rounds[j]!, floor.target, rounds[f]),
        )
      }
    }
    const aa = rounds[0]!
    return { lines, missed, aa: figure(aa.reqs, aa.cpu, median(aa.busy)).value }
  } finally {
    for (const pair of pairs) for (const { child } of pair) child.kill()
  }
}

/** Runs the benchmark and prints one block per framework; returns the number of missed targets. */
export async function runRatioBench(bench: RatioBench): Promise<number> {
  const [baseline, ...compared] = bench.variants
  if (baseline === undefined) throw new Error('no variants')
  // A second copy of the baseline, measured like any variant: the harness's own bias, which
  // should read 1.00. A figure elsewhere is only as good as this one.
  const others = [{ ...baseline, label: `${baseline.label} again (A/A)` }, ...compared]
  console.log(
    `autocannon, ${CONNECTIONS} connections per server, 127.0.0.1 only. Each variant is paired ` +
      `with its own copy of the baseline (${baseline.label}); a pair is loaded at once, both ` +
      `servers sharing one CPU, ${ROUNDS} rounds (after one not counted) of ${WARM_S} s ` +
      `warm-up + ${SLICE_S} s interleaved across the pairs. Figures are medians over rounds ` +
      `[spread of rounds]: req/s = variant ÷ baseline request counts; CPU/req = baseline ÷ ` +
      `variant CPU time per request (1.00 = as cheap as the baseline). The A/A line pairs two ` +
      `copies of the baseline: the harness's own bias (ideally 1.00); a block whose A/A is ` +
      `outside ${AA_LOW}-${AA_HIGH} is measured again with fresh servers, up to ${ATTEMPTS} times. ` +
      `Where the servers' CPU was under 90 % busy, the load generator set the pace and the ` +
      `verdict uses CPU/req.`,
  )
  let missed = 0
  for (const framework of bench.frameworks) {
    if (ONLY !== undefined && !ONLY.includes(framework)) continue
    // Two identical server processes can settle at speeds 20 % apart for a whole run (V8's
    // optimisations and heap sizing depend on timing): the A/A pair shows it, and a block whose
    // A/A is off is not worth reading.
    let block: Block | undefined
    for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
      block = await measureFramework(bench, framework, baseline, others)
      if (inBand(block.aa)) break
      console.log(
        `${framework}: A/A ${block.aa.toFixed(2)}, outside ${AA_LOW}-${AA_HIGH}` +
          (attempt < ATTEMPTS ? ': measuring again with fresh servers' : ''),
      )
    }
    console.log(
      `${framework}:${inBand(block!.aa) ? '' : ' (A/A outside its band: read these figures as rough)'}`,
    )
    for (const line of block!.lines) console.log(line)
    missed += block!.missed
  }
  if (missed > 0) console.log(`${missed} target(s) missed`)
  return missed
}
