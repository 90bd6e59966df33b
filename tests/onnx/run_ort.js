// Runs an ONNX model in ONNX Runtime (npm's onnxruntime-node, CPU) and writes each output's values as raw
// little-endian bytes to OUT_PREFIX<name>.bin, printing each output's name, element type and dims.
//   node run_ort.js NODE_MODULES MODEL.onnx OUT_PREFIX NAME=FILE:TYPE:DIM,DIM,... ...
// TYPE is float32 or int32; FILE holds the raw values. Inputs the model does not take are left out (an exported
// model drops the inputs only its loss reads, such as the labels).
const fs = require("fs");
const path = require("path");
const [modules, model, outPrefix, ...inputs] = process.argv.slice(2);
const ort = require(path.join(modules, "onnxruntime-node"));
const ARRAYS = { float32: Float32Array, int32: Int32Array };

async function main() {
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const feeds = {};
  for (const spec of inputs) {
    const [name, rest] = [spec.slice(0, spec.indexOf("=")), spec.slice(spec.indexOf("=") + 1)];
    const [file, type, dimList] = rest.split(":");
    if (!session.inputNames.includes(name)) continue;
    const bytes = fs.readFileSync(file);
    const Array = ARRAYS[type];
    const copy = new Uint8Array(bytes).buffer;  // aligned for the typed array
    feeds[name] = new ort.Tensor(type, new Array(copy), dimList.split(",").map(Number));
  }
  const results = await session.run(feeds);
  for (const [name, t] of Object.entries(results)) {
    fs.writeFileSync(outPrefix + name + ".bin", Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    console.log(JSON.stringify({ name, type: t.type, dims: t.dims }));
  }
}

main().catch((e) => {
  console.error(`run_ort.js: ${e}`);
  process.exit(1);
});
