// The official OpenAI Node client (npm `openai`, pinned in package.json) against encdec_tp's
// HTTP server: completions with token-id prompts (one and several), streamed with
// stream_options.include_usage, n samples with a seed, logprobs, the min_tokens extension,
// embeddings (the client's default, which asks for base64 and decodes it; float; base64 kept as
// text and decoded here), and errors surfacing as the client's APIError classes with the right
// status and param. Every output is compared with the JSON Lines path's answer to the same
// request (REQ: the native requests openai_client.sh wrote, REF: the batch run's records, by id).
// usage: node openai_client.mjs BASE_URL API_KEY MODEL REQ.jsonl REF.jsonl
import { readFileSync } from 'node:fs';
import OpenAI from 'openai';
import { VERSION } from 'openai/version';

const [baseUrl, apiKey, model, reqPath, refPath] = process.argv.slice(2);
const readJsonl = (path) => readFileSync(path, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
const req = new Map(readJsonl(reqPath).map((q) => [q.id, q]));
const ref = new Map(readJsonl(refPath).filter((r) => !('new_ids' in r)).map((r) => [r.id, r]));
const refIds = (id) => {
  if (!ref.has(id)) throw new Error(`no batch-path record ${id}`);
  return ref.get(id).output_ids;
};
const prompt = (i) => req.get(`nat-${i}`).input_ids;

let checks = 0;
let failures = 0;
const fail = (what) => {
  failures++;
  console.log(`FAIL ${what}`);
};
const check = (what, ok) => {
  checks++;
  if (!ok) fail(what);
};
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
const close = (a, b) =>
  a.length === b.length && a.length > 0 && a.every((x, i) => Math.abs(x - b[i]) <= 1e-5 * (1 + Math.abs(b[i])));
const finishOf = (id) => (ref.get(id).finish_reason === 'eos' ? 'stop' : ref.get(id).finish_reason);
// runs one named step; an exception fails it without ending the others
const step = async (what, fn) => {
  try {
    await fn();
  } catch (e) {
    fail(`${what}: ${e?.constructor?.name}: ${e?.message}`);
  }
};

const client = new OpenAI({ baseURL: `${baseUrl}/v1`, apiKey, maxRetries: 0, timeout: 30000 });

await step('models.list', async () => {
  const ids = [];
  for await (const m of client.models.list()) ids.push(m.id);
  check(`models.list: ${JSON.stringify(ids)}, expected ["${model}"]`, same(ids, [model]));
});

await step('completions, one prompt of ids', async () => {
  for (const i of [0, 1, 2, 3]) {
    const c = await client.completions.create({ model, prompt: prompt(i), max_tokens: 16, temperature: 0 });
    check(`prompt ${i}: token_ids ${JSON.stringify(c.choices[0].token_ids)}, batch path ${JSON.stringify(refIds(`nat-${i}`))}`,
      c.choices.length === 1 && same(c.choices[0].token_ids, refIds(`nat-${i}`)));
    check(`prompt ${i}: finish_reason ${c.choices[0].finish_reason}`, c.choices[0].finish_reason === finishOf(`nat-${i}`));
    const p = prompt(i).length;
    const n = refIds(`nat-${i}`).length;
    check(`prompt ${i}: usage ${JSON.stringify(c.usage)}`,
      same(c.usage, { prompt_tokens: p, completion_tokens: n, total_tokens: p + n }));
    check(`prompt ${i}: object ${c.object}, model ${c.model}`, c.object === 'text_completion' && c.model === model);
  }
});

await step('completions, several prompts and the min_tokens extension', async () => {
  const c = await client.completions.create({
    model, prompt: [prompt(0), prompt(1), prompt(2)], max_tokens: 16, min_tokens: 16, temperature: 0,
  });
  const got = c.choices.map((x) => [x.index, x.token_ids]);
  const want = [0, 1, 2].map((i) => [i, refIds(`min-${i}`)]);
  check(`three prompts with min_tokens: ${JSON.stringify(got)}, batch path ${JSON.stringify(want)}`, same(got, want));
  check(`three prompts: usage ${JSON.stringify(c.usage)}`, c.usage.completion_tokens === 48 && c.usage.prompt_tokens === 19);
});

await step('completions, n samples with a seed', async () => {
  const c = await client.completions.create({
    model, prompt: prompt(1), max_tokens: 12, temperature: 0.9, top_p: 0.95, seed: 11, n: 2,
  });
  const got = c.choices.map((x) => x.token_ids);
  check(`n=2 seed 11: ${JSON.stringify(got)}, batch path seeds 11, 12`, same(got, [refIds('samp-11'), refIds('samp-12')]));
});

await step('completions, logprobs', async () => {
  const c = await client.completions.create({ model, prompt: prompt(2), max_tokens: 8, temperature: 0, logprobs: 1 });
  const lp = c.choices[0].logprobs?.token_logprobs ?? [];
  check(`logprobs ${JSON.stringify(lp)}, batch path ${JSON.stringify(ref.get('lp').logprobs)}`,
    same(c.choices[0].token_ids, ref.get('lp').output_ids) && close(lp, ref.get('lp').logprobs));
});

await step('completions, streamed with include_usage', async () => {
  const stream = await client.completions.create({
    model, prompt: prompt(2), max_tokens: 16, min_tokens: 16, temperature: 0, stream: true,
    stream_options: { include_usage: true },
  });
  const chunks = [];
  for await (const chunk of stream) chunks.push(chunk);
  const ids = chunks.flatMap((ch) => ch.choices.flatMap((x) => x.token_ids ?? []));
  check(`streamed ids ${JSON.stringify(ids)}, batch path ${JSON.stringify(refIds('min-2'))}`, same(ids, refIds('min-2')));
  const last = chunks[chunks.length - 1];
  check(`streamed: last chunk ${JSON.stringify(last)} is not the usage chunk`,
    last && last.choices.length === 0 && same(last.usage, { prompt_tokens: 13, completion_tokens: 16, total_tokens: 29 }));
  check('streamed: usage before the last chunk', chunks.slice(0, -1).every((ch) => ch.usage == null));
  const fin = chunks.flatMap((ch) => ch.choices.map((x) => x.finish_reason)).filter((f) => f != null);
  check(`streamed: finish reasons ${JSON.stringify(fin)}`, same(fin, ['length']));
});

await step('completions, streamed n samples over two prompts', async () => {
  const stream = await client.completions.create({
    model, prompt: [prompt(1), prompt(1)], max_tokens: 12, temperature: 0.9, top_p: 0.95, seed: 11, n: 2, stream: true,
  });
  const byIndex = [[], [], [], []];
  for await (const chunk of stream) for (const x of chunk.choices) byIndex[x.index].push(...(x.token_ids ?? []));
  const want = [refIds('samp-11'), refIds('samp-12'), refIds('samp-11'), refIds('samp-12')];
  check(`streamed samples by index ${JSON.stringify(byIndex)}`, same(byIndex, want));
});

const refEmb = (i) => ref.get(`emb-${i}`).encoder_output;
await step('embeddings, the client default (base64 decoded by the client)', async () => {
  const e = await client.embeddings.create({ model, input: [prompt(0), prompt(1), prompt(2), prompt(3)] });
  check(`embeddings: ${e.data.length} items`, e.data.length === 4 && e.object === 'list');
  for (const i of [0, 1, 2, 3])
    check(`default embedding ${i} differs from the batch path's mean-pooled encoder output`,
      Array.isArray(e.data[i].embedding) && e.data[i].index === i && close(e.data[i].embedding, refEmb(i)));
  check(`embeddings usage ${JSON.stringify(e.usage)}`, same(e.usage, { prompt_tokens: 42, total_tokens: 42 }));
});

await step('embeddings, float', async () => {
  const e = await client.embeddings.create({ model, input: prompt(3), encoding_format: 'float' });
  check('float embedding differs from the batch path', close(e.data[0].embedding, refEmb(3)));
});

await step('embeddings, base64 kept as text', async () => {
  const e = await client.embeddings.create({ model, input: [prompt(1)], encoding_format: 'base64' });
  const b = Buffer.from(e.data[0].embedding, 'base64');
  const f = Array.from(new Float32Array(b.buffer, b.byteOffset, b.length / 4));
  check(`base64 embedding decodes to ${JSON.stringify(f.slice(0, 3))}..., not the batch path's`, close(f, refEmb(1)));
});

// expectError WHAT CLASS STATUS PARAM PROMISE: the call throws the client's CLASS with STATUS
const expectError = async (what, cls, status, param, call) => {
  try {
    await call();
    fail(`${what}: no error`);
  } catch (e) {
    check(`${what}: ${e?.constructor?.name} ${e?.status}, expected ${cls.name} ${status} (${e?.message})`,
      e instanceof cls && e instanceof OpenAI.APIError && e.status === status);
    if (param !== undefined) check(`${what}: param ${e?.param}, expected ${param}`, e?.param === param);
  }
};
await expectError('max_tokens -1', OpenAI.BadRequestError, 400, 'max_tokens',
  () => client.completions.create({ model, prompt: prompt(1), max_tokens: -1 }));
await expectError('temperature -1, streamed', OpenAI.BadRequestError, 400, 'temperature',
  () => client.completions.create({ model, prompt: prompt(1), temperature: -1, stream: true }));
await expectError('dimensions', OpenAI.BadRequestError, 400, 'dimensions',
  () => client.embeddings.create({ model, input: prompt(1), dimensions: 4 }));
await expectError('another model', OpenAI.NotFoundError, 404, 'model',
  () => client.completions.create({ model: 'gpt-4', prompt: prompt(1) }));
const wrongKey = new OpenAI({ baseURL: `${baseUrl}/v1`, apiKey: 'wrong', maxRetries: 0 });
await expectError('a wrong API key', OpenAI.AuthenticationError, 401, undefined,
  () => wrongKey.completions.create({ model, prompt: prompt(1) }));
await expectError('a wrong API key, embeddings', OpenAI.AuthenticationError, 401, undefined,
  () => wrongKey.embeddings.create({ model, input: prompt(1) }));
await expectError('an unknown route', OpenAI.NotFoundError, 404, undefined,
  () => client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] }));

