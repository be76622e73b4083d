"""Wall time, process CPU time and peak added memory of one call, on the
CPU (resident set size from ``/proc``) or on CUDA (the allocator's peak)."""
import ctypes
import gc
import time

import torch


def _rss_kib(field: str) -> int:
    with open('/proc/self/status') as status:
        for line in status:
            if line.startswith(field + ':'):
                return int(line.split()[1])
    raise KeyError(field)


def release_cpu_memory() -> None:
    """Collect garbage and give freed heap memory back to the system, so the
    next :func:`measure` starts from a low resident set."""
    gc.collect()
    try:
        ctypes.CDLL('libc.so.6').malloc_trim(0)
    except (OSError, AttributeError):
        pass


def measure(run, device: str):
    """Time one call of ``run`` and the memory it adds at its peak.

    Returns:
        tuple: (wall seconds, process CPU seconds or None on CUDA, peak MiB
        or None, output).
    """
    if device == 'cuda':
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated()
        start = time.perf_counter()
        out = run()
        torch.cuda.synchronize()
        seconds = time.perf_counter() - start
        peak = (torch.cuda.max_memory_allocated() - before) / 2**20
        return seconds, None, peak, out
    release_cpu_memory()
    try:
        before = _rss_kib('VmRSS')
        with open('/proc/self/clear_refs', 'w') as clear:
            clear.write('5')  # resets VmHWM to the current RSS
    except OSError:
        before = None
    start, cpu_start = time.perf_counter(), time.process_time()
    out = run()
    seconds = time.perf_counter() - start
    cpu_seconds = time.process_time() - cpu_start
    peak = None if before is None else (_rss_kib('VmHWM') - before) / 1024
    return seconds, cpu_seconds, peak, out
