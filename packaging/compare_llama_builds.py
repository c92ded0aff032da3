"""Prefill and decode speed of the llama-cpp-python installed in this interpreter, with and without
llama.cpp's extra buffer types (the CPU repack kernels, and AMX on a native build).

Used to choose the build the Makefile ships: run it with each candidate build's interpreter, e.g.
    .venv/bin/python packaging/compare_llama_builds.py MODEL.gguf
Each variant runs in its own process, because a native build with AMX dies with SIGSEGV on the
first decode on some CPUs, and that must be reported, not take the comparison down with it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time


def measure(model: str, extra_bufts: bool, rounds: int) -> dict:
    """Median prefill and decode tokens/s over `rounds` (the project's load settings otherwise)."""
    import llama_cpp

    defaults = llama_cpp.llama_model_default_params

    def params():  # the only way to reach use_extra_bufts: Llama() does not expose it
        p = defaults()
        p.use_extra_bufts = extra_bufts
        return p

    llama_cpp.llama_model_default_params = params
    llm = llama_cpp.Llama(model_path=model, n_ctx=2048, n_batch=128, n_ubatch=128, n_threads=2, flash_attn=True, swa_full=False, verbose=False)
    text = ("The river ran slowly past the mill, and the miller's daughter counted the boats as they went by. " * 40).encode()
    ids = llm.tokenize(text, add_bos=True)[:1000]
    prefill, decode = [], []
    for _ in range(rounds):
        llm.reset()
        t0 = time.perf_counter()
        llm.eval(ids)
        prefill.append(len(ids) / (time.perf_counter() - t0))
        t0 = time.perf_counter()
        for _ in range(64):
            llm.eval([ids[-1]])
        decode.append(64 / (time.perf_counter() - t0))
    return {"prefill_tps": round(statistics.median(prefill), 1), "decode_tps": round(statistics.median(decode), 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("model")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--variant", choices=("on", "off"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.variant:
        print(json.dumps(measure(args.model, args.variant == "on", args.rounds)))
        return 0
    import llama_cpp

    system = llama_cpp.llama_print_system_info().decode()
    print(f"llama-cpp-python {llama_cpp.__version__}; AMX compiled in: {'AMX_INT8 = 1' in system}")
    for variant in ("on", "off"):
        run = subprocess.run([sys.executable, __file__, args.model, "--rounds", str(args.rounds), "--variant", variant], capture_output=True, text=True)
        result = json.loads(run.stdout) if run.returncode == 0 else {"crashed": f"exit code {run.returncode}"}
        print(f"extra buffer types {variant:>3}: {result}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
