/*
 * The timeline: plain SVG written here (no chart library). The window is cut into a fixed
 * number of buckets and each lane draws at most one mark per bucket with a summarised <title>,
 * so the SVG's size is bounded whatever the history holds.
 */
import { clock, clockShort, cut, escCut, token } from './format.js'
import type { StatusEvent, StatusRestartEvent } from './history.js'

/** Time windows of the timeline. */
export type StatusWindow = '15m' | '1h' | '6h' | '24h'

/** How a window reads on the page: `15 min`, `1 h`, `24 h`. */
export function windowLabel(window: StatusWindow): string {
  return window.endsWith('m') ? `${window.slice(0, -1)} min` : `${window.slice(0, -1)} h`
}

/** Every window with its length in milliseconds. */
export const STATUS_WINDOWS: Readonly<Record<StatusWindow, number>> = Object.freeze({
  '15m': 900_000,
  '1h': 3_600_000,
  '6h': 21_600_000,
  '24h': 86_400_000,
})

const BUCKETS = 48
const LEFT = 92
const RIGHT = 952
const WIDTH = 960
const LANE = 28
const TOP = 6
const LANES = ['Tunnel', 'Restarts', 'QUIC', 'DNS', 'Breakers', 'Errors'] as const
const HEIGHT = TOP + LANES.length * LANE + 22
const PLOT = RIGHT - LEFT
const STEP = PLOT / BUCKETS

/** Severity of tunnel states: the worst state of a bucket is drawn. */
const SEVERITY: Readonly<Record<string, number>> = {
  running: 0,
  stopping: 1,
  starting: 2,
  degraded: 3,
  backoff: 4,
  stopped: 5,
  failed: 6,
}
const severity = (state: string): number => SEVERITY[state] ?? 3

const f1 = (n: number): string => (Math.round(n * 10) / 10).toString()

function laneY(index: number): number {
  return TOP + index * LANE
}

function summarise(values: readonly string[], max: number): string {
  const counts = new Map<string, number>()
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1)
  const parts = [...counts.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, max)
    .map(([value, n]) => (n > 1 ? `${cut(value, 40)} ×${String(n)}` : cut(value, 40)))
  if (counts.size > max) parts.push('…')
  return parts.join(', ')
}

function bucketOf(at: number, from: number, span: number): number {
  return Math.min(BUCKETS - 1, Math.max(0, Math.floor(((at - from) / span) * BUCKETS)))
}

function bands(
  flags: readonly (string | undefined)[],
  y: number,
  height: number,
  title: (value: string, first: number, last: number) => string | undefined,
  klass: (value: string) => string,
): string {
  let out = ''
  let i = 0
  while (i < BUCKETS) {
    const value = flags[i]
    if (value === undefined) {
      i++
      continue
    }
    let j = i
    while (j + 1 < BUCKETS && flags[j + 1] === value) j++
    out +=
      `<rect class="${klass(value)}" x="${f1(LEFT + i * STEP)}" y="${String(y)}" ` +
      `width="${f1((j - i + 1) * STEP)}" height="${String(height)}">${tip(title(value, i, j))}</rect>`
    i = j + 1
  }
  return out
}

/** How much the marks' tooltips say; less when the full text would make the SVG too large. */
type Detail = 'full' | 'short' | 'none'

/** A tooltip: escaped, at most 120 characters; nothing for `undefined`. */
function tip(text: string | undefined): string {
  return text === undefined ? '' : `<title>${escCut(text, 120)}</title>`
}

/** Characters the timeline may take before its tooltips are shortened, then left out. */
const TIMELINE_BUDGET = 16_000

function strategyClass(event: StatusRestartEvent): string {
  if (event.strategy === 'make-before-break') return 'mbb'
  if (event.strategy === 'break-before-make') return 'bbm'
  return 'rst'
}

/**
 * Renders the timeline of `events` over `window` ending at `now`: the tunnel state as a band,
 * restarts (triangles: filled for make-before-break, hollow for break-before-make), QUIC
 * incidents, DNS episodes (bands), breaker openings and errors, on one time axis (UTC).
 */
export function renderTimeline(
  events: readonly StatusEvent[],
  window: StatusWindow,
  now: number,
  currentState: string | undefined,
): string {
  let svg = ''
  for (const detail of ['full', 'short', 'none'] as const) {
    svg = draw(events, window, now, currentState, detail)
    if (svg.length <= TIMELINE_BUDGET) break
  }
  return svg
}

