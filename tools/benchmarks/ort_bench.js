// Times an ONNX model's inference in ONNX Runtime (npm's onnxruntime-node, CPU execution provider), the peer
// of `model_bench forward:BATCH:THREADS`, with the same protocol as sampling.h: a warm-up of at least 3 calls
// and a tenth of the budget, then samples of `reps` calls each (a sample lasts at least 200 us) until
// MAX_SAMPLES or SECONDS have passed, at least 5 samples. Prints one JSON line per job with the median and
// quartiles of the time per call in microseconds.
//
//   node ort_bench.js NODE_MODULES MODEL.onnx MAX_SAMPLES SECONDS JOB...     JOB = forward:BATCH:THREADS
//
// Every input gets random floats in [0, 1) (integers for an integer input: zeros) of its declared shape,
// each symbolic axis (the batch) set to BATCH. A session per thread count: intraOpNumThreads = THREADS, one
// inter-op thread, sequential execution, every graph optimization ORT has ("all"), its memory arena on: ORT's
// fastest settings for a CPU. The time of a call includes the binding's own cost (a promise, the tensor
// wrappers): tools/benchmarks/ort_bench.py measures it on a model that only copies its input and subtracts it.
const path = require("path");

const MIN_SAMPLES = 5;
const MIN_SAMPLE_US = 200;

const [modules, model, maxSamplesArg, secondsArg, ...jobs] = process.argv.slice(2);
if (!jobs.length) {
  console.error("usage: node ort_bench.js NODE_MODULES MODEL.onnx MAX_SAMPLES SECONDS forward:BATCH:THREADS...");
  process.exit(2);
}
const ort = require(path.join(modules, "onnxruntime-node"));
const maxSamples = Number(maxSamplesArg);
const seconds = Number(secondsArg);

const nowUs = () => Number(process.hrtime.bigint()) / 1e3;

function randomTensor(meta, batch, state) {
  const dims = meta.shape.map((d) => (typeof d === "number" && d >= 0 ? d : batch));
  const n = dims.reduce((a, b) => a * b, 1);
  if (meta.type !== "float32") return new ort.Tensor(meta.type, new (meta.type === "int64" ? BigInt64Array : Int32Array)(n), dims);
  const data = new Float32Array(n);
  for (let k = 0; k < n; ++k) {
    state.s = (Math.imul(state.s, 1664525) + 1013904223) >>> 0;
    data[k] = (state.s >>> 8) / 16777216;
  }
  return new ort.Tensor("float32", data, dims);
}

async function timeJob(session, feeds) {
  const call = () => session.run(feeds);
  let warm = 0;
  const w0 = nowUs();
  while (warm < 3 || nowUs() - w0 < seconds * 1e5) {
    await call();
    ++warm;
  }
  const perCall = (nowUs() - w0) / warm;
  const reps = perCall >= MIN_SAMPLE_US ? 1 : Math.floor(MIN_SAMPLE_US / perCall) + 1;
  const t = [];
  const tEnd = nowUs() + seconds * 1e6;
  while (t.length < maxSamples && (t.length < MIN_SAMPLES || nowUs() < tEnd)) {
    const t0 = nowUs();
    for (let r = 0; r < reps; ++r) await call();
    t.push((nowUs() - t0) / reps);
  }
  t.sort((a, b) => a - b);
  const n = t.length;
  return { median_us: t[n >> 1], p25_us: t[n >> 2], p75_us: t[(3 * n) >> 2], samples: n, reps };
}

async function main() {
  const sessions = new Map();  // threads -> session
  for (const job of jobs) {
    const [mode, batchText, threadsText] = job.split(":");
    const batch = Number(batchText), threads = Number(threadsText);
    if (mode !== "forward" || !(batch > 0) || !(threads > 0)) throw new Error(`bad job '${job}' (forward:BATCH:THREADS)`);
    if (!sessions.has(threads)) {
      sessions.set(threads, await ort.InferenceSession.create(model, {
        intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: "sequential",
        graphOptimizationLevel: "all", enableCpuMemArena: true }));
    }
    const session = sessions.get(threads);
    const state = { s: 12345 };
    const feeds = {};
    session.inputMetadata.forEach((meta, i) => { feeds[session.inputNames[i]] = randomTensor(meta, batch, state); });
    console.log(JSON.stringify(Object.assign({ job }, await timeJob(session, feeds))));
  }
}

main().catch((e) => {
  console.error(`ort_bench.js: ${e}`);
  process.exit(1);
});
