/*
 * Server-side rendering of the status page: semantic HTML that reads as a complete snapshot
 * without JavaScript; the inline script only swaps in sections the server renders again and
 * sends over Server-Sent Events. Every string from a source goes through esc().
 */
import { clock, duration, esc, escCut, seconds, token } from './format.js'
import type { StatusEvent, StatusHistory } from './history.js'
import { STYLE } from './style.js'
import type { StatusBreakerSnapshot, StatusSnapshot } from './snapshot.js'
import {
  STATUS_WINDOWS,
  renderTimeline,
  restartsIn,
  windowLabel,
  type StatusWindow,
} from './timeline.js'

/** Latency samples of one component, oldest first (`undefined`: no latency in that sample). */
export type LatencySamples = readonly (number | undefined)[]

/** What the renderer needs besides the snapshot. */
export interface RenderInput {
  readonly title: string
  readonly basePath: string
  readonly history: StatusHistory
  readonly snapshot: StatusSnapshot | undefined
  readonly latencies: ReadonlyMap<string, LatencySamples>
  readonly window: StatusWindow
  readonly now: number
}

/** Rows shown per table; the rest is counted ("and 12 more"). */
export const RENDER_LIMITS = Object.freeze({
  restarts: 8,
  errors: 10,
  breakers: 12,
  components: 20,
})

const STATE_WORDS: Readonly<Record<string, string>> = {
  running: 'Tunnel up',
  degraded: 'Tunnel degraded',
  starting: 'Tunnel starting',
  backoff: 'Tunnel down, restarting',
  stopping: 'Tunnel stopping',
  stopped: 'Tunnel stopped',
  failed: 'Tunnel failed, gave up',
}

function currentState(input: RenderInput): {
  state: string | undefined
  since: number | undefined
} {
  const latest = input.history.latest('state')
  const state = input.snapshot?.tunnel?.state ?? latest?.state
  const since = latest !== undefined && latest.state === state ? latest.at : undefined
  return { state, since }
}

/** The document title: the state first, so a browser tab tells it. */
export function pageTitle(input: RenderInput): string {
  const { state } = currentState(input)
  return `${state === undefined ? 'No tunnel' : (STATE_WORDS[state] ?? state)} · ${input.title}`
}

function fact(label: string, value: string): string {
  return `<div><dt>${label}</dt><dd>${value}</dd></div>`
}

/** The tunnel state, large, with how long it has been in it. */
export function renderState(input: RenderInput): string {
  const { state, since } = currentState(input)
  const tunnel = input.snapshot?.tunnel
  const klass = state === undefined ? 'none' : token(state)
  let out = `<section id="s-state" class="state st-${klass}" aria-labelledby="h-state"><h2 id="h-state" class="vh">Tunnel state</h2>`
  out += `<p class="big">${escCut(state === undefined ? 'No tunnel' : (STATE_WORDS[state] ?? state), 80)}</p>`
  out +=
    since === undefined
      ? `<p class="since">${state === undefined ? 'this process supervises no tunnel' : 'since before this history began'}</p>`
      : `<p class="since">${escCut(state ?? '', 60)} for <time datetime="${new Date(since).toISOString()}" data-since="${String(since)}">${duration(input.now - since)}</time>, since ${clock(since)} UTC</p>`
  if (tunnel !== undefined) {
    const facts: string[] = []
    if (tunnel.readyConnections !== undefined) {
      facts.push(fact('Edge connections', String(tunnel.readyConnections)))
    }
    const protocol = tunnel.activeProtocol ?? tunnel.protocol
    if (protocol !== undefined) facts.push(fact('Protocol', escCut(protocol, 24)))
    if (tunnel.pid !== undefined) facts.push(fact('cloudflared pid', String(tunnel.pid)))
    if (tunnel.restarts !== undefined) {
      facts.push(fact('Restarts (process)', String(tunnel.restarts.total)))
    }
    if (tunnel.quicIncidents !== undefined) {
      facts.push(fact('QUIC incidents (window)', String(tunnel.quicIncidents)))
    }
    if (tunnel.dns !== undefined) facts.push(fact('DNS', escCut(tunnel.dns, 24)))
    if (tunnel.nextStartAt !== undefined) {
      facts.push(fact('Next start', esc(clock(Date.parse(tunnel.nextStartAt)))))
    }
    if (tunnel.url !== undefined) facts.push(fact('URL', escCut(tunnel.url, 100)))
    out += `<dl class="facts">${facts.join('')}</dl>`
    if (tunnel.failure !== undefined) {
      out += `<p class="failure">Gave up (${escCut(tunnel.failure.reason, 48)}): ${escCut(tunnel.failure.message, 200)}</p>`
    }
  }
  return `${out}</section>`
}

