#!/usr/bin/env bash
# Run HERE (no GPU needed): the CLI and the CUDA test executable in ONE archive for the device tool, whose carried tree
# must stay under 64 MiB. Each is a self-contained publish with its own copy of the .NET runtime (~85 MB of identical
# files); the bundle stores those once (hard links in the tar), so both fit in one call: ~49 MB instead of ~80 MB.
#   scripts/gpu/publish_bundle.sh            →  .gpu/bundle/brim-bundle.tar.xz + run.sh
# On the device, from the repo root with carry [".gpu/bundle"]:
#   bash .gpu/bundle/run.sh tests [-class Brim.Backends.Cuda.Tests.SomeTests ...]   # the CUDA tests (xunit v3 filters)
#   bash .gpu/bundle/run.sh bench story decode prefix ...                           # host_bench.sh steps
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
dest="$repo/.gpu/bundle"
stage="$repo/artifacts/bundle"
rm -rf "$dest" "$stage" && mkdir -p "$dest" "$stage"
dotnet publish "$repo/src/Brim.Cli" -c Release -r linux-x64 --self-contained -p:DebugType=none -o "$stage/brim" -nologo -v q
dotnet publish "$repo/tests/Brim.Backends.Cuda.Tests" -c Release -r linux-x64 --self-contained -p:PublishTrimmed=false \
  -o "$stage/cuda-tests" -nologo -v q
# Same name, same bytes: the test executable's copy becomes a hard link to the CLI's.
(cd "$stage" && for f in cuda-tests/*; do
  b="brim/${f#cuda-tests/}"
  if [ -f "$f" ] && [ -f "$b" ] && cmp -s "$f" "$b"; then ln -f "$b" "$f"; fi
done)
XZ_OPT="-T2 -6" tar -C "$stage" -cJf "$dest/brim-bundle.tar.xz" brim cuda-tests
cp "$repo/scripts/gpu/host_bench.sh" "$repo/scripts/gpu/gpu_host.sh" "$repo/scripts/gpu/hf_reference.py" "$dest/"
peer="$repo/../shared/bench/peer_hf.py"
[ -f "$peer" ] && cp "$peer" "$dest/"
cat > "$dest/run.sh" <<'RUN'
#!/usr/bin/env bash
# Unpacks the bundle once, then: `tests [xunit filters]` or `bench [host_bench.sh steps]`. Output under $OUT.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${OUT:-$PWD/gpu-out}"; mkdir -p "$out"
work=/tmp/brim-bundle
[ -x "$work/brim/brim" ] || { mkdir -p "$work" && tar -C "$work" -xJf "$here/brim-bundle.tar.xz"; }
export BRIM_KERNEL_CACHE="$work/kernel-cache" BRIM_CLI_DIR="$work/brim" BRIM_CUDA_TESTS_DIR="$work/cuda-tests"
what="${1:-tests}"; shift || true
case "$what" in
  tests) timeout 400 "$work/cuda-tests/Brim.Backends.Cuda.Tests" -noColor -parallel none "$@" 2>&1 | tee "$out/tests.log" | tail -40 ;;
  bench) bash "$here/host_bench.sh" "$@" ;;
  *) echo "usage: run.sh tests [filters] | bench [steps]"; exit 2 ;;
esac
RUN
du -sh "$dest"/*
