"""Peak CPU activation memory of one forward pass (glibc heap in use), and peak RSS."""
import resource

import torch.nn as nn

__all__ = ['HeapPeak', 'peak_rss_mb']


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class HeapPeak:
    """Peak CPU activation memory of one pass: glibc's in-use heap bytes, sampled at every module's entry and
    exit, minus the bytes in use before the pass (weights and the input are already allocated then).

    Peak RSS cannot be used for this: freed memory stays resident in the allocator, so a model whose
    activations fit in memory freed earlier (e.g. while building it) shows no growth at all.
    """

    def __init__(self) -> None:
        import ctypes
        import ctypes.util

        class MallInfo2(ctypes.Structure):
            _fields_ = [(f, ctypes.c_size_t) for f in ('arena', 'ordblks', 'smblks', 'hblks', 'hblkhd', 'usmblks',
                                                      'fsmblks', 'uordblks', 'fordblks', 'keepcost')]

        libc = ctypes.CDLL(ctypes.util.find_library('c'))
        self._mallinfo = getattr(libc, 'mallinfo2', None)  # glibc >= 2.33
        if self._mallinfo is not None:
            self._mallinfo.restype = MallInfo2
        self.peak = 0

    @property
    def available(self) -> bool:
        return self._mallinfo is not None

    def in_use(self) -> int:
        info = self._mallinfo()
        return info.uordblks + info.hblkhd  # small chunks + mmapped chunks

    def _sample(self, *args) -> None:
        self.peak = max(self.peak, self.in_use())

    def measure_mb(self, model: nn.Module, step) -> float:
        handles = [h for m in model.modules()
                   for h in (m.register_forward_pre_hook(self._sample), m.register_forward_hook(self._sample))]
        try:
            base = self.in_use()
            self.peak = base
            step()
            self._sample()
        finally:
            for h in handles:
                h.remove()
        return (self.peak - base) / 2**20
