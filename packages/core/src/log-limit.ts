/**
 * The rate limit of a child process's output (cloudflared, the origin service) in the log:
 * lines of the same shape are written a few times per window and then summarised, and every
 * source has a token bucket, so a flood of output becomes a bounded number of bytes.
 */

/** Options of the output rate limit ({@link CreateLoggerOptions.outputLimit}). */
export interface OutputLimitOptions {
  /**
   * Lines of one shape (the line with every run of digits and hex digits counted as one
   * symbol, so lines differing only in timestamps, ports, addresses or ids are alike) written
   * per window; the rest are counted and summarised when the window ends.
   * @default 5
   */
  readonly repeats?: number
  /**
   * Length of a window, in milliseconds.
   * @default 10000
   */
  readonly windowMs?: number
  /**
   * Lines per second one source may write in the long run (token bucket).
   * @default 100
   */
  readonly linesPerSecond?: number
  /**
   * Lines one source may write at once before `linesPerSecond` applies.
   * @default 1000
   */
  readonly burst?: number
}

/** The defaults of {@link OutputLimitOptions}. */
export const outputLimitDefaults: Readonly<Required<OutputLimitOptions>> = Object.freeze({
  repeats: 5,
  windowMs: 10_000,
  linesPerSecond: 100,
  burst: 1000,
})

/** A summary line due: `… repeated N times in T s` or `… N lines dropped`. */
export interface OutputSummary {
  readonly source: string
  /** Highest pino level of the lines it stands for. */
  readonly level: number
  readonly message: string
  readonly count: number
}

interface ShapeWindow {
  readonly start: number
  count: number
  suppressed: number
  lastAt: number
  lastLine: string
  level: number
}

interface SourceState {
  readonly shapes: Map<string, ShapeWindow>
  tokens: number
  refilledAt: number
  dropped: number
  droppedSince: number
  droppedLevel: number
}

/** Most shapes remembered per source; the oldest window is closed beyond it. */
const MAX_SHAPES = 256
/** Longest shape key and longest example line quoted in a summary. */
const MAX_SHAPE = 200
const MAX_EXAMPLE = 300

/** The line with runs of digits and hex digits (times, ports, addresses, ids) made alike. */
export function lineShape(line: string): string {
  return line
    .slice(0, MAX_SHAPE * 2)
    .replace(/[0-9a-fA-F]*\d[0-9a-fA-F]*/g, '#')
    .slice(0, MAX_SHAPE)
}

function seconds(ms: number): string {
  return (Math.max(ms, 0) / 1000).toFixed(1)
}

function example(line: string): string {
  return line.length > MAX_EXAMPLE ? `${line.slice(0, MAX_EXAMPLE)}…` : line
}

/**
 * Decides which output lines are written. {@link admit} answers per line; {@link drain}
 * returns the summaries of the windows that have ended.
 */
export class OutputLimiter {
  readonly #options: Readonly<Required<OutputLimitOptions>>
  readonly #now: () => number
  readonly #sources = new Map<string, SourceState>()
  readonly #pending: OutputSummary[] = []

  constructor(options: OutputLimitOptions = {}, now: () => number = () => performance.now()) {
    this.#options = { ...outputLimitDefaults, ...options }
    this.#now = now
  }

  #source(name: string, t: number): SourceState {
    let state = this.#sources.get(name)
    if (state === undefined) {
      state = {
        shapes: new Map(),
        tokens: this.#options.burst,
        refilledAt: t,
        dropped: 0,
        droppedSince: t,
        droppedLevel: 0,
      }
      this.#sources.set(name, state)
    }
    return state
  }

  #close(source: string, window: ShapeWindow): void {
    if (window.suppressed === 0) return
    this.#pending.push({
      source,
      level: window.level,
      count: window.suppressed,
      message: `… repeated ${window.suppressed} times in ${seconds(window.lastAt - window.start)} s: ${example(window.lastLine)}`,
    })
  }

  /** Whether `line` (at pino `level`) from `source` may be written now. */
  admit(source: string, line: string, level: number): boolean {
    const t = this.#now()
    const state = this.#source(source, t)
    const shape = lineShape(line)
    let window = state.shapes.get(shape)
    if (window !== undefined && t - window.start >= this.#options.windowMs) {
      this.#close(source, window)
      state.shapes.delete(shape)
      window = undefined
    }
    if (window === undefined) {
      if (state.shapes.size >= MAX_SHAPES) {
        for (const [oldestKey, oldest] of state.shapes) {
          this.#close(source, oldest)
          state.shapes.delete(oldestKey)
          break
        }
      }
      window = { start: t, count: 0, suppressed: 0, lastAt: t, lastLine: '', level: 0 }
      state.shapes.set(shape, window)
    }
    window.count++
    if (window.count > this.#options.repeats) {
      window.suppressed++
      window.lastAt = t
      window.lastLine = line
      window.level = Math.max(window.level, level)
      return false
    }
    const { linesPerSecond, burst } = this.#options
    state.tokens = Math.min(burst, state.tokens + ((t - state.refilledAt) / 1000) * linesPerSecond)
    state.refilledAt = t
    if (state.tokens < 1) {
      if (state.dropped === 0) state.droppedSince = t
      state.dropped++
      state.droppedLevel = Math.max(state.droppedLevel, level)
      return false
    }
    state.tokens--
    return true
  }

  /** Summaries due now: windows that ended (all of them with `all`), and rate-limit drops. */
  drain(all = false): OutputSummary[] {
    const t = this.#now()
    for (const [source, state] of this.#sources) {
      for (const [shape, window] of state.shapes) {
        if (all || t - window.start >= this.#options.windowMs) {
          this.#close(source, window)
          state.shapes.delete(shape)
        }
      }
      if (state.dropped > 0 && (all || t - state.droppedSince >= 1000)) {
        this.#pending.push({
          source,
          level: state.droppedLevel,
          count: state.dropped,
          message: `… ${state.dropped} lines dropped by the rate limit (${this.#options.linesPerSecond} lines/s) in ${seconds(t - state.droppedSince)} s`,
        })
        state.dropped = 0
        state.droppedLevel = 0
      }
      if (state.shapes.size === 0 && state.dropped === 0 && state.tokens >= this.#options.burst) {
        this.#sources.delete(source)
      }
    }
    return this.#pending.splice(0)
  }
}