// max_queue 4 (openai_client.sh): 4 long streams running, a 5th call is the client's
// RateLimitError; the streams aborted by the client are cancelled, and a call is served again
await step('max_queue: RateLimitError, then aborted streams', async () => {
  const streams = [];
  for (let i = 0; i < 4; i++)
    streams.push(await client.completions.create({
      model, prompt: prompt(1), max_tokens: 1500, min_tokens: 1500, temperature: 0, stream: true,
    }));
  const firsts = await Promise.all(streams.map((st) => st[Symbol.asyncIterator]().next()));
  check('the 4 long streams did not all start', firsts.every((f) => !f.done));
  await expectError('a 5th call with max_queue 4', OpenAI.RateLimitError, 429, undefined,
    () => client.completions.create({ model, prompt: prompt(1), max_tokens: 2, temperature: 0 }));
  for (const st of streams) st.controller.abort();
  const t0 = Date.now();
  let c = null;
  while (Date.now() - t0 < 20000) { // the cancelled requests leave the queue at the next step
    try {
      c = await client.completions.create({ model, prompt: prompt(0), max_tokens: 16, temperature: 0 });
      break;
    } catch (e) {
      if (!(e instanceof OpenAI.RateLimitError)) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  check(`after the aborted streams: ${JSON.stringify(c?.choices?.[0]?.token_ids)}, batch path ${JSON.stringify(refIds('nat-0'))}`,
    c && same(c.choices[0].token_ids, refIds('nat-0')));
});

console.log(`openai_client (openai ${VERSION}, node ${process.version}): ${checks} checks, ${failures} failed`);
process.exit(failures ? 1 : 0);
