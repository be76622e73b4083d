"""Feature standardisation shared by the losses and the analysis tools."""
import torch

#: Default floor of the per-position norm.
STANDARDIZE_EPS = 1e-6


def standardize_features(x: torch.Tensor,
                         eps: float = STANDARDIZE_EPS) -> torch.Tensor:
    """Centre every channel spatially, then L2-normalise every position.

    1. ``x - mean_{H, W}(x)`` per sample and channel. The mean is refined
       once (the mean of the residual is subtracted too), which makes the
       residual of a constant channel exactly zero instead of rounding noise.
    2. Divide the C-vector at every spatial position by ``max(norm, eps)``,
       so all-zero positions (e.g. from constant maps) stay zero and their
       gradients stay finite.

    Half-precision inputs are computed in float32 and returned in their
    dtype.

    Args:
        x (Tensor): Features of shape (B, C, H, W).
        eps (float): Floor of the per-position norm. Default: 1e-6.

    Returns:
        Tensor: Standardised features, shape and dtype of ``x``.
    """
    if x.dim() != 4:
        raise ValueError('standardize_features expects (B, C, H, W) maps, '
                         f'got shape {tuple(x.shape)}')
    if x.dtype in (torch.float16, torch.bfloat16):
        return standardize_features(x.float(), eps).to(x.dtype)
    centred = x - x.mean(dim=(-2, -1), keepdim=True)
    # in place: the subtraction above saves nothing for its backward pass
    centred.sub_(centred.mean(dim=(-2, -1), keepdim=True))
    norm = torch.linalg.vector_norm(centred, dim=1, keepdim=True)
    return centred * norm.clamp_min(eps).reciprocal()
