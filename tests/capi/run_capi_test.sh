#!/usr/bin/env bash
# Builds tests/capi/tiny.sn into a shared and a static library with a generated header, compiles the C
# test programs against them with the system C compiler, and runs them. other.sn, another model whose bias
# has another shape, writes the weights that train_tiny.c must refuse to load; tiny_twin.sn, Tiny without
# its label and loss, must load Tiny's.
set -euo pipefail
sinter=$1 src=$2 work=$3
mkdir -p "$work" && cd "$work"
rm -rf two_shared two_static two_models_shared two_models_static libp_tiny.so libp_tiny.a p_tiny.h libother.a libtiny.so libtiny.a tiny.h libother.so other.h libnan_ops.so nan_ops.h reliability nan_ops train_shared train_static \
  evaluate_tiny threads_tiny save_other split_gradients \
  threads_helgrind denormals libdenormals.so denormals.h haswell/libtiny.so libtiny_twin.so tiny_twin.h twin_tiny normalized normalized_tiny
"$sinter" build "$src/tiny.sn" --emit header -o tiny.h
"$sinter" build "$src/tiny.sn" --emit shared -o libtiny.so
"$sinter" build "$src/tiny.sn" --emit static -o libtiny.a
"$sinter" build "$src/other.sn" --emit header -o other.h
"$sinter" build "$src/other.sn" --emit shared -o libother.so
"$sinter" build "$src/nan_ops.sn" --emit header -o nan_ops.h
"$sinter" build "$src/nan_ops.sn" --emit shared -o libnan_ops.so
# The header is valid C11 and C++ with every warning on.
cc -std=c11 -Wall -Wextra -Werror -fsyntax-only -x c tiny.h
c++ -std=c++17 -Wall -Wextra -Werror -fsyntax-only -x c++ tiny.h
cflags=(-std=c11 -Wall -Wextra -Werror -I.)
link=(-L. -Wl,-rpath,"$work" -lm ${SINTER_LINK_FLAGS:-})
# Shared: nothing of LLVM or the compiler at run time.
if ldd ./libtiny.so | grep -i llvm; then echo "FAIL: libtiny.so links LLVM"; exit 1; fi
cc "${cflags[@]}" "$src/save_other.c" -lother "${link[@]}" -o save_other
./save_other "$work/other.safetensors"
cc "${cflags[@]}" "$src/train_tiny.c" -ltiny "${link[@]}" -o train_shared
./train_shared "$work/tiny_shared.safetensors" "$work/other.safetensors"
cc "${cflags[@]}" "$src/evaluate_tiny.c" -ltiny "${link[@]}" -o evaluate_tiny
./evaluate_tiny
cc "${cflags[@]}" "$src/reliability.c" -ltiny "${link[@]}" -o reliability
./reliability "$work"
cc "${cflags[@]}" "$src/nan_ops.c" -lnan_ops "${link[@]}" -o nan_ops
./nan_ops
"$sinter" build "$src/denormals.sn" --emit header -o denormals.h
"$sinter" build "$src/denormals.sn" --emit shared -o libdenormals.so
cc "${cflags[@]}" "$src/denormals.c" -ldenormals "${link[@]}" -o denormals
./denormals
cc "${cflags[@]}" -pthread "$src/threads_tiny.c" -ltiny "${link[@]}" -o threads_tiny
./threads_tiny
cc "${cflags[@]}" "$src/split_gradients.c" -ltiny "${link[@]}" -o split_gradients
./split_gradients
# Helgrind sees the data races that timing may hide. Valgrind lacks AVX-512, so its library is built for
# Haswell; a sanitizer build (SINTER_LINK_FLAGS) does not run under valgrind.
if command -v valgrind >/dev/null && [ "$(uname -m)" = x86_64 ] && [ -z "${SINTER_LINK_FLAGS:-}" ]; then
  mkdir -p haswell
  "$sinter" build "$src/tiny.sn" --emit shared --target-cpu haswell -o haswell/libtiny.so
  cc "${cflags[@]}" -pthread "$src/threads_tiny.c" -Lhaswell -ltiny -Wl,-rpath,"$work/haswell" -lm -o threads_helgrind
  valgrind -q --error-exitcode=9 --tool=helgrind ./threads_helgrind 300
else
  echo "threads_tiny: no helgrind run (needs valgrind on x86-64, without sanitizers)"
fi
# Static: the runtime is C++, so the C program links the C++ standard library too.
cc "${cflags[@]}" "$src/train_tiny.c" libtiny.a -lstdc++ -lz -lm ${SINTER_LINK_FLAGS:-} -o train_static
./train_static "$work/tiny_static.safetensors" "$work/other.safetensors"
# Two models in one program, and one model twice under --symbol-prefix: shared libraries and static ones.
"$sinter" build "$src/tiny.sn" --emit header --symbol-prefix p_ -o p_tiny.h
"$sinter" build "$src/tiny.sn" --emit shared --symbol-prefix p_ -o libp_tiny.so
"$sinter" build "$src/tiny.sn" --emit static --symbol-prefix p_ -o libp_tiny.a
"$sinter" build "$src/other.sn" --emit static -o libother.a
cc "${cflags[@]}" "$src/two_models.c" -ltiny -lother -lp_tiny "${link[@]}" -o two_models_shared
mkdir -p two_shared two_static
./two_models_shared two_shared
cc "${cflags[@]}" "$src/two_models.c" libtiny.a libother.a libp_tiny.a -lstdc++ -lz -lm ${SINTER_LINK_FLAGS:-} \
  -o two_models_static