function windowNav(input: RenderInput): string {
  const links = (Object.keys(STATUS_WINDOWS) as StatusWindow[]).map((w) =>
    w === input.window
      ? `<a href="?window=${w}" data-window="${w}" aria-current="page">${windowLabel(w)}</a>`
      : `<a href="?window=${w}" data-window="${w}">${windowLabel(w)}</a>`,
  )
  return `<nav class="windows" aria-label="Time window">${links.join('')}</nav>`
}

function counts(values: readonly string[]): string {
  const map = new Map<string, number>()
  for (const value of values) map.set(value, (map.get(value) ?? 0) + 1)
  return [...map.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 6)
    .map(([value, n]) => `${escCut(value, 48)} ${String(n)}`)
    .join(', ')
}

/** The timeline for the chosen window, with the latest restarts as a table. */
export function renderTimelineSection(input: RenderInput): string {
  const from = input.now - STATUS_WINDOWS[input.window]
  // The state and DNS episode in force when the window began come from older events.
  let lastState: StatusEvent | undefined
  let lastDns: StatusEvent | undefined
  const inWindow: StatusEvent[] = []
  for (const event of input.history.events()) {
    if (event.at >= from) inWindow.push(event)
    else if (event.kind === 'state') lastState = event
    else if (event.kind === 'dns') lastDns = event
  }
  const context = [lastState, lastDns].filter((e): e is StatusEvent => e !== undefined)
  const restarts = restartsIn(inWindow, input.window, input.now)
  const label = windowLabel(input.window)
  let out = `<section id="s-timeline" aria-labelledby="h-timeline"><div class="head"><h2 id="h-timeline">Last ${label}</h2>${windowNav(input)}</div>`
  out += renderTimeline(
    [...context.sort((a, b) => a.seq - b.seq), ...inWindow],
    input.window,
    input.now,
    input.snapshot?.tunnel?.state,
  )
  out += `<p class="legend"><span class="k mbb">▲</span> make-before-break <span class="k bbm">△</span> break-before-make <span class="k rst">▲</span> restart <span class="k quic">●</span> QUIC incident <span class="k dns">▬</span> DNS episode <span class="k brk">◆</span> breaker opened <span class="k err">▮</span> errors · times in UTC</p>`
  const quic = inWindow.filter((e) => e.kind === 'quic').length
  const dns = inWindow.filter((e) => e.kind === 'dns' && e.status !== 'recovered').length
  out += `<p class="summary"><strong>${String(restarts.length)} restart${restarts.length === 1 ? '' : 's'}</strong>`
  if (restarts.length > 0) {
    out += ` (${counts(restarts.map((r) => r.reason))}; ${counts(restarts.map((r) => r.strategy ?? 'strategy not reported'))})`
  }
  out += `, ${String(quic)} QUIC incident${quic === 1 ? '' : 's'}, ${String(dns)} DNS episode${dns === 1 ? '' : 's'} in the last ${label}.</p>`
  if (restarts.length > 0) {
    out += `<table class="restarts"><caption class="vh">Latest restarts</caption><thead><tr><th scope="col">Time (UTC)</th><th scope="col">Reason</th><th scope="col">Strategy</th><th scope="col">Delay / handover</th></tr></thead><tbody>`
    for (const r of restarts.slice(0, RENDER_LIMITS.restarts)) {
      const timing =
        r.handoverMs !== undefined
          ? `handover ${seconds(r.handoverMs)}`
          : r.delayMs !== undefined
            ? `after ${seconds(r.delayMs)}`
            : ''
      out +=
        `<tr><td><time datetime="${new Date(r.at).toISOString()}">${clock(r.at)}</time></td>` +
        `<td>${escCut(r.reason, 60)}${r.exitCode === undefined || r.reason !== 'exit' ? '' : ` (exit ${String(r.exitCode)})`}</td>` +
        `<td>${r.strategy === undefined ? '<span class="muted">not reported</span>' : `<span class="tag ${r.strategy === 'make-before-break' ? 'mbb' : 'bbm'}">${escCut(r.strategy, 60)}</span>`}</td>` +
        `<td>${timing}</td></tr>`
    }
    out += '</tbody></table>'
    if (restarts.length > RENDER_LIMITS.restarts) {
      out += `<p class="more">and ${String(restarts.length - RENDER_LIMITS.restarts)} earlier in this window</p>`
    }
  }
  return `${out}</section>`
}

