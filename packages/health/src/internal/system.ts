import { cpus, freemem, loadavg, totalmem } from 'node:os'

interface CpuSnapshot {
  readonly idle: number
  readonly total: number
  readonly at: number
}

/** A point-in-time view of the machine, as reported by `/health/` and `systemCheck()`. */
export interface SystemSnapshot {
  readonly cpu_percent: number
  readonly memory_percent: number
  readonly load_avg: number[]
  readonly uptime_s: number
}

function cpuSnapshot(): CpuSnapshot {
  let idle = 0
  let total = 0
  for (const cpu of cpus()) {
    const t = cpu.times
    idle += t.idle
    total += t.user + t.nice + t.sys + t.idle + t.irq
  }
  return { idle, total, at: performance.now() }
}

/** Rounds to one decimal place. */
export function round1(value: number): number {
  return Math.round(value * 10) / 10
}

function busyPercent(from: CpuSnapshot, to: CpuSnapshot): number | undefined {
  const total = to.total - from.total
  if (total <= 0) return undefined
  const busy = total - (to.idle - from.idle)
  return round1(Math.min(100, Math.max(0, (busy / total) * 100)))
}

/**
 * Machine-wide CPU usage measured over an interval: each reading covers the time since the
 * previous sample (at least `intervalMs` apart; readings in between reuse the last value), so
 * no timer runs in the background. Until the first interval has passed since the sampler was
 * created, the figure is the average since boot: a window of a few microseconds would read
 * 0 or 100. Intervals run on the monotonic clock, so a wall-clock step cannot freeze them.
 */
export class SystemSampler {
  readonly #intervalMs: number
  #previous: CpuSnapshot
  #cpu: number | undefined
  #snapshot: SystemSnapshot | undefined
  #snapshotAt = 0

  constructor(intervalMs = 1000) {
    this.#intervalMs = intervalMs
    this.#previous = cpuSnapshot()
  }

  cpuPercent(): number {
    const complete = performance.now() - this.#previous.at >= this.#intervalMs
    if (!complete && this.#cpu !== undefined) return this.#cpu
    const current = cpuSnapshot()
    const measured = complete ? busyPercent(this.#previous, current) : undefined
    if (measured !== undefined) {
      this.#cpu = measured
      this.#previous = current
    }
    // No complete interval yet: the average since boot.
    this.#cpu ??= busyPercent({ idle: 0, total: 0, at: 0 }, current) ?? 0
    return this.#cpu
  }

  /** The figures, re-read at most once per `intervalMs` (reading them costs system calls). */
  snapshot(): SystemSnapshot {
    const now = performance.now()
    if (this.#snapshot !== undefined && now - this.#snapshotAt < this.#intervalMs) {
      return this.#snapshot
    }
    this.#snapshot = this.#read()
    this.#snapshotAt = now
    return this.#snapshot
  }

  #read(): SystemSnapshot {
    const total = totalmem()
    return {
      cpu_percent: this.cpuPercent(),
      memory_percent: total > 0 ? round1(((total - freemem()) / total) * 100) : 0,
      load_avg: loadavg().map((n) => Math.round(n * 100) / 100),
      uptime_s: Math.round(process.uptime()),
    }
  }
}
