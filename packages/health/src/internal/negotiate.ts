import type { HeaderRecord } from './auth.js'
import { header } from './auth.js'

const HEALTH_JSON = 'application/health+json'

/**
 * Tells whether the `Accept` header prefers `application/health+json` over plain JSON (its
 * quality is positive and at least that of `application/json`).
 */
export function prefersHealthJson(headers: HeaderRecord): boolean {
  const accept = header(headers, 'accept')
  if (!accept?.toLowerCase().includes(HEALTH_JSON)) return false
  let healthQ = 0
  let jsonQ = 0
  for (const part of accept.toLowerCase().split(',')) {
    const [type = '', ...params] = part.split(';').map((s) => s.trim())
    let q = 1
    for (const param of params) {
      const [key, value] = param.split('=').map((s) => s.trim())
      if (key === 'q' && value !== undefined) {
        const parsed = Number(value)
        q = Number.isFinite(parsed) ? parsed : 0
      }
    }
    if (type === HEALTH_JSON) healthQ = Math.max(healthQ, q)
    else if (type === 'application/json') jsonQ = Math.max(jsonQ, q)
  }
  return healthQ > 0 && healthQ >= jsonQ
}