./two_models_static two_static
# Tiny's trained weights in its label-free twin (no label, no loss, no train block): the same predictions.
"$sinter" build "$src/tiny_twin.sn" --emit header -o tiny_twin.h
"$sinter" build "$src/tiny_twin.sn" --emit shared -o libtiny_twin.so
cc "${cflags[@]}" "$src/twin_tiny.c" -ltiny_twin "${link[@]}" -o twin_tiny
./twin_tiny two_shared
# Each model's outputs in the program are what `sinter run` computes from that model's .sn file and the
# weights the program saved; static linking gives the same bits as shared.
for name in Tiny Other p_Tiny; do
  model=$src/$(echo "${name#p_}" | tr '[:upper:]' '[:lower:]').sn
  "$sinter" run "$model" --load "two_shared/$name.safetensors" --test-csv two_shared/batch.csv --train-csv two_shared/batch.csv \
    --threads 1 --predictions "two_shared/$name.npy" > "two_shared/$name.run.log" ||
    { cat "two_shared/$name.run.log"; echo "FAIL: sinter run $name"; exit 1; }
  /usr/bin/python3 -c '
import sys, numpy as np
got, want = np.loadtxt(sys.argv[1], ndmin=2), np.load(sys.argv[2])
if got.shape != want.shape or not np.allclose(got, want, rtol=1e-5, atol=1e-6):
    sys.exit(f"FAIL: {sys.argv[1]} differs from sinter run:\n{got}\n{want}")' "two_shared/$name.txt" "two_shared/$name.npy"
  cmp "two_shared/$name.txt" "two_static/$name.txt" || { echo "FAIL: $name predicts differently linked statically"; exit 1; }
done
# Weights trained with --normalize standard carry its statistics: `sinter run`, the C API and the Python
# package all standardize the raw test samples with them and predict the same. The data is offset and scaled
# far from zero mean and unit variance, so that forgetting the statistics changes the predictions.
mkdir -p normalized
/usr/bin/python3 -c '
import sys, numpy as np
r = np.random.default_rng(4)
for name, n in (("train", 160), ("test", 40)):
    u = r.uniform(-1, 1, (n, 4))
    y = np.stack([u[:, 0] + u[:, 1], u[:, 2] - u[:, 0], u[:, 3] - u[:, 1]], axis=1).argmax(axis=1)
    x = u * [3, 0.5, 8, 2] + [20, -7, 100, 3]
    with open(f"{sys.argv[1]}/{name}.csv", "w") as f:
        f.write("a,b,c,d,y\n")
        f.writelines(",".join("%.4f" % v for v in row) + ",%d\n" % c for row, c in zip(x, y))' normalized
"$sinter" train "$src/tiny.sn" -- --train-csv normalized/train.csv --normalize standard --epochs 3 \
  --save normalized/norm.safetensors > normalized/train.log
"$sinter" train "$src/tiny.sn" -- --train-csv normalized/train.csv --epochs 1 --save normalized/plain.safetensors \
  > normalized/plain.log
"$sinter" run "$src/tiny.sn" --load normalized/norm.safetensors --test-csv normalized/test.csv --normalize standard \
  --threads 1 --predictions normalized/run.npy > normalized/run.log
cc "${cflags[@]}" "$src/normalized_tiny.c" -ltiny "${link[@]}" -lm -o normalized_tiny
./normalized_tiny normalized/norm.safetensors normalized/plain.safetensors normalized/test.csv normalized/c.txt \
  normalized/saved.safetensors
# Under a sanitizer build python3 (not instrumented) loads an instrumented library: the sanitizer's runtime first.
python_env=(PYTHONPATH="$src/../../python")
if [ -n "${SINTER_PYTHON_PRELOAD:-}" ]; then
  python_env+=(LD_PRELOAD="$SINTER_PYTHON_PRELOAD" ASAN_OPTIONS=detect_leaks=0:alloc_dealloc_mismatch=0)
fi
env "${python_env[@]}" /usr/bin/python3 -c '
import sys, numpy as np, sinter
lib, d = sys.argv[1:3]
data = np.loadtxt(f"{d}/test.csv", delimiter=",", skiprows=1)
m = sinter.Model(lib)
m.load(f"{d}/norm.safetensors")
mean, inv_std = m.normalizer
probs = m.forward(x=data[:, :4], y=data[:, 4])["probs"]
want, c = np.load(f"{d}/run.npy"), np.loadtxt(f"{d}/c.txt", ndmin=2)
fails = []
if not np.allclose(c, want, rtol=1e-5, atol=1e-6): fails.append(f"C API differs from sinter run:\n{c}\n{want}")
if not np.allclose(probs, want, rtol=1e-5, atol=1e-6): fails.append(f"Python differs from sinter run:\n{probs}\n{want}")
m.normalizer = None
if np.allclose(m.forward(x=data[:, :4], y=data[:, 4])["probs"], want, atol=1e-3): fails.append("raw samples predict the same")
m.normalizer = (mean, inv_std)
if not np.array_equal(m.forward(x=data[:, :4], y=data[:, 4])["probs"], probs): fails.append("normalizer set back differs")
m.load(f"{d}/plain.safetensors")
if m.normalizer is not None: fails.append("weights without statistics kept them")
sys.exit("FAIL: " + "\n".join(fails) if fails else 0)' "$work/libtiny.so" normalized
# A shared library exports its descriptor and the C API, nothing of the runtime's internals.
exports=$(nm -D --defined-only libtiny.so | awk '{print $3}' | grep -v '^Tiny_model$' | grep -v '^sinter_' || true)
if [ -n "$exports" ]; then echo "FAIL: libtiny.so exports more than Tiny_model and sinter_*:"; echo "$exports"; exit 1; fi
nm -D --defined-only libtiny.so | grep -q ' Tiny_model$' || { echo "FAIL: libtiny.so does not export Tiny_model"; exit 1; }
echo "c_api: all passed"
