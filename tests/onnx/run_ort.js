// Runs an ONNX model in ONNX Runtime (npm's onnxruntime-node, CPU) on one float32 input and writes each
// output's values as raw little-endian float32 to OUT_PREFIX<name>.f32, printing the outputs' names and dims.
//   node run_ort.js NODE_MODULES MODEL.onnx INPUT_NAME INPUT.f32 DIM,DIM,... OUT_PREFIX
const fs = require("fs");
const path = require("path");
const [modules, model, inputName, inputFile, dimList, outPrefix] = process.argv.slice(2);
const ort = require(path.join(modules, "onnxruntime-node"));

async function main() {
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  const bytes = fs.readFileSync(inputFile);
  const data = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
  const dims = dimList.split(",").map(Number);
  const results = await session.run({ [inputName]: new ort.Tensor("float32", data, dims) });
  for (const [name, t] of Object.entries(results)) {
    fs.writeFileSync(outPrefix + name + ".f32", Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    console.log(JSON.stringify({ name, dims: t.dims }));
  }
}

main().catch((e) => {
  console.error(`run_ort.js: ${e}`);
  process.exit(1);
});
