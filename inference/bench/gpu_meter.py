"""Meters for `bench gpu`: the device's copy bandwidth, timed regions, and energy from NVML.

Why measured this way:
- The bandwidth limit is the device's own: a device-to-device copy of a buffer far larger than the L2,
  bytes read plus bytes written, median of repeats timed with CUDA events (METHOD.md's ceiling).
- Energy comes from NVML's total-energy counter (millijoules since the driver loaded) read around a
  window of several seconds; where the driver does not keep that counter, power samples integrated
  over the window; with neither (a CPU run) there is no figure, and the report says which it was.
"""

from __future__ import annotations

import logging
import statistics
import threading
import time
from typing import Callable

import torch

log = logging.getLogger(__name__)

POWER_SAMPLE_S = 0.02  # NVML refreshes power every ~20-100 ms; sampling faster only repeats values


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn: Callable[[], object], device: torch.device, repeats: int, warmup: int = 1) -> list[float]:
    """Seconds of each of `repeats` calls after `warmup` untimed ones: CUDA events on a GPU, the host clock on the CPU."""
    for _ in range(warmup):
        fn()
    sync(device)
    out = []
    for _ in range(repeats):
        if device.type == "cuda":
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            end.synchronize()
            out.append(start.elapsed_time(end) / 1000)
        else:
            t0 = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t0)
    return out


def copy_bandwidth(device: torch.device, nbytes: int, repeats: int = 10) -> float:
    """Bytes per second moved by a device-to-device copy of `nbytes` (read + written), median of repeats."""
    src = torch.randint(0, 255, (nbytes,), dtype=torch.uint8, device=device)  # random, never zeros (METHOD.md)
    dst = torch.empty_like(src)
    seconds = statistics.median(timed(lambda: dst.copy_(src), device, repeats, warmup=2))
    if not torch.equal(dst[:4096], src[:4096]) or not torch.equal(dst[-4096:], src[-4096:]):
        raise RuntimeError("the bandwidth copy did not copy")
    del src, dst
    return 2 * nbytes / seconds


class EnergyMeter:
    """Joules used by the GPU between start() and stop(); `method` says how they were counted, None when they cannot be."""

    def __init__(self, device: torch.device) -> None:
        self.method: str | None = None
        self._handle = None
        self._nvml = None
        self._samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._start_mj = 0
        if device.type == "cuda":
            self._open(device.index or 0)

    def _open(self, index: int) -> None:
        try:
            import pynvml  # the nvidia-ml-py package
        except ImportError:
            log.info("no pynvml (nvidia-ml-py): energy is not measured")
            return
        try:
            pynvml.nvmlInit()
            self._handle = pynvml.nvmlDeviceGetHandleByIndex(index)
            self._nvml = pynvml
        except pynvml.NVMLError as exc:
            log.info("NVML did not start (%s): energy is not measured", exc)
            return
        try:
            pynvml.nvmlDeviceGetTotalEnergyConsumption(self._handle)
            self.method = "NVML total-energy counter (nvmlDeviceGetTotalEnergyConsumption)"
        except pynvml.NVMLError as exc:
            try:
                pynvml.nvmlDeviceGetPowerUsage(self._handle)
                self.method = f"NVML power samples every {POWER_SAMPLE_S * 1000:.0f} ms, integrated (no energy counter: {exc})"
            except pynvml.NVMLError as exc2:
                log.info("NVML gives neither energy nor power (%s): energy is not measured", exc2)

    def start(self) -> None:
        if self.method is None:
            return
        if self.method.startswith("NVML total"):
            self._start_mj = self._nvml.nvmlDeviceGetTotalEnergyConsumption(self._handle)
            return
        self._samples, self._stop = [], threading.Event()
        self._thread = threading.Thread(target=self._sample, name="power-sampler", daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.is_set():
            self._samples.append((time.perf_counter(), self._nvml.nvmlDeviceGetPowerUsage(self._handle) / 1000))
            self._stop.wait(POWER_SAMPLE_S)

    def stop(self) -> float | None:
        """Joules since start(), or None without a method."""
        if self.method is None:
            return None
        if self._thread is None:
            return (self._nvml.nvmlDeviceGetTotalEnergyConsumption(self._handle) - self._start_mj) / 1000
        self._stop.set()
        self._thread.join()
        self._thread = None
        s = self._samples
        return sum((t1 - t0) * (p0 + p1) / 2 for (t0, p0), (t1, p1) in zip(s, s[1:]))
