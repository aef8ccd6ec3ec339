/*
 * The page's only stylesheet, inline. Light and dark follow prefers-color-scheme; colours are
 * chosen for a glance at 3 a.m.: the state banner carries the state's colour, everything else
 * stays quiet.
 */
export const STYLE = `
:root{color-scheme:light dark;--bg:#f4f6f8;--fg:#15191e;--card:#fff;--line:#d7dce2;--muted:#5a6270;
--ok:#1a7f37;--okbg:#dff3e4;--warn:#9a6700;--warnbg:#fff3cd;--bad:#c4222c;--badbg:#fde2e1;--info:#0b62c9;--dns:#c7791a}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--card:#161b22;--line:#30363d;--muted:#9aa4af;
--ok:#3fb950;--okbg:#0f2d1a;--warn:#e3b341;--warnbg:#342a0b;--bad:#ff6b63;--badbg:#3a1214;--info:#58a6ff;--dns:#e39b3f}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
main,.top,footer{max-width:1100px;margin:0 auto;padding:0 16px}
.top{display:flex;align-items:baseline;justify-content:space-between;gap:12px;flex-wrap:wrap;padding-top:14px}
h1{font-size:1.05rem;margin:0;color:var(--muted);font-weight:600}
h2{font-size:1.05rem;margin:0 0 8px}
section{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:14px 16px;margin:12px 0}
.vh{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
.live{margin:0;font-size:.9rem;color:var(--muted)}
.live::before{content:"";display:inline-block;width:.6em;height:.6em;border-radius:50%;margin-right:.4em;background:var(--muted)}
.live.on::before{background:var(--ok)}.live.off::before{background:var(--warn)}
.state{border-width:2px;border-left-width:12px}
.state .big{font-size:clamp(2rem,6vw,3.4rem);font-weight:800;line-height:1.1;margin:0;letter-spacing:-.01em}
.state .since{font-size:1.2rem;margin:4px 0 10px}
.st-running{border-color:var(--ok);background:var(--okbg)}.st-running .big{color:var(--ok)}
.st-degraded,.st-starting,.st-backoff,.st-stopping{border-color:var(--warn);background:var(--warnbg)}
.st-degraded .big,.st-starting .big,.st-backoff .big,.st-stopping .big{color:var(--warn)}
.st-failed,.st-stopped{border-color:var(--bad);background:var(--badbg)}.st-failed .big,.st-stopped .big{color:var(--bad)}
.st-none{border-color:var(--line)}
.facts{display:flex;flex-wrap:wrap;gap:6px 28px;margin:0}
.facts div{min-width:8em}.facts dt{font-size:.8rem;color:var(--muted)}.facts dd{margin:0;font-weight:600;overflow-wrap:anywhere}
.failure{font-weight:600;color:var(--bad)}
.head{display:flex;justify-content:space-between;align-items:baseline;gap:8px;flex-wrap:wrap}
.windows a{display:inline-block;padding:2px 10px;margin-left:4px;border:1px solid var(--line);border-radius:999px;color:var(--fg);text-decoration:none;font-size:.9rem}
.windows a[aria-current]{background:var(--fg);color:var(--card);border-color:var(--fg)}
svg.timeline{width:100%;height:auto;display:block;margin:4px 0}
.timeline .lane{font-size:13px;fill:var(--muted)}.timeline .axis{font-size:12px;fill:var(--muted)}
.timeline .guide{stroke:var(--line)}.timeline .tick{stroke:var(--line);stroke-dasharray:2 3}
.timeline .st{opacity:.9}.st.st-running{fill:var(--ok)}.st.st-degraded,.st.st-starting,.st.st-backoff,.st.st-stopping{fill:var(--warn)}
.st.st-failed,.st.st-stopped{fill:var(--bad)}
.mk.mbb{fill:var(--info)}.mk.bbm{fill:var(--card);stroke:var(--bad);stroke-width:2}.mk.rst{fill:var(--bad)}
.timeline .count{font-size:12px;font-weight:700;fill:var(--fg)}
.quic{fill:var(--warn)}.dns-fail{fill:var(--dns)}.dns-down{fill:var(--bad)}.brk{fill:var(--bad)}.err{fill:var(--bad)}
.legend{font-size:.85rem;color:var(--muted);margin:2px 0}.legend .k{margin-left:10px}
.k.mbb{color:var(--info)}.k.bbm,.k.rst,.k.brk,.k.err{color:var(--bad)}.k.quic{color:var(--warn)}.k.dns{color:var(--dns)}
.summary{margin:6px 0}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:0 12px}
table{width:100%;border-collapse:collapse;font-size:.92rem}
th,td{text-align:left;padding:5px 8px 5px 0;border-top:1px solid var(--line);vertical-align:top}
thead th{border-top:0;font-size:.8rem;color:var(--muted);font-weight:600}
tbody th{font-weight:600}
.num{font-variant-numeric:tabular-nums;white-space:nowrap}
.msg{overflow-wrap:anywhere}
code{font:.88em ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;overflow-wrap:anywhere}
.detail{font-size:.82rem;color:var(--muted);font-weight:400;overflow-wrap:anywhere}
.badge,.tag{display:inline-block;padding:0 8px;border-radius:999px;font-size:.82rem;font-weight:700;border:1px solid currentColor}
.b-healthy,.b-closed{color:var(--ok)}.b-degraded,.b-half-open{color:var(--warn)}.b-unhealthy,.b-open{color:var(--bad)}
.tag.mbb{color:var(--info)}.tag.bbm{color:var(--bad)}
.spark path{fill:none;stroke:var(--info);stroke-width:1.5}
meter{width:60px;vertical-align:middle}
.muted,.more{color:var(--muted)}.more{font-size:.85rem;margin:6px 0 0}
footer{font-size:.85rem;color:var(--muted);padding-bottom:24px}
a{color:var(--info)}
`
  .replace(/\n/g, '')
  .trim()
