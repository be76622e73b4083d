"""Distances between (B, C, H, W) feature maps, shared by the feature losses.

Every distance returns a scalar for ``reduction='mean'`` (mean over the
batch, channels and positions) or per-sample values of shape (B,) for
``reduction='none'``; the mean of the per-sample values equals the scalar.
"""
from typing import Callable, Dict

import torch
import torch.nn.functional as F

REDUCTIONS = ('mean', 'none')


def _reduce(values: torch.Tensor, reduction: str) -> torch.Tensor:
    """Mean over everything, or over all but the batch axis."""
    if reduction == 'mean':
        return values.mean()
    return values.flatten(1).mean(dim=1)


def mse_distance(student: torch.Tensor, teacher: torch.Tensor,
                 reduction: str) -> torch.Tensor:
    """Mean squared error.

    Args:
        student (Tensor): Student maps (B, C, H, W).
        teacher (Tensor): Teacher maps, the shape of ``student``.
        reduction (str): ``'mean'`` or ``'none'``.

    Returns:
        Tensor: A scalar, or (B,) for ``reduction='none'``.
    """
    if reduction == 'mean':
        return F.mse_loss(student, teacher)
    return _reduce((student - teacher).square(), reduction)


def log_abs1p(x: torch.Tensor) -> torch.Tensor:
    """``log(1 + |x|)``.

    Computed as ``log(|x| + 1)``: on CPU several times faster than
    ``torch.log1p`` and within float rounding of ``1 + |x|`` (1.2e-7 in
    float32) of it.
    """
    return torch.log(x.abs().add_(1))


def log_mse_distance(student: torch.Tensor, teacher: torch.Tensor,
                     reduction: str) -> torch.Tensor:
    """MSE between ``log(1 + |student|)`` and ``log(1 + |teacher|)``.

    Arguments and result as :func:`mse_distance`.
    """
    return mse_distance(log_abs1p(student), log_abs1p(teacher), reduction)


def l1_distance(student: torch.Tensor, teacher: torch.Tensor,
                reduction: str) -> torch.Tensor:
    """Mean absolute error.

    Arguments and result as :func:`mse_distance`.
    """
    if reduction == 'mean':
        return F.l1_loss(student, teacher)
    return _reduce((student - teacher).abs(), reduction)


def cosine_distance(student: torch.Tensor,
                    teacher: torch.Tensor,
                    reduction: str,
                    eps: float = 1e-6) -> torch.Tensor:
    """``1 - cos`` between the C-vectors at every position, averaged.

    Each vector is divided by ``max(norm, eps)``: a zero vector gives
    cosine 0 (distance 1) with finite gradients, while a vector of norm
    below ``eps`` keeps a proportionally smaller cosine.

    Args:
        student (Tensor): Student maps (B, C, H, W).
        teacher (Tensor): Teacher maps, the shape of ``student``.
        reduction (str): ``'mean'`` or ``'none'``.
        eps (float): Floor of the vector norms. Default: 1e-6.

    Returns:
        Tensor: A scalar, or (B,) for ``reduction='none'``.
    """

    def unit(x):
        norm_sq = x.square().sum(dim=1, keepdim=True).clamp_min(eps * eps)
        return x * torch.rsqrt(norm_sq)

    cosine = (unit(student) * unit(teacher)).sum(dim=1)
    return _reduce(1 - cosine, reduction)


FEATURE_DISTANCES: Dict[str, Callable[..., torch.Tensor]] = {
    'mse': mse_distance,
    'log_mse': log_mse_distance,
    'l1': l1_distance,
    'cosine': cosine_distance,
}


def get_feature_distance(name: str, owner: str,
                         key: str) -> Callable[..., torch.Tensor]:
    """Look a distance up by name, with an error naming the bad setting.

    Args:
        name (str): One of ``FEATURE_DISTANCES``.
        owner (str): Class name for the error message.
        key (str): Argument name for the error message.

    Returns:
        callable: ``distance(student, teacher, reduction) -> Tensor``.
    """
    if name not in FEATURE_DISTANCES:
        raise ValueError(f'{owner}: {key}={name!r} is not a known distance; '
                         f'choose from {sorted(FEATURE_DISTANCES)}')
    return FEATURE_DISTANCES[name]
