import { describe, expect, it, vi } from 'vitest'
import { Emitter } from './events.js'

describe('Emitter', () => {
  it('delivers typed events and disposes subscriptions', () => {
    const events = new Emitter<{ tick: number; name: string }>()
    const seen: number[] = []
    const off = events.on('tick', (n) => seen.push(n))
    events.emit('tick', 1)
    expect(events.listenerCount('tick')).toBe(1)
    off()
    off()
    events.emit('tick', 2)
    expect(seen).toEqual([1])
    expect(events.listenerCount('tick')).toBe(0)
  })

  it('isolates a throwing listener', () => {
    const onError = vi.fn()
    const events = new Emitter<{ tick: number }>(onError)
    const good = vi.fn()
    events.on('tick', () => {
      throw new Error('listener bug')
    })
    events.on('tick', good)
    expect(() => {
      events.emit('tick', 1)
    }).not.toThrow()
    expect(good).toHaveBeenCalledWith(1)
    expect(onError).toHaveBeenCalledOnce()
  })

  it('lets a listener unsubscribe while being called', () => {
    const events = new Emitter<{ tick: number }>()
    const calls: string[] = []
    const off = events.on('tick', () => {
      calls.push('a')
      off()
    })
    events.on('tick', () => calls.push('b'))
    events.emit('tick', 1)
    events.emit('tick', 2)
    expect(calls).toEqual(['a', 'b', 'b'])
  })

  it('rejects non-function listeners and clears', () => {
    const events = new Emitter<{ tick: number }>()
    expect(() => events.on('tick', 'x' as never)).toThrow(TypeError)
    events.on('tick', () => undefined)
    events.clear()
    expect(events.listenerCount('tick')).toBe(0)
  })
})
