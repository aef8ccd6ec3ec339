/** Removes a subscription. Calling it more than once does nothing. */
export type Disposer = () => void

/** A listener of one event type. */
export type Listener<T> = (event: T) => void

/**
 * A typed event emitter whose `on` returns a disposer (cockatiel style). A listener that
 * throws never breaks the emitter or the other listeners: the error goes to `onListenerError`.
 *
 * @example
 * ```ts
 * const events = new Emitter<{ restart: { reason: string; delayMs: number } }>()
 * const off = events.on('restart', (e) => log.info(e, 'restart'))
 * events.emit('restart', { reason: 'exit', delayMs: 1000 })
 * off()
 * ```
 */
export class Emitter<Events extends object> {
  readonly #listeners = new Map<keyof Events, Set<Listener<never>>>()
  readonly #onListenerError: (error: unknown) => void

  constructor(onListenerError: (error: unknown) => void = () => undefined) {
    this.#onListenerError = onListenerError
  }

  /** Subscribes to `event`; returns a disposer. */
  on<K extends keyof Events>(event: K, listener: Listener<Events[K]>): Disposer {
    if (typeof listener !== 'function') throw new TypeError('listener must be a function')
    let set = this.#listeners.get(event)
    if (!set) {
      set = new Set()
      this.#listeners.set(event, set)
    }
    const entry = listener as Listener<never>
    set.add(entry)
    return () => {
      set.delete(entry)
    }
  }

  /** Calls every listener of `event` with `payload`, in subscription order. */
  emit<K extends keyof Events>(event: K, payload: Events[K]): void {
    const set = this.#listeners.get(event)
    if (!set || set.size === 0) return
    for (const listener of [...set]) {
      try {
        ;(listener as Listener<Events[K]>)(payload)
      } catch (error) {
        this.#onListenerError(error)
      }
    }
  }

  /** Number of listeners of `event`. */
  listenerCount(event: keyof Events): number {
    return this.#listeners.get(event)?.size ?? 0
  }

  /** Removes every listener. */
  clear(): void {
    this.#listeners.clear()
  }
}