function sparkline(samples: LatencySamples | undefined): string {
  if (samples === undefined) return ''
  const values = samples.filter((v): v is number => v !== undefined)
  if (values.length < 2) return ''
  const max = Math.max(...values, 1)
  const w = 96
  const h = 20
  const stepX = w / Math.max(1, samples.length - 1)
  let d = ''
  samples.forEach((v, i) => {
    if (v === undefined) return
    const x = (i * stepX).toFixed(1)
    const y = (h - 2 - (v / max) * (h - 4)).toFixed(1)
    d += `${d === '' ? 'M' : 'L'}${x} ${y}`
  })
  return `<svg class="spark" viewBox="0 0 ${String(w)} ${String(h)}" width="${String(w)}" height="${String(h)}" aria-hidden="true"><path d="${d}"/></svg>`
}

function latencyText(value: unknown): string {
  return typeof value === 'number' && Number.isFinite(value) ? `${value.toFixed(1)} ms` : ''
}

/** Health components: status, latest latency and a small latency history. */
export function renderComponents(input: RenderInput): string {
  const health = input.snapshot?.health
  let out = `<section id="s-components" aria-labelledby="h-components"><h2 id="h-components">Health${health === undefined ? '' : ` <span class="badge b-${token(health.status)}">${escCut(health.status, 24)}</span>`}</h2>`
  if (health === undefined) return `${out}<p class="muted">No health checks reported.</p></section>`
  const entries = Object.entries(health.components)
  out += `<table><thead><tr><th scope="col">Component</th><th scope="col">Status</th><th scope="col">Latency</th><th scope="col">Recent</th></tr></thead><tbody>`
  for (const [name, component] of entries.slice(0, RENDER_LIMITS.components)) {
    const status = typeof component.status === 'string' ? component.status : 'unknown'
    const error =
      typeof component.error === 'string' && component.error !== ''
        ? `<div class="detail">${escCut(component.error, 120)}</div>`
        : ''
    out +=
      `<tr><th scope="row">${escCut(name, 60)}${error}</th>` +
      `<td><span class="badge b-${token(status)}">${escCut(status, 24)}</span></td>` +
      `<td class="num">${latencyText(component.latency_ms)}</td>` +
      `<td>${sparkline(input.latencies.get(name))}</td></tr>`
  }
  out += '</tbody></table>'
  if (entries.length > RENDER_LIMITS.components) {
    out += `<p class="more">and ${String(entries.length - RENDER_LIMITS.components)} more</p>`
  }
  return `${out}</section>`
}

