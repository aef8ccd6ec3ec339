/* Escaping and formatting shared by the page renderer and the timeline. Internal. */

const HTML_ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
}

/**
 * Escapes a value for HTML text and (quoted) attribute values: `& < > " '`. Every string that
 * reaches the page goes through here; numbers are formatted by us.
 */
export function esc(value: unknown): string {
  const text = typeof value === 'string' ? value : String(value)
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c)
}

/**
 * Escapes `value` like {@link esc} and cuts the escaped text to at most `max` characters
 * (never inside an entity, `…` at the end): the bytes a string adds to the page are bounded
 * whatever characters it holds.
 */
export function escCut(value: unknown, max: number): string {
  const text = typeof value === 'string' ? value : String(value)
  let out = ''
  for (const char of text) {
    const piece = HTML_ESCAPES[char] ?? char
    if (out.length + piece.length > max - 1) return `${out}…`
    out += piece
  }
  return out
}

/** Cuts `text` to `max` characters for display (`…` at the end). */
export function cut(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text
}

const pad = (n: number): string => String(n).padStart(2, '0')

/** `HH:MM:SS` in UTC. */
export function clock(ms: number): string {
  const d = new Date(ms)
  return `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`
}

/** `HH:MM` in UTC. */
export function clockShort(ms: number): string {
  const d = new Date(ms)
  return `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`
}

/** A duration a person reads at a glance: `850 ms`, `42 s`, `4 min 12 s`, `2 h 5 min`, `3 d 4 h`. */
export function duration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '0 s'
  if (ms < 1000) return `${String(Math.round(ms))} ms`
  const s = Math.floor(ms / 1000)
  if (s < 60) return `${String(s)} s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${String(m)} min ${String(s % 60)} s`
  const h = Math.floor(m / 60)
  if (h < 24) return `${String(h)} h ${String(m % 60)} min`
  return `${String(Math.floor(h / 24))} d ${String(h % 24)} h`
}

/** Seconds with one decimal: `1.5 s`. */
export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`
}

/** The CSS class of a state word: letters, digits and dashes only. */
export function token(value: string): string {
  return (
    value
      .toLowerCase()
      .replace(/[^a-z0-9-]/g, '')
      .slice(0, 24) || 'unknown'
  )
}
