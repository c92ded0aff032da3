#!/usr/bin/env bash
# One prepared run of `bench gpu` on the GPU machine (one H100/H200, no network), from the repository root, in
# under 8 minutes; table, JSON and logs go to $OUT.
#
# Prepare here first: `make gpu-carry` (fills .gpu_carry/, ignored by git; `packaging/gpu_carry.sh --check`
# prints what each call carries). The device tool carries at most 64 MiB a call and the embedded GGUF is
# 253 MB, so its first four parts travel in four short staging calls and the last part rides with the main
# call. Make the calls back to back (a machine left idle for 30 s is given back, and the parts with it):
#
#   run(command="ls -l .gpu_carry/model", carry=[".gpu_carry/model/gemma.gguf.part00"], timeout_s=60)
#   run(command="ls -l .gpu_carry/model", carry=[".gpu_carry/model/gemma.gguf.part01"], timeout_s=60)
#   run(command="ls -l .gpu_carry/model", carry=[".gpu_carry/model/gemma.gguf.part02"], timeout_s=60)
#   run(command="ls -l .gpu_carry/model", carry=[".gpu_carry/model/gemma.gguf.part03"], timeout_s=60)
#   run(command="bash packaging/gpu_check.sh",
#       carry=[".gpu_carry/wheels", ".gpu_carry/llama", ".gpu_carry/meta", ".gpu_carry/model/gemma.gguf.part04"],
#       timeout_s=540)
#
# The main call alone also works: without all the parts the embedded model's rows run its shape with random
# weights and self-speculation is reported as not measured (acceptance needs the real weights).
# Then give_back. What comes back: bench-gpu.md, bench-gpu.json, gpu-check.log, bench.log, device.txt, and,
# when the clock allowed the llama.cpp CUDA build, llama.log and bench-gpu-llama.json.
#
# GPU_CHECK_LLAMA_PARALLEL=1 builds llama.cpp beside the benchmark instead of after it (see below).
# Order: wheels installed from .gpu_carry/wheels into /tmp/site (never the network; the device's own torch);
# the GGUF reassembled and checked against its SHA-256; the device's facts; `python3 -m inference.bench.gpu`
# under a time budget; last, the llama.cpp CUDA build from the carried sdist (the flags of `make gpu-llama`)
# and its measurement, skipped when less than LLAMA_NEED_S is left.
#
# GPU_CHECK_DRY=1 runs all of it on the CPU with the project's venv (`bench gpu --device cpu --tiny`; the wheels
# installed for Python 3.12 into a scratch folder, the sdist's contents checked, no build): what the tests run.
set -uo pipefail
cd "$(dirname "$0")/.."
START=$(date +%s)
LIMIT_S=${GPU_CHECK_LIMIT_S:-460}       # the whole script, under the 8 minutes it is allowed
BENCH_BUDGET_S=${BENCH_BUDGET_S:-300}   # bench gpu starts no row after this
LLAMA_NEED_S=${LLAMA_NEED_S:-240}       # a CUDA build of llama.cpp on 16 cores, then its measurement
# 1: build llama.cpp during the torch benchmark (nice 19, 12 of the 16 cores) instead of after it, when the clock
# would otherwise skip it; the log says so, since the rows then share the CPU with a compiler.
LLAMA_PARALLEL=${GPU_CHECK_LLAMA_PARALLEL:-0}
CARRY=${GPU_CHECK_CARRY:-.gpu_carry}
DRY=${GPU_CHECK_DRY:-0}
OUT=${OUT:-/tmp/gpu-check}
mkdir -p "$OUT"
LOG="$OUT/gpu-check.log"
SITE=$(mktemp -d /tmp/gpu-check-site.XXXX)

elapsed() { echo $(( $(date +%s) - START )); }
left() { echo $(( LIMIT_S - $(elapsed) )); }
say() { echo "[gpu_check $(elapsed)s] $*" | tee -a "$LOG"; }

if [ "$DRY" = 1 ]; then
    PY=${PY:-.venv/bin/python}
    DEVICE_ARGS=(--device cpu --tiny)
else
    PY=${PY:-python3}
    DEVICE_ARGS=(--device cuda)
fi
say "start: $(date -u +%FT%TZ), python $($PY -c 'import sys; print(sys.version.split()[0])'), dry=$DRY, carry=$CARRY"

