"""Typed errors of the compression tools, each with a stable protocol code and an actionable sentence."""

from __future__ import annotations

from inference.protocol import BadRequest, ErrorCode, WorkerError


class CompressError(WorkerError):
    """Quantization or evaluation failed inside llama.cpp."""

    code = ErrorCode.COMPRESS_FAILED


class UnknownQuantType(BadRequest):
    """A quantization type name this tool does not know."""

    code = ErrorCode.BAD_REQUEST


class NotEnoughDisk(CompressError):
    """The output folder cannot hold the compressed model (and the reference, when one is rebuilt)."""

    code = ErrorCode.DISK_FULL


class IncompatibleModels(CompressError):
    """The reference and the candidate do not share a vocabulary, so their distributions cannot be compared."""

    code = ErrorCode.INCOMPATIBLE_MODELS