const BREAKER_ORDER: Readonly<Record<string, number>> = { open: 0, 'half-open': 1, closed: 2 }

/** Route breakers: open ones first, then by failure rate. */
export function renderBreakers(input: RenderInput): string {
  const breakers: readonly StatusBreakerSnapshot[] = input.snapshot?.breakers ?? []
  let out = `<section id="s-breakers" aria-labelledby="h-breakers"><h2 id="h-breakers">Circuit breakers</h2>`
  if (breakers.length === 0)
    return `${out}<p class="muted">No route has a breaker yet.</p></section>`
  const sorted = [...breakers].sort(
    (a, b) =>
      (BREAKER_ORDER[a.state] ?? 3) - (BREAKER_ORDER[b.state] ?? 3) || b.errorRate - a.errorRate,
  )
  const open = breakers.filter((b) => b.state !== 'closed').length
  out += `<p class="summary">${String(open)} of ${String(breakers.length)} not closed.</p>`
  out += `<table><thead><tr><th scope="col">Route</th><th scope="col">State</th><th scope="col">Failure rate</th><th scope="col">Requests</th></tr></thead><tbody>`
  for (const b of sorted.slice(0, RENDER_LIMITS.breakers)) {
    const rate = Number.isFinite(b.errorRate) ? Math.max(0, Math.min(100, b.errorRate)) : 0
    const retry =
      b.state === 'open' && b.nextAttemptAt !== undefined
        ? `<div class="detail">next trial ${clock(b.nextAttemptAt)}</div>`
        : ''
    out +=
      `<tr><th scope="row"><code>${escCut(b.key, 80)}</code></th>` +
      `<td><span class="badge b-${token(b.state)}">${escCut(b.state, 24)}</span>${retry}</td>` +
      `<td class="num"><meter min="0" max="100" low="20" high="50" optimum="0" value="${rate.toFixed(0)}">${rate.toFixed(0)} %</meter> ${rate.toFixed(0)} %</td>` +
      `<td class="num">${b.requests === undefined ? '' : String(b.requests)}</td></tr>`
  }
  out += '</tbody></table>'
  if (sorted.length > RENDER_LIMITS.breakers) {
    out += `<p class="more">and ${String(sorted.length - RENDER_LIMITS.breakers)} more, all listed in /health/detailed/</p>`
  }
  return `${out}</section>`
}

/** The latest errors, newest first, with their error IDs. */
export function renderErrors(input: RenderInput): string {
  const errors = input.history.events({ kinds: ['error'] }).reverse()
  let out = `<section id="s-errors" aria-labelledby="h-errors"><h2 id="h-errors">Latest errors</h2>`
  if (errors.length === 0) return `${out}<p class="muted">No errors recorded.</p></section>`
  out += `<table><thead><tr><th scope="col">Time (UTC)</th><th scope="col">Error ID</th><th scope="col">Source</th><th scope="col">Message</th></tr></thead><tbody>`
  for (const e of errors.slice(0, RENDER_LIMITS.errors)) {
    if (e.kind !== 'error') continue
    out +=
      `<tr><td><time datetime="${new Date(e.at).toISOString()}">${clock(e.at)}</time></td>` +
      `<td>${e.errorId === undefined ? '<span class="muted">none</span>' : `<code>${escCut(e.errorId, 60)}</code>`}</td>` +
      `<td>${escCut(e.source ?? '', 40)}${e.status === undefined ? '' : ` ${String(e.status)}`}</td>` +
      `<td class="msg">${escCut(e.message, 160)}</td></tr>`
  }
  out += '</tbody></table>'
  if (errors.length > RENDER_LIMITS.errors) {
    out += `<p class="more">and ${String(errors.length - RENDER_LIMITS.errors)} older in the history</p>`
  }
  return `${out}</section>`
}

