"""The interface every band splitter implements."""
import inspect
from collections import OrderedDict
from typing import Callable, Hashable, Optional, Tuple

import torch
from torch import nn


class BaseBandSplitter(nn.Module):
    """Split feature maps into a low and a high spatial-frequency band.

    A splitter is a linear map ``x -> low`` on every (H, W) plane of a
    (B, C, H, W) tensor; the high band is the remainder ``x - low``, so
    ``low + high == x`` holds to rounding for every splitter. Subclasses
    implement :meth:`low_pass`; calling the module is :meth:`split`, which
    computes half-precision maps in float32 and returns their dtype.

    Splitters have no parameters. Operators that depend only on the map size
    (masks, matrices) are built on first use and cached per size, device and
    dtype in :attr:`operator_cache`, which holds at most ``max_cached``
    entries (least recently used dropped first).
    """

    max_cached = 16
    #: True when :meth:`low_pass` is a symmetric operator on every (H, W)
    #: plane, so that it is its own transpose (see :meth:`low_pass_adjoint`).
    self_adjoint = False

    def __init_subclass__(cls, **kwargs):
        """Refuse, when the class is defined, a ``low_pass`` override
        without the ``out`` argument that the fused losses pass."""
        super().__init_subclass__(**kwargs)
        low_pass = cls.__dict__.get('low_pass')
        if low_pass is not None and \
                'out' not in inspect.signature(low_pass).parameters:
            raise TypeError(
                f'{cls.__name__}.low_pass must accept an out=None argument '
                '(see BaseBandSplitter.low_pass; write_into helps splitters '
                'whose last operation cannot write into a given tensor)')

    def __init__(self):
        super().__init__()
        self.operator_cache: 'OrderedDict[Hashable, object]' = OrderedDict()

    def low_pass(self,
                 x: torch.Tensor,
                 out: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Return the low band of ``x``.

        Args:
            x (Tensor): Maps of shape (B, C, H, W), floating point.
            out (Tensor, optional): Contiguous tensor shaped like ``x`` to
                write the low band into (not under autograd), so that
                callers looping over chunks can reuse one buffer.
                Default: None (a new tensor).

        Returns:
            Tensor: The low band, same shape and dtype as ``x`` (``out``
            when given).
        """
        raise NotImplementedError

    def low_pass_adjoint(self,
                         x: torch.Tensor,
                         out: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Apply the transpose of the (linear) low-pass operator.

        Fused losses need it to carry a gradient back through the split.
        Symmetric splitters (``self_adjoint = True``) return
        :meth:`low_pass`; the others take the vector-Jacobian product of
        :meth:`low_pass`, which for a linear map is its transpose.

        Args:
            x (Tensor): Maps of shape (B, C, H, W), floating point.
            out (Tensor, optional): As in :meth:`low_pass`.

        Returns:
            Tensor: ``L^T x``, same shape and dtype as ``x`` (``out`` when
            given).
        """
        if self.self_adjoint:
            return self.low_pass(x, out=out)
        with torch.enable_grad():
            probe = torch.zeros_like(x, requires_grad=True)
            low = self.low_pass(probe)
        return write_into(out, torch.autograd.grad(low, probe, x)[0])

    def split(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Split ``x`` into its low and high bands.

        Args:
            x (Tensor): Maps of shape (B, C, H, W), floating point.

        Returns:
            tuple[Tensor, Tensor]: ``(low, high)``, each shaped like ``x``,
            with ``low + high == x``.
        """
        self.check_input(x)
        if x.dtype in (torch.float16, torch.bfloat16):
            low = self.low_pass(x.float()).to(x.dtype)
        else:
            low = self.low_pass(x)
        return low, x - low

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Same as :meth:`split`."""
        return self.split(x)

    def empty_bands(self, height: int, width: int) -> Tuple[bool, bool]:
        """Whether the low and the high band are zero for every (H, W) map.

        A band can be empty by construction, e.g. a cutoff that keeps the
        whole spectrum of small maps in the low band. Splitters that can
        tell it from their operators say so (losses ask once per map size,
        see :class:`~mmfreqkd.models.losses.FreqDecoupledLoss`); the
        default claims nothing.

        Args:
            height (int): H, rows of the maps.
            width (int): W, columns of the maps.

        Returns:
            tuple[bool, bool]: ``(low_empty, high_empty)``.
        """
        return False, False

    def check_input(self, x: torch.Tensor) -> None:
        """Raise a clear error unless ``x`` is a floating (B, C, H, W) map."""
        if not isinstance(x, torch.Tensor):
            raise TypeError(f'{type(self).__name__} expects a tensor, got '
                            f'{type(x).__name__}')
        if x.dim() != 4:
            raise ValueError(f'{type(self).__name__} expects (B, C, H, W) '
                             f'maps, got shape {tuple(x.shape)}')
        if not x.is_floating_point():
            raise TypeError(f'{type(self).__name__} expects floating point '
                            f'maps, got {x.dtype}')

    def cached(self, key: Hashable, build: Callable[[], object]) -> object:
        """Return ``operator_cache[key]``, calling ``build()`` on a miss.

        Args:
            key (Hashable): Cache key, e.g. ``('mask', H, W, device, dtype)``.
            build (callable): Builds the value when it is not cached.

        Returns:
            object: The cached value.
        """
        if key in self.operator_cache:
            self.operator_cache.move_to_end(key)
            return self.operator_cache[key]
        value = build()
        self.operator_cache[key] = value
        if len(self.operator_cache) > self.max_cached:
            self.operator_cache.popitem(last=False)
        return value


def write_into(out: Optional[torch.Tensor],
               result: torch.Tensor) -> torch.Tensor:
    """Return ``result``, copied into ``out`` first when ``out`` is given.

    For splitters whose last operation cannot write into a given tensor.
    """
    return result if out is None else out.copy_(result)


def check_cutoff(cutoff: float, owner: str) -> float:
    """Validate a cutoff given as a fraction of the spectrum, in (0, 1].

    Args:
        cutoff (float): The value to check.
        owner (str): Class name used in the error message.

    Returns:
        float: ``cutoff`` as a float.
    """
    if isinstance(cutoff, bool) or not isinstance(cutoff, (int, float)) \
            or not 0 < cutoff <= 1:
        raise ValueError(f'{owner}: cutoff must be a number in (0, 1], got '
                         f'{cutoff!r}')
    return float(cutoff)