# 1. Wheels the device's python lacks, from the carry folder only.
if ls "$CARRY"/wheels/*.whl >/dev/null 2>&1; then
    if [ "$DRY" = 1 ]; then  # check they install for the device's Python 3.12; the venv keeps its own
        $PY -m pip install -q --no-index --no-deps --only-binary=:all: --python-version 3.12 --target "$SITE/py312" "$CARRY"/wheels/*.whl \
            && say "wheels: $(ls "$CARRY"/wheels | tr '\n' ' ')install for Python 3.12" || say "wheels: FAILED to install for Python 3.12"
    else
        $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target "$SITE/py" "$CARRY"/wheels/*.whl \
            && say "wheels installed: $(ls "$CARRY"/wheels | tr '\n' ' ')" || say "wheels: FAILED to install"
        export PYTHONPATH="$SITE/py${PYTHONPATH:+:$PYTHONPATH}"
    fi
else
    say "wheels: none in $CARRY/wheels (make gpu-carry prepares them)"
fi

# 2. The embedded GGUF from its parts, checked.
GGUF_ARGS=()
if [ -f "$CARRY/meta/parts.txt" ] && [ -f "$CARRY/meta/model.sha256" ]; then
    missing=$(while read -r part; do [ -f "$CARRY/model/$part" ] || echo "$part"; done < "$CARRY/meta/parts.txt")
    if [ -z "$missing" ]; then
        GGUF="$SITE/gemma.gguf"
        (cd "$CARRY/model" && cat $(cat ../meta/parts.txt)) > "$GGUF"
        if [ "$(sha256sum "$GGUF" | cut -d' ' -f1)" = "$(cat "$CARRY/meta/model.sha256")" ]; then
            say "model: reassembled from $(wc -l < "$CARRY/meta/parts.txt") parts, sha256 ok"
            GGUF_ARGS=(--gguf "$GGUF")
            [ -f "$CARRY/meta/tokens.json" ] && GGUF_ARGS+=(--tokens "$CARRY/meta/tokens.json")
        else
            say "model: sha256 MISMATCH after reassembly; the embedded rows use random weights"
        fi
    else
        say "model: parts missing ($(echo $missing | tr '\n' ' ')); the embedded rows use random weights"
    fi
else
    say "model: no parts list in $CARRY/meta; the embedded rows use random weights"
fi

# 3. The device as found (nothing is changed on it).
{
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.mem,power.draw,power.limit,temperature.gpu --format=csv 2>&1 || echo "no nvidia-smi"
    $PY -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available()); print(torch.cuda.get_device_properties(0) if torch.cuda.is_available() else "no CUDA device")' 2>&1
    nproc; free -g 2>/dev/null | head -2
} > "$OUT/device.txt"
say "device: $(head -2 "$OUT/device.txt" | tail -1)"

SDIST=$(ls "$CARRY"/llama/llama_cpp_python-*.tar.gz 2>/dev/null | head -1)
build_llama() {  # seconds allowed, parallel jobs: make gpu-llama's flags, from the carried sdist, never the network
    CMAKE_ARGS="-DGGML_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 -DLLAVA_BUILD=OFF -DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON" \
    CMAKE_BUILD_PARALLEL_LEVEL=$2 timeout "$1" nice -n 19 \
        $PY -m pip install --no-index --no-deps --no-build-isolation --no-cache-dir --target "$SITE/llama" "$SDIST" > "$OUT/llama.log" 2>&1
}
BUILD_PID=
if [ "$LLAMA_PARALLEL" = 1 ] && [ "$DRY" != 1 ] && [ -n "$SDIST" ] && [ "${#GGUF_ARGS[@]}" != 0 ]; then
    build_llama $(( $(left) - 60 )) 12 &
    BUILD_PID=$!
    say "llama.cpp: building in parallel with the benchmark (nice 19, 12 jobs): the rows share the CPU with it"
fi

# 4. The benchmark, under its budget; the timeout is the last guard for the 8 minutes.
BENCH_TIMEOUT=$(( $(left) - 30 ))
say "bench gpu: budget ${BENCH_BUDGET_S}s, timeout ${BENCH_TIMEOUT}s"
PYTHONUNBUFFERED=1 timeout "$BENCH_TIMEOUT" $PY -m inference.bench.gpu "${DEVICE_ARGS[@]}" "${GGUF_ARGS[@]}" \
    --budget-s "$BENCH_BUDGET_S" --out "$OUT" > "$OUT/bench-stdout.txt" 2> "$OUT/bench.log"
rc=$?
cat "$OUT/bench-stdout.txt" >> "$OUT/bench.log" && rm -f "$OUT/bench-stdout.txt"
say "bench gpu: exit $rc"

# 5. llama.cpp's CUDA build (unless it ran beside the benchmark) and its measurement, last and only with time for it.
brc=
if [ -n "$BUILD_PID" ]; then
    wait "$BUILD_PID"; brc=$?
    say "llama.cpp: parallel build exit $brc"
elif [ -z "$SDIST" ]; then
    say "llama.cpp: skipped (no sdist in $CARRY/llama)"
elif [ "$DRY" = 1 ]; then
    tar tzf "$SDIST" > "$SITE/sdist.txt"  # listed first: grep -q would end tar early, a failure under pipefail
    grep -q 'vendor/llama.cpp/ggml/src/ggml-cuda/CMakeLists.txt' "$SITE/sdist.txt" \
        && say "llama.cpp: skipped (dry run); the sdist holds the CUDA backend" || say "llama.cpp: the sdist LACKS the CUDA backend"
elif [ "${#GGUF_ARGS[@]}" = 0 ]; then
    say "llama.cpp: skipped (no embedded GGUF to measure)"
elif [ "$(left)" -lt "$LLAMA_NEED_S" ]; then
    say "llama.cpp: skipped, $(left)s left of the ${LIMIT_S}s (a build needs ${LLAMA_NEED_S}s; GPU_CHECK_LLAMA_PARALLEL=1 builds it beside the benchmark)"
else
    say "llama.cpp: building $(basename "$SDIST") with CUDA for sm_90 ($(left)s left)"
    build_llama $(( $(left) - 45 )) "$(nproc)"; brc=$?
    say "llama.cpp: build exit $brc"
fi
if [ "$brc" = 0 ]; then
    PYTHONPATH="$SITE/llama${PYTHONPATH:+:$PYTHONPATH}" timeout $(( $(left) - 5 )) $PY -m inference.bench.gpu_llama "${GGUF_ARGS[@]}" \
        --budget-s "$(left)" --out "$OUT" >> "$OUT/llama.log" 2>&1
    say "llama.cpp: bench exit $? — $(grep -m1 'llama.cpp CUDA' "$OUT/llama.log")"
fi

say "done in $(elapsed)s"
[ -f "$OUT/bench-gpu.md" ] && tail -n +1 "$OUT/bench-gpu.md" | grep -v '^{' | tail -30
rm -rf "$SITE"
exit $rc
