"""1-D discrete wavelet transform of class-logit vectors (for FiGKD)."""
import math
import warnings
from typing import Dict, Hashable, Tuple

import numpy as np
import pywt
import torch

#: Largest ``|sum(dec_hi)|`` of a usable wavelet: its high-pass filter must
#: annihilate constants (every wavelet of PyWavelets does, to 4e-12, except
#: ``'dmey'``, an FIR approximation whose filter sums to 1.1e-3).
CONSTANT_LEAK = 1e-8


class LogitWavelet:
    """Wavelet detail coefficients and high-pass part of (B, C) logits.

    The C logits of a sample are treated as a 1-D signal. ``levels`` levels
    of a DWT split it into one approximation (low-frequency) and ``levels``
    detail (high-frequency) coefficient vectors.

    * ``'haar'`` is computed directly (pair sums and differences divided by
      sqrt(2)), for any number of classes.
    * Any other discrete PyWavelets wavelet (``'db2'``, ``'sym4'``, ...) is
      applied as a (C, C') matrix obtained by transforming the identity with
      ``pywt.wavedec`` / ``pywt.waverec`` in ``'periodization'`` mode, built
      once per (C, device, dtype).

    The high-pass filter must sum to zero, so that the detail band of a
    constant is zero and a constant shift of the logits, which softmax and
    KD ignore, changes nothing; ``'dmey'`` is refused for that reason.

    Odd lengths: before a level whose input length is odd the last value is
    repeated (PyWavelets does the same in ``'periodization'`` mode), and the
    reconstruction is cropped back to C.

    Args:
        wavelet (str): PyWavelets name of a discrete wavelet. Default:
            ``'haar'``.
        levels (int): Decomposition levels, >= 1, at most
            ``ceil(log2(C))`` for C classes. Default: 1.
    """

    def __init__(self, wavelet: str = 'haar', levels: int = 1):
        try:
            self.wavelet = pywt.Wavelet(wavelet)
        except (ValueError, TypeError) as error:
            raise ValueError(f'unknown discrete wavelet {wavelet!r}; see '
                             "pywt.wavelist(kind='discrete')") from error
        leak = abs(sum(self.wavelet.dec_hi))
        if leak > CONSTANT_LEAK:
            raise ValueError(
                f'wavelet {wavelet!r}: its high-pass filter sums to '
                f'{leak:.2g}, not 0, so the detail band would change with a '
                'constant shift of the logits (which softmax ignores); use a '
                "wavelet with a vanishing moment, e.g. 'haar', 'db2', 'sym4'")
        if isinstance(levels, bool) or not isinstance(levels, int) \
                or levels < 1:
            raise ValueError(f'wavelet levels must be an int >= 1, got '
                             f'{levels!r}')
        self.levels = levels
        self.is_haar = self.wavelet.name == 'haar'
        self.matrix_cache: Dict[Hashable, Tuple[torch.Tensor,
                                                torch.Tensor]] = {}

    def check_length(self, length: int) -> None:
        """Raise unless every level gets at least 2 values to transform."""
        max_levels = math.ceil(math.log2(length)) if length > 1 else 0
        if self.levels > max_levels:
            raise ValueError(
                f'{self.levels} wavelet levels need more than {length} '
                f'classes: at most {max_levels} levels fit')

    def details(self, logits: torch.Tensor) -> torch.Tensor:
        """Detail coefficients of every level, coarsest level first.

        Args:
            logits (Tensor): (B, C).

        Returns:
            Tensor: (B, D), the concatenated detail coefficients (the order
            of ``pywt.wavedec(...)[1:]``); D is about C - C / 2**levels.
        """
        self.check_length(logits.shape[-1])
        if not self.is_haar:
            detail, _ = self.matrices(logits.shape[-1], logits.device,
                                      logits.dtype)
            return logits @ detail
        coefficients = []
        approx = logits
        for _ in range(self.levels):
            approx = _pad_to_even(approx)
            even, odd = approx[..., 0::2], approx[..., 1::2]
            coefficients.append((even - odd) / math.sqrt(2))
            approx = (even + odd) / math.sqrt(2)
        return torch.cat(coefficients[::-1], dim=-1)

    def high_pass(self, logits: torch.Tensor) -> torch.Tensor:
        """Reconstruction of the logits from their detail coefficients only.

        Equals ``logits - low`` with ``low`` reconstructed from the coarsest
        approximation alone (for Haar: every block of ``2**levels`` logits
        replaced by its mean).

        Args:
            logits (Tensor): (B, C).

        Returns:
            Tensor: (B, C).
        """
        length = logits.shape[-1]
        self.check_length(length)
        if not self.is_haar:
            _, high = self.matrices(length, logits.device, logits.dtype)
            return logits @ high
        sizes = []
        approx = logits
        for _ in range(self.levels):
            sizes.append(approx.shape[-1])
            approx = _pad_to_even(approx)
            approx = 0.5 * (approx[..., 0::2] + approx[..., 1::2])
        for size in reversed(sizes):
            approx = approx.repeat_interleave(2, dim=-1)[..., :size]
        return logits - approx

    def matrices(self, length: int, device: torch.device,
                 dtype: torch.dtype) -> Tuple[torch.Tensor, torch.Tensor]:
        """``(detail, high)`` matrices of the PyWavelets route (cached).

        Args:
            length (int): C.
            device (torch.device): Device of the logits.
            dtype (torch.dtype): Dtype of the logits.

        Returns:
            tuple[Tensor, Tensor]: ``detail`` (C, D) with
            ``details = logits @ detail`` and ``high`` (C, C) with
            ``high_pass = logits @ high``.
        """
        key = (length, device, dtype)
        if key not in self.matrix_cache:
            eye = np.eye(length)
            with warnings.catch_warnings():
                # Levels beyond pywt.dwt_max_level are exact in periodization
                # mode; PyWavelets only warns that filters wrap around.
                warnings.simplefilter('ignore', UserWarning)
                coefficients = pywt.wavedec(
                    eye, self.wavelet, mode='periodization',
                    level=self.levels, axis=-1)
            detail = np.concatenate(coefficients[1:], axis=-1)
            approx_only = [coefficients[0]] + [
                np.zeros_like(c) for c in coefficients[1:]
            ]
            low = pywt.waverec(
                approx_only, self.wavelet, mode='periodization',
                axis=-1)[:, :length]
            self.matrix_cache[key] = tuple(
                torch.from_numpy(np.ascontiguousarray(m)).to(
                    device=device, dtype=dtype) for m in (detail, eye - low))
        return self.matrix_cache[key]


def _pad_to_even(x: torch.Tensor) -> torch.Tensor:
    """Repeat the last value of the last axis when its length is odd."""
    if x.shape[-1] % 2:
        x = torch.cat([x, x[..., -1:]], dim=-1)
    return x
