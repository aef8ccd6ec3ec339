// Minimal types of the parts of autocannon 8 used by the benchmark (it ships none).
declare module 'autocannon' {
  interface Options {
    url: string
    connections?: number
    duration?: number
  }
  interface Result {
    requests: { average: number }
    non2xx: number
  }
  function autocannon(options: Options): Promise<Result>
  namespace autocannon {
    export type { Options, Result }
  }
  export default autocannon
}