/** How much history is kept, and where to get it as JSON. */
export function renderFooter(input: RenderInput): string {
  return (
    `<p id="s-footer">History: ${String(input.history.size)} of ${String(input.history.capacity)} events kept in memory (lost on a process restart; the log keeps the full record). ` +
    `<a href="${esc(input.basePath)}/history.json">history.json</a></p>`
  )
}

/** The sections the page swaps in on an update, by element id. */
export function renderSections(input: RenderInput): Record<string, string> {
  return {
    's-state': renderState(input),
    's-timeline': renderTimelineSection(input),
    's-components': renderComponents(input),
    's-breakers': renderBreakers(input),
    's-errors': renderErrors(input),
    's-footer': renderFooter(input),
  }
}

function script(basePath: string): string {
  // Static code; the only value in it is the events URL, as a JSON string with `<` escaped.
  const url = JSON.stringify(`${basePath}/events`).replace(/</g, '\\u003c')
  return `(()=>{const U=${url};let w=new URLSearchParams(location.search).get('window')||'1h',es,off=0,up=0;
const f=ms=>{if(!(ms>=0))return'0 s';const s=Math.floor(ms/1e3);if(s<60)return s+' s';const m=Math.floor(s/60);if(m<60)return m+' min '+s%60+' s';const h=Math.floor(m/60);if(h<24)return h+' h '+m%60+' min';return Math.floor(h/24)+' d '+h%24+' h'};
const L=document.getElementById('live');const live=(ok,t)=>{L.className='live '+(ok?'on':'off');L.textContent=t};
setInterval(()=>{for(const t of document.querySelectorAll('[data-since]'))t.textContent=f(Date.now()+off-Number(t.dataset.since));if(up&&Date.now()-up>45e3)live(false,'no update for '+f(Date.now()-up)+', reconnecting…')},1e3);
const go=()=>{if(es)es.close();es=new EventSource(U+'?window='+encodeURIComponent(w));
es.addEventListener('update',e=>{const d=JSON.parse(e.data);off=d.now-Date.now();up=Date.now();for(const id in d.sections){const el=document.getElementById(id);if(el)el.outerHTML=d.sections[id]}document.title=d.title;live(true,'live · updated '+d.clock+' UTC')});
es.addEventListener('ping',()=>{up=Date.now()});
es.onerror=()=>live(false,'connection lost, retrying…')};
document.addEventListener('click',e=>{const a=e.target.closest&&e.target.closest('a[data-window]');if(!a)return;e.preventDefault();w=a.dataset.window;history.replaceState(null,'','?window='+encodeURIComponent(w));go()});
live(false,'connecting…');go()})()`
}

/**
 * The whole page: a complete server-rendered snapshot (readable without JavaScript), inline
 * CSS following `prefers-color-scheme`, and an inline script (allowed by `nonce`) that keeps
 * it live through Server-Sent Events. No external resource of any kind.
 */
export function renderPage(input: RenderInput, nonce: string): string {
  const sections = renderSections(input)
  return (
    `<!doctype html><html lang="en"><head><meta charset="utf-8">` +
    `<meta name="viewport" content="width=device-width,initial-scale=1">` +
    `<meta name="color-scheme" content="light dark"><link rel="icon" href="data:,"><title>${escCut(pageTitle(input), 120)}</title>` +
    `<style>${STYLE}</style></head><body>` +
    `<header class="top"><h1>${escCut(input.title, 80)}</h1>` +
    `<p id="live" class="live off" role="status">Snapshot at ${clock(input.now)} UTC. Reload for fresh data.</p></header>` +
    `<main>${sections['s-state'] ?? ''}${sections['s-timeline'] ?? ''}` +
    `<div class="grid">${sections['s-components'] ?? ''}${sections['s-breakers'] ?? ''}</div>` +
    `${sections['s-errors'] ?? ''}</main>` +
    `<footer>${sections['s-footer'] ?? ''}</footer>` +
    `<script nonce="${esc(nonce)}">${script(input.basePath)}</script></body></html>`
  )
}
