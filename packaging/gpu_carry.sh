#!/usr/bin/env bash
# Prepare .gpu_carry/: what packaging/gpu_check.sh needs on the GPU machine, which has no network.
#
#   wheels/  Python 3.12 wheels the device's python lacks (its torch, numpy, jinja2, psutil, pyyaml are there):
#            gguf (reads the embedded GGUF), sqlcipher3 and platformdirs (imported by inference.cache),
#            diskcache (llama-cpp-python's one missing dependency)
#   llama/   the llama-cpp-python sdist, slimmed: vocab test models, docs, tests, examples, the web UI and the
#            ggml backends other than CPU and CUDA removed (217 MB unpacked, 77 MB packed, over the device
#            tool's 64 MiB per call; the CUDA build needs none of it)
#   meta/    the held-out text in the embedded model's tokens (the device has no tokenizer before the build),
#            the model's SHA-256 and the list of its parts
#   model/   the embedded GGUF (253 MB) split into parts of PART_MB: each call to the device tool carries at
#            most 64 MiB, so the parts travel one call each (see gpu_check.sh's header)
#
# Usage: packaging/gpu_carry.sh          build it (downloads with pip; run on a machine with the index)
#        packaging/gpu_carry.sh --check  only print what each device call carries and fail if one is over 64 MiB
set -euo pipefail
cd "$(dirname "$0")/.."
CARRY=${GPU_CARRY:-.gpu_carry}
PY=${PY:-.venv/bin/python}
LLAMA_VERSION=${LLAMA_VERSION:-0.3.36}
PART_MB=${PART_MB:-52}
LIMIT=$((64 * 1024 * 1024))
WHEEL_PLATFORMS="--platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform any"

version() { "$PY" -c "import importlib.metadata as m; print(m.version('$1'))"; }

build_wheels() {
    mkdir -p "$CARRY/wheels"
    "$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp $WHEEL_PLATFORMS \
        -d "$CARRY/wheels" "gguf==$(version gguf)" "sqlcipher3==$(version sqlcipher3)" \
        "platformdirs==$(version platformdirs)" "diskcache==$(version diskcache)"
}

build_sdist() {
    local tmp; tmp=$(mktemp -d)
    "$PY" -m pip download -q --no-deps --no-binary :all: -d "$tmp" "llama-cpp-python==$LLAMA_VERSION"
    tar xzf "$tmp"/llama_cpp_python-"$LLAMA_VERSION".tar.gz -C "$tmp"
    local src="$tmp/llama_cpp_python-$LLAMA_VERSION" v="$tmp/llama_cpp_python-$LLAMA_VERSION/vendor/llama.cpp"
    rm -rf "$src"/{.git,.github,docker,docs,examples}  # the sdist carries its own git history (39 MB)
    rm -rf "$v"/{models,docs,benches,tests,examples,conversion,scripts,pocs,media,gguf-py,grammars,prompts,.github}
    find "$v/tools" -mindepth 1 -maxdepth 1 ! -name mtmd ! -name CMakeLists.txt -exec rm -rf {} +
    find "$v/ggml/src" -mindepth 1 -maxdepth 1 -type d -name 'ggml-*' ! -name ggml-cpu ! -name ggml-cuda -exec rm -rf {} +
    mkdir -p "$CARRY/llama"
    tar czf "$CARRY/llama/llama_cpp_python-$LLAMA_VERSION.tar.gz" -C "$tmp" "llama_cpp_python-$LLAMA_VERSION"
    rm -rf "$tmp"
}

build_model() {
    local gguf
    gguf=$("$PY" -c "from inference.models import ensure_embedded_model; from inference.paths import home_dir; print(ensure_embedded_model(home_dir()))")
    mkdir -p "$CARRY/model" "$CARRY/meta"
    rm -f "$CARRY"/model/gemma.gguf.part*
    split -b "${PART_MB}M" -d -a 2 "$gguf" "$CARRY/model/gemma.gguf.part"
    (cd "$CARRY/model" && ls gemma.gguf.part* > ../meta/parts.txt)
    sha256sum "$gguf" | cut -d' ' -f1 > "$CARRY/meta/model.sha256"
    "$PY" -m inference.bench.gpu --write-tokens "$CARRY/meta/tokens.json" --gguf "$gguf"
}

size() { { du -cb "$@" 2>/dev/null || true; } | tail -1 | cut -f1; }  # missing folders count as nothing

check() {
    local repo base last ok=0 part
    repo=$(git ls-files -z --cached --others --exclude-standard | xargs -0 du -cb 2>/dev/null | tail -1 | cut -f1)
    base=$(size "$CARRY/wheels" "$CARRY/llama" "$CARRY/meta")
    last=$(ls "$CARRY"/model/gemma.gguf.part* 2>/dev/null | tail -1 || true)
    echo "working tree $((repo / 1024)) KiB; wheels + llama sdist + meta $((base / 1024)) KiB; limit $((LIMIT / 1024)) KiB a call"
    for part in "$CARRY"/model/gemma.gguf.part*; do
        [ -e "$part" ] || continue
        local total=$((repo + $(size "$part")))
        [ "$part" = "$last" ] && total=$((total + base))  # the last part rides with the main call
        printf '  %s call: %s KiB %s\n' "$([ "$part" = "$last" ] && echo main || echo staging)" "$((total / 1024))" "$part"
        [ "$total" -lt "$LIMIT" ] || { echo "over the device tool's 64 MiB: $part"; ok=1; }
    done
    [ -n "$last" ] || [ $((repo + base)) -lt "$LIMIT" ] || { echo "the main call is over 64 MiB"; ok=1; }
    return $ok
}

if [ "${1:-}" != "--check" ]; then
    build_wheels
    build_sdist
    build_model
fi
check
