"""Model compression: rebuild a full-precision reference, quantize with llama.cpp, measure fidelity, advise on fit.

Modules: types (type names and bits per weight), reference (F32 rebuild with the gguf package), quantize
(llama_model_quantize, atomic output), fidelity (agreement, KL, perplexity, memory, speed), sensitivity
(mixed precision), pipeline (one run), sweep (every type), report (JSON, table, chart), advisor (what fits).
"""
