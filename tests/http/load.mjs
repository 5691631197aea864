// Load against encdec_tp's HTTP server with Node's fetch (no dependencies).
//   node load.mjs gen N SEED > requests.jsonl
//     N native requests (JSON Lines, ids r0..): prompts of 1..40 ids ending in EOS (1), max
//     tokens 1..24, half greedy, half sampled (temperature 0.7 or 1, top_p 0.9 or 1, top_k 0 as
//     OpenAI has none, a seed each), a third with min_new_tokens = max_new_tokens. Deterministic.
//   node load.mjs run BASE_URL REQUESTS.jsonl REF.jsonl CLIENTS
//     CLIENTS concurrent clients send every request as a streamed /v1/completions call (with
//     stream_options.include_usage) and check each answer: status 200, SSE events exactly,
//     data: [DONE] last, the ids and finish_reason of REF's record for that id (the JSON Lines
//     path's answer to the same native request), the usage chunk. Prints p50/p99 time to first
//     token and end to end; exit status 1 on any error or difference.
import { readFileSync } from 'node:fs';

const [mode, ...args] = process.argv.slice(2);

function mulberry32(a) {
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function gen(n, seed) {
  const rnd = mulberry32(seed);
  const int = (lo, hi) => lo + Math.floor(rnd() * (hi - lo + 1));
  const out = [];
  for (let r = 0; r < n; r++) {
    const len = int(1, 40);
    const ids = Array.from({ length: len }, (_, t) => (t === len - 1 ? 1 : int(2, 79)));
    const maxNew = [1, 4, 8, 16, 24][int(0, 4)];
    const q = { id: `r${r}`, input_ids: ids, max_new_tokens: maxNew };
    if (r % 3 === 0) q.min_new_tokens = maxNew;
    if (r % 2 === 1) Object.assign(q, { do_sample: true, temperature: [0.7, 1][int(0, 1)], top_p: [0.9, 1][int(0, 1)], top_k: 0, seed: int(0, 1e6) });
    out.push(JSON.stringify(q));
  }
  process.stdout.write(out.join('\n') + '\n');
}

// The OpenAI body for a native request.
function body(q) {
  const b = { prompt: q.input_ids, max_tokens: q.max_new_tokens, temperature: q.do_sample ? q.temperature : 0, stream: true,
    stream_options: { include_usage: true } };
  if (q.min_new_tokens !== undefined) b.min_tokens = q.min_new_tokens;
  if (q.do_sample) Object.assign(b, { top_p: q.top_p, seed: q.seed });
  return JSON.stringify(b);
}

const readJsonl = (path) => readFileSync(path, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
const pct = (v, q) => {
  if (!v.length) return NaN;
  const s = [...v].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
};

// One streamed call; resolves to {ids, finish, usage, ttft, e2e} or throws with the reason.
async function streamed(url, q) {
  const t0 = performance.now();
  const res = await fetch(`${url}/v1/completions`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: body(q) });
  const text0 = res.ok ? '' : await res.text();
  if (res.status !== 200) throw new Error(`status ${res.status}: ${text0.slice(0, 200)}`);
  if (!(res.headers.get('content-type') ?? '').startsWith('text/event-stream'))
    throw new Error(`content-type ${res.headers.get('content-type')}`);
  const reader = res.body.getReader();
  const dec = new TextDecoder();
  let buf = '';
  let ttft = null;
  let done = false;
  let usage = null;
  const ids = [];
  const finishes = [];
  for (;;) {
    const { value, done: end } = await reader.read();
    if (end) break;
    buf += dec.decode(value, { stream: true });
    let k;
    while ((k = buf.indexOf('\n\n')) >= 0) {
      const ev = buf.slice(0, k);
      buf = buf.slice(k + 2);
      if (!ev.startsWith('data: ') || ev.includes('\n')) throw new Error(`not one SSE data line: ${JSON.stringify(ev).slice(0, 200)}`);
      const data = ev.slice(6);
      if (done) throw new Error(`an event after [DONE]: ${data.slice(0, 100)}`);
      if (data === '[DONE]') {
        done = true;
        continue;
      }
      const c = JSON.parse(data);
      if (c.error) throw new Error(`error event ${JSON.stringify(c.error)}`);
      for (const ch of c.choices) {
        if (ch.index !== 0) throw new Error(`choice index ${ch.index}`);
        if (ch.token_ids?.length) {
          if (ttft === null) ttft = performance.now() - t0;
          ids.push(...ch.token_ids);
        }
        if (ch.finish_reason != null) finishes.push(ch.finish_reason);
      }
      if (c.usage) {
        if (c.choices.length) throw new Error('usage on a chunk with choices');
        usage = c.usage;
      }
    }
  }
  if (!done) throw new Error('no data: [DONE]');
  if (buf.length) throw new Error(`bytes after [DONE]: ${buf.slice(0, 100)}`);
  return { ids, finishes, usage, ttft, e2e: performance.now() - t0 };
}

async function run(url, reqPath, refPath, clients) {
  const reqs = readJsonl(reqPath);
  const ref = new Map(readJsonl(refPath).map((r) => [r.id, r]));
  const ttft = [];
  const e2e = [];
  let next = 0;
  let errors = 0;
  let tokens = 0;
  const problem = (q, what) => {
    if (errors++ < 10) console.log(`FAIL ${q.id}: ${what}`);
  };
  const t0 = performance.now();
  const worker = async () => {
    while (next < reqs.length) {
      const q = reqs[next++];
      const want = ref.get(q.id);
      try {
        const a = await streamed(url, q);
        const wantFinish = want.finish_reason === 'eos' ? 'stop' : want.finish_reason;
        if (JSON.stringify(a.ids) !== JSON.stringify(want.output_ids))
          problem(q, `ids ${JSON.stringify(a.ids)}, JSON Lines path ${JSON.stringify(want.output_ids)}`);
        else if (a.finishes.length !== 1 || a.finishes[0] !== wantFinish)
          problem(q, `finish reasons ${JSON.stringify(a.finishes)}, expected ${wantFinish}`);
        else if (!a.usage || a.usage.prompt_tokens !== q.input_ids.length || a.usage.completion_tokens !== a.ids.length ||
                 a.usage.total_tokens !== q.input_ids.length + a.ids.length)
          problem(q, `usage ${JSON.stringify(a.usage)}`);
        tokens += a.ids.length;
        if (a.ttft !== null) ttft.push(a.ttft);
        e2e.push(a.e2e);
      } catch (e) {
        problem(q, e.message);
      }
    }
  };
  await Promise.all(Array.from({ length: clients }, worker));
  const wall = (performance.now() - t0) / 1000;
  const f = (x) => x.toFixed(1);
  console.log(`load: ${reqs.length} requests, ${clients} concurrent streaming clients, ${wall.toFixed(2)} s ` +
    `(${(reqs.length / wall).toFixed(1)} requests/s, ${(tokens / wall).toFixed(0)} tokens/s); ` +
    `time to first token p50 ${f(pct(ttft, 0.5))} ms p99 ${f(pct(ttft, 0.99))} ms; ` +
    `end to end p50 ${f(pct(e2e, 0.5))} ms p99 ${f(pct(e2e, 0.99))} ms; ${errors} errors`);
  process.exit(errors ? 1 : 0);
}

if (mode === 'gen') gen(Number(args[0]), Number(args[1]));
else if (mode === 'run') await run(args[0], args[1], args[2], Number(args[3]));
else {
  console.error('usage: node load.mjs gen N SEED | run BASE_URL REQUESTS.jsonl REF.jsonl CLIENTS');
  process.exit(2);
}
