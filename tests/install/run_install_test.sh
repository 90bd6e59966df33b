#!/usr/bin/env bash
# Sinter the way a user meets it: `cmake --install` into a scratch prefix, then two out-of-tree projects
# built against that prefix alone — examples/embed-cmake (find_package(Sinter) + sinter_add_model(), two
# models in one C++ program) and examples/embed-make (a Makefile with pkg-config) — which must agree on
# the predictions of the model they share, and so must examples/embed-python through the installed package;
# the other model's predictions are `sinter run`'s on the weights and rows the program wrote. Then the prefix
# is moved: the tool still finds its standard library and runtime. And only the C API and the models'
# descriptors are exported.
# With `deb`, the prefix is the Debian package that `cpack -G DEB` makes, unpacked into a scratch root.
#   run_install_test.sh BUILD_DIR SOURCE_DIR WORK_DIR [deb]
set -euo pipefail
build=$1 src=$2 work=$3 how=${4:-install}
fail() { echo "FAIL: $*" >&2; exit 1; }
rm -rf "$work" && mkdir -p "$work"
prefix=$work/prefix
if [ "$how" = deb ]; then
  cpack -G DEB --config "$build/CPackConfig.cmake" -B "$work/cpack" > "$work/cpack.log" || { cat "$work/cpack.log"; fail cpack; }
  deb=$(echo "$work"/cpack/sinter_*.deb)
  [ -f "$deb" ] || fail "cpack made no sinter_*.deb"
  # What apt checks: the dependencies, the shared libraries' included, and what `sinter build` runs.
  depends=$(dpkg-deb -f "$deb" Depends)
  for d in g++ zlib1g-dev libllvm19 libstdc++6; do
    [[ $depends == *"$d"* ]] || fail "the package does not depend on $d: $depends"
  done
  dpkg-deb -x "$deb" "$work/root"
  mv "$work/root/usr" "$prefix"
else
  cmake --install "$build" --prefix "$prefix" > "$work/install.log"
fi
for f in bin/sinter lib/libsinter_runtime.a lib/libsinter_runtime.so include/sinter/sinter.h \
  include/sinter/model_abi.h share/sinter/lib/nn.sn lib/cmake/Sinter/SinterConfig.cmake lib/pkgconfig/sinter.pc \
  share/bash-completion/completions/sinter lib/python3/dist-packages/sinter/__init__.py; do
  [ -e "$prefix/$f" ] || fail "the install has no $f"
done
"$prefix/bin/sinter" --version | grep -q "^sinter [0-9]" || fail "sinter --version"
# Bash completion lists the installed tool's commands and a command's flags.
completions() { (source "$prefix/share/bash-completion/completions/sinter" && COMP_WORDS=("$prefix/bin/sinter" "$@") &&
  COMP_CWORD=$# && _sinter && echo "${COMPREPLY[*]}"); }
[ "$(completions bu)" = build ] || fail "completion of 'sinter bu': '$(completions bu)'"
[ "$(completions build --emi)" = --emit ] || fail "completion of 'sinter build --emi': '$(completions build --emi)'"
if command -v help2man > /dev/null; then
  grep -q "build" "$prefix/share/man/man1/sinter.1" || fail "the man page lacks the commands"
fi

# The projects are copies, so that nothing is written into the source tree.
cp -r "$src/examples/embed-cmake" "$src/examples/embed-make" "$work/"
cd "$work"
# Neither the source tree nor the build tree may be found: only the prefix is on the search paths.
cmake -S embed-cmake -B embed-cmake/build -G Ninja -DCMAKE_PREFIX_PATH="$prefix" > cmake.log ||
  { cat cmake.log; fail "configuring examples/embed-cmake"; }
cmake --build embed-cmake/build > build.log 2>&1 || { cat build.log; fail "building examples/embed-cmake"; }
embed-cmake/build/embed "$work/classifier.safetensors" > cmake_run.txt || { cat cmake_run.txt; fail "embed"; }
cat cmake_run.txt
[ -s "$work/classifier.safetensors" ] || fail "embed wrote no weights"
# The installed command line, JIT-compiling the model file with the weights the program saved, predicts what
# the program's static library predicted on the same held-out rows.
"$prefix/bin/sinter" run embed-cmake/classifier.sn --load classifier.safetensors --test-csv classifier.heldout.csv \
  --predictions classifier.npy > run.log || { cat run.log; fail "sinter run on the program's weights"; }
/usr/bin/python3 -c '
import sys, numpy as np
want = " ".join(str(i) for i in np.load(sys.argv[2]).argmax(axis=1))
got = next(l for l in open(sys.argv[1]) if l.startswith("Classifier predictions:")).split(":")[1].strip()
sys.exit(0 if got == want else f"the program predicts {got}\nsinter run predicts   {want}")' cmake_run.txt classifier.npy ||
  fail "the embedded classifier and sinter run disagree"

# Editing a file the model imports (not the model file itself) compiles the model again.
touch embed-cmake/layers.sn
# (Into a file first: `grep -q` would end the pipe early, and pipefail would count ninja's SIGPIPE.)
ninja -C embed-cmake/build -n > rebuild.txt
grep -q "Compiling model .*classifier.sn" rebuild.txt || fail "editing layers.sn does not rebuild the classifier (the depfile)"
grep -q "Compiling model .*linear.sn" rebuild.txt && fail "editing layers.sn rebuilds linear.sn, which does not import it"

PKG_CONFIG_PATH="$prefix/lib/pkgconfig" make -C embed-make > make.log 2>&1 || { cat make.log; fail "make"; }
embed-make/embed > make_run.txt || { cat make_run.txt; fail "embed-make"; }
# The same model on the same batches: the same predictions, through a static archive and a shared library
# built by CMake and through an object and the shared runtime built by make.
diff <(grep "^Linear predictions" cmake_run.txt) make_run.txt || fail "the two builds predict differently"
# The installed Python package on the library that CMake built: the same predictions again.
PYTHONPATH="$prefix/lib/python3/dist-packages" /usr/bin/python3 "$src/examples/embed-python/linear.py" \
  embed-cmake/build/sinter_models/linear/liblinear.so > python_run.txt || { cat python_run.txt; fail "linear.py"; }
diff python_run.txt make_run.txt || fail "the Python package predicts differently"

# Exports: the runtime's C API only; a model's shared library adds its descriptor.
extra() { nm -D --defined-only "$1" | awk '{print $3}' | grep -v "^sinter_" | grep -vx "${2:-}" || true; }
[ -z "$(extra "$prefix/lib/libsinter_runtime.so")" ] ||
  fail "libsinter_runtime.so exports more than sinter_*: $(extra "$prefix/lib/libsinter_runtime.so" | head)"
lib=embed-cmake/build/sinter_models/linear/liblinear.so
[ -z "$(extra $lib Linear_model)" ] || fail "liblinear.so exports more than Linear_model and sinter_*"
[[ $(nm -D --defined-only $lib) == *" Linear_model"* ]] || fail "liblinear.so does not export Linear_model"

# A relocated prefix still works: the tool looks beside itself, nothing is compiled in.
mv "$prefix" "$work/moved"
"$work/moved/bin/sinter" build embed-cmake/classifier.sn --emit shared -o libmoved.so > /dev/null ||
  fail "a moved install cannot compile a model that imports nn.sn"
echo "install ($how): all passed"
