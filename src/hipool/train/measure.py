"""Peak memory of a piece of work: GPU memory on CUDA, resident memory on the CPU.

On CUDA the figure is :func:`torch.cuda.max_memory_allocated` over the work
(reset at its start).  On the CPU torch keeps no allocator statistics, so the
figure is the process's resident memory at its highest during the work, minus
the resident memory at the start: the memory the work added.

* On Linux the kernel keeps that high-water mark exactly (``VmHWM`` in
  ``/proc/self/status``); writing ``5`` to ``/proc/self/clear_refs`` resets it at the
  start.  Before that, glibc's ``malloc_trim`` hands memory that earlier work freed
  back to the system, so this work cannot silently reuse it.
* Where the mark cannot be reset, a thread samples the resident size every
  ``interval`` seconds (short peaks between samples are missed).
* Elsewhere (macOS, Windows) it is the growth of ``ru_maxrss``, which only sees
  new highs of the process.

One measurement at a time per process: the high-water mark is the process's own.
"""

from __future__ import annotations

import os
import resource
import sys
import threading
from typing import Optional

import torch

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_LIBC = None


def _status_kb(field: str) -> Optional[int]:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def _rss_bytes() -> Optional[int]:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return None


def _reset_high_water_mark() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return _status_kb("VmHWM") is not None
    except OSError:
        return False


def _trim() -> None:
    """Return freed heap memory to the system (glibc only; elsewhere nothing)."""
    global _LIBC
    if _LIBC is None:
        try:
            import ctypes

            _LIBC = ctypes.CDLL("libc.so.6")
            _LIBC.malloc_trim.argtypes = [ctypes.c_size_t]
        except (OSError, AttributeError):
            _LIBC = False
    if _LIBC:
        _LIBC.malloc_trim(0)


def _maxrss_bytes() -> int:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss if sys.platform == "darwin" else rss * 1024


class PeakMemory:
    """``with PeakMemory(device) as m: ...`` then ``m.peak_mb``: memory the work added at its peak;
    ``m.method`` says how it was measured (``cuda``, ``hwm``, ``sampled`` or ``maxrss``)."""

    def __init__(self, device: str = "cpu", interval: float = 0.005):
        self.device = torch.device(device)
        self.interval = interval
        self.peak_mb = 0.0
        self.method = ""
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None

    def __enter__(self) -> "PeakMemory":
        if self.device.type == "cuda":
            self.method = "cuda"
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self._start = torch.cuda.memory_allocated(self.device)
            return self
        _trim()
        self._start = _rss_bytes()
        if self._start is None:
            self.method, self._start = "maxrss", _maxrss_bytes()
        elif _reset_high_water_mark():
            self.method, self._start = "hwm", _status_kb("VmHWM") * 1024
        else:
            self.method, self._peak = "sampled", self._start
            self._thread = threading.Thread(target=self._sample, daemon=True, name="hipool-peak-memory")
            self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            rss = _rss_bytes()
            if rss is not None and rss > self._peak:
                self._peak = rss

    def __exit__(self, *exc) -> None:
        if self.method == "cuda":
            torch.cuda.synchronize(self.device)
            peak = torch.cuda.max_memory_allocated(self.device)
        elif self.method == "hwm":
            peak = (_status_kb("VmHWM") or 0) * 1024
        elif self.method == "maxrss":
            peak = _maxrss_bytes()
        else:
            self._stop.set()
            self._thread.join()
            peak = max(self._peak, _rss_bytes() or 0)
        self.peak_mb = max(peak - self._start, 0) / 2**20