function draw(
  events: readonly StatusEvent[],
  window: StatusWindow,
  now: number,
  currentState: string | undefined,
  detail: Detail,
): string {
  const say = (full: () => string, short: () => string): string | undefined =>
    detail === 'full' ? full() : detail === 'short' ? short() : undefined
  const span = STATUS_WINDOWS[window]
  const from = now - span
  const bucketStart = (i: number): number => from + (i * span) / BUCKETS
  const range = (first: number, last: number): string =>
    `${clock(bucketStart(first))}–${clock(bucketStart(last + 1))}`

  // Tunnel state per bucket (the worst one seen in it), DNS episodes per bucket.
  const states: (string | undefined)[] = new Array<string | undefined>(BUCKETS).fill(undefined)
  const dns: (string | undefined)[] = new Array<string | undefined>(BUCKETS).fill(undefined)
  const restarts: StatusRestartEvent[][] = Array.from({ length: BUCKETS }, () => [])
  const quic = new Array<number>(BUCKETS).fill(0)
  const opens: string[][] = Array.from({ length: BUCKETS }, () => [])
  const errors: string[][] = Array.from({ length: BUCKETS }, () => [])

  let state: string | undefined
  let dnsState: string | undefined
  let stateBucket = 0
  let dnsBucket = 0
  const fillState = (until: number): void => {
    for (let i = stateBucket; i <= until && i < BUCKETS; i++) {
      if (state === undefined) continue
      const current = states[i]
      if (current === undefined || severity(state) > severity(current)) states[i] = state
    }
  }
  const fillDns = (until: number): void => {
    for (let i = dnsBucket; i <= until && i < BUCKETS; i++) {
      if (dnsState !== undefined && dnsState !== 'recovered') {
        dns[i] = dns[i] === 'network-down' ? 'network-down' : dnsState
      }
    }
  }
  for (const event of events) {
    if (event.at > now) continue
    if (event.at < from) {
      // Before the window: only what state the tunnel and DNS were in when it began.
      if (event.kind === 'state') state = event.state
      else if (event.kind === 'dns') dnsState = event.status
      continue
    }
    const b = bucketOf(event.at, from, span)
    switch (event.kind) {
      case 'state':
        // Before the first known state nothing is drawn (a process start is not an outage).
        fillState(b)
        state = event.state
        stateBucket = b
        fillState(b)
        break
      case 'dns':
        fillDns(b)
        dnsState = event.status
        dnsBucket = b
        if (dnsState !== 'recovered') fillDns(b)
        break
      case 'restart':
        restarts[b]?.push(event)
        break
      case 'quic':
        quic[b] = (quic[b] ?? 0) + 1
        break
      case 'breaker':
        if (event.state === 'open') opens[b]?.push(event.key)
        break
      case 'error':
        errors[b]?.push(event.errorId ?? event.message)
        break
    }
  }
  state ??= currentState
  if (currentState !== undefined && state !== currentState && stateBucket < BUCKETS - 1) {
    fillState(BUCKETS - 2)
    state = currentState
    stateBucket = BUCKETS - 1
  }
  fillState(BUCKETS - 1)
  fillDns(BUCKETS - 1)

  let svg =
    `<svg class="timeline" viewBox="0 0 ${String(WIDTH)} ${String(HEIGHT)}" role="img" ` +
    `aria-labelledby="timeline-title" preserveAspectRatio="none">` +
    `<title id="timeline-title">Timeline of the last ${windowLabel(window)}: tunnel state, restarts, QUIC incidents, DNS episodes, breakers and errors</title>`
  // Lane labels and guides.
  LANES.forEach((label, i) => {
    const y = laneY(i)
    svg +=
      `<text class="lane" x="4" y="${String(y + 18)}">${label}</text>` +
      `<line class="guide" x1="${String(LEFT)}" x2="${String(RIGHT)}" y1="${String(y + LANE)}" y2="${String(y + LANE)}"/>`
  })
  // Time axis: 6 ticks.
  const axisY = TOP + LANES.length * LANE
  for (let t = 0; t <= 6; t++) {
    const x = LEFT + (t * PLOT) / 6
    const at = from + (t * span) / 6
    svg +=
      `<line class="tick" x1="${f1(x)}" x2="${f1(x)}" y1="${String(TOP)}" y2="${String(axisY + 4)}"/>` +
      `<text class="axis" x="${f1(x)}" y="${String(axisY + 17)}" text-anchor="${t === 0 ? 'start' : t === 6 ? 'end' : 'middle'}">${t === 6 ? 'now' : clockShort(at)}</text>`
  }

  svg += bands(
    states,
    laneY(0) + 6,
    LANE - 12,
    (value, a, b) =>
      say(
        () => `${value} ${range(a, b)}`,
        () => `${cut(value, 24)} ${range(a, b)}`,
      ),
    (value) => `st st-${token(value)}`,
  )
  svg += bands(
    dns,
    laneY(3) + 8,
    LANE - 16,
    (value, a, b) =>
      detail === 'none'
        ? undefined
        : `${value === 'network-down' ? 'network down (no resolver answers)' : 'DNS failure (system resolver)'} ${range(a, b)}`,
    (value) => (value === 'network-down' ? 'dns-down' : 'dns-fail'),
  )

  for (let i = 0; i < BUCKETS; i++) {
    const cx = LEFT + (i + 0.5) * STEP
    const list = restarts[i] ?? []
    const last = list.at(-1)
    if (last !== undefined) {
      const y = laneY(1)
      const full = (): string =>
        list.length === 1
          ? `${clock(last.at)} restart: ${last.reason}${last.strategy === undefined ? '' : `, ${last.strategy}`}`
          : `${range(i, i)}: ${String(list.length)} restarts: ${summarise(
              list.map((e) => e.reason),
              3,
            )}; ${summarise(
              list.map((e) => e.strategy ?? 'strategy not reported'),
              2,
            )}`
      const title = say(full, () => `${range(i, i)}: ${String(list.length)} restart(s)`)
      svg +=
        `<path class="mk ${strategyClass(last)}" d="M${f1(cx)} ${String(y + 5)}l6 15h-12z">${tip(title)}</path>` +
        (list.length > 1
          ? i < BUCKETS - 3
            ? `<text class="count" x="${f1(cx + 7)}" y="${String(y + 12)}">${String(list.length)}</text>`
            : `<text class="count" x="${f1(cx - 7)}" y="${String(y + 12)}" text-anchor="end">${String(list.length)}</text>`
          : '')
    }
    const q = quic[i] ?? 0
    if (q > 0) {
      svg += `<circle class="quic" cx="${f1(cx)}" cy="${String(laneY(2) + 14)}" r="${String(Math.min(8, 3 + q))}">${detail === 'none' ? '' : tip(`${range(i, i)}: ${String(q)} QUIC timeout incident${q === 1 ? '' : 's'}`)}</circle>`
    }
    const open = opens[i] ?? []
    if (open.length > 0) {
      const y = laneY(4) + 14
      svg += `<path class="brk" d="M${f1(cx)} ${String(y - 7)}l7 7l-7 7l-7-7z">${tip(
        say(
          () => `${range(i, i)}: opened: ${summarise(open, 2)}`,
          () => `${range(i, i)}: ${String(open.length)} opened`,
        ),
      )}</path>`
    }
    const errs = errors[i] ?? []
    if (errs.length > 0) {
      const y = laneY(5)
      svg += `<rect class="err" x="${f1(cx - 2)}" y="${String(y + 6 + Math.max(0, 14 - errs.length * 2))}" width="4" height="${String(Math.min(16, 2 + errs.length * 2))}">${tip(
        say(
          () =>
            `${range(i, i)}: ${String(errs.length)} error${errs.length === 1 ? '' : 's'}: ${summarise(errs, 2)}`,
          () => `${range(i, i)}: ${String(errs.length)} error(s)`,
        ),
      )}</rect>`
    }
  }
  return `${svg}</svg>`
}

/** The restarts of `events` in the window, newest first. */
export function restartsIn(
  events: readonly StatusEvent[],
  window: StatusWindow,
  now: number,
): StatusRestartEvent[] {
  const from = now - STATUS_WINDOWS[window]
  const out: StatusRestartEvent[] = []
  for (const event of events) {
    if (event.kind === 'restart' && event.at >= from && event.at <= now) out.push(event)
  }
  return out.reverse()
}
