"""Linear centred kernel alignment (CKA) between two sets of feature maps.

Examples and features: every spatial position of every sample is one
example, the channels are its features. A batch of maps (B, C, H, W) thus
gives B * H * W rows of C values; the reference and the compared maps must
share B, H and W (their rows are paired), their channel counts may differ.

With the column-centred matrices ``X`` (N, P) and ``Y`` (N, Q)::

    CKA(X, Y) = ||Y^T X||_F^2 / (||X^T X||_F * ||Y^T Y||_F)

(Kornblith et al., 2019). It lies in [0, 1], is 1 when ``Y = X Q c`` for an
orthogonal ``Q`` and a scalar ``c != 0``, and is invariant to orthogonal
transforms and isotropic scaling of either side, but not to arbitrary
invertible linear maps. All terms are sums over examples, so
:class:`LinearCKA` accumulates them batch by batch (the P x P, Q x Q and
Q x P cross products and the column sums, in float64) and never holds the
features of more than one batch.

As in the spectral-divergence analysis, maps are standardised and split into
the ``full`` map and its radial ``low`` and ``high`` bands before the rows
are formed; CKA is computed per band.
"""
from collections import OrderedDict
from typing import Dict

import torch

from .band_statistic import BandStatistic
from .radial_bands import BANDS


def linear_cka(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Linear CKA of two paired example matrices.

    Args:
        x (Tensor): (N, P) examples of the reference side.
        y (Tensor): (N, Q) examples of the compared side, same N.

    Returns:
        Tensor: Scalar CKA in [0, 1] (float64).
    """
    stats = CrossCovariance(x.shape[1], y.shape[1], device=x.device)
    stats.add(x, y)
    return stats.cka()


class CrossCovariance:
    """Running sums from which the centred (cross-)covariances follow.

    Args:
        x_dims (int): P, features of the reference side.
        y_dims (int): Q, features of the compared side.
        device (torch.device | str): Where the sums live.
    """

    def __init__(self, x_dims: int, y_dims: int, device='cpu'):
        kwargs = dict(dtype=torch.float64, device=device)
        self.count = 0
        self.x_sum = torch.zeros(x_dims, **kwargs)
        self.y_sum = torch.zeros(y_dims, **kwargs)
        self.xx = torch.zeros(x_dims, x_dims, **kwargs)
        self.yy = torch.zeros(y_dims, y_dims, **kwargs)
        self.yx = torch.zeros(y_dims, x_dims, **kwargs)

    def add(self, x: torch.Tensor, y: torch.Tensor) -> None:
        """Add paired rows ``x`` (n, P) and ``y`` (n, Q)."""
        if x.dim() != 2 or y.dim() != 2 or x.shape[0] != y.shape[0]:
            raise ValueError('CKA needs paired example matrices (N, P) and '
                             f'(N, Q), got {tuple(x.shape)} and '
                             f'{tuple(y.shape)}')
        if x.shape[1] != self.x_sum.numel() or \
                y.shape[1] != self.y_sum.numel():
            raise ValueError(
                f'CKA features changed: expected {self.x_sum.numel()} and '
                f'{self.y_sum.numel()}, got {x.shape[1]} and {y.shape[1]}')
        x = x.to(self.xx)
        y = y.to(self.xx)
        self.count += x.shape[0]
        self.x_sum += x.sum(dim=0)
        self.y_sum += y.sum(dim=0)
        self.xx += x.T @ x
        self.yy += y.T @ y
        self.yx += y.T @ x

    def cka(self) -> torch.Tensor:
        """Linear CKA of all rows added so far (float64 scalar).

        Returns 0 when either side is constant over the examples.
        """
        if self.count == 0:
            raise RuntimeError('CKA of no examples')
        x_mean = self.x_sum / self.count
        y_mean = self.y_sum / self.count
        xx = self.xx - self.count * torch.outer(x_mean, x_mean)
        yy = self.yy - self.count * torch.outer(y_mean, y_mean)
        yx = self.yx - self.count * torch.outer(y_mean, x_mean)
        denominator = torch.linalg.matrix_norm(xx) * torch.linalg.matrix_norm(
            yy)
        if denominator == 0:
            return denominator
        return yx.square().sum() / denominator


def maps_to_examples(maps: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) maps -> (B * H * W, C) example rows."""
    return maps.permute(0, 2, 3, 1).reshape(-1, maps.shape[1])


class LinearCKA(BandStatistic):
    """Accumulates linear CKA per block and band over batches.

    Args: ``low_radius``, ``high_radius`` and ``standardize`` of
    :class:`~mmfreqkd.analysis.band_statistic.BandStatistic`.

    Example:
        >>> cka = LinearCKA()
        >>> for t_maps, s_maps in batches:  # (B, C_t, H, W), (B, C_s, H, W)
        ...     cka.update('block7', t_maps, s_maps)
        >>> cka.compute()['blocks']['block7']['cka']['low']
    """

    METRIC_DEFINITIONS = dict(
        cka='||Y^T X||_F^2 / (||X^T X||_F ||Y^T Y||_F), X (N, C_t) and Y '
        '(N, C_s) the column-centred reference and compared band maps with '
        'one row per sample and position (N = samples x H x W)')

    def __init__(self,
                 low_radius: float = 0.25,
                 high_radius: float = 0.75,
                 standardize: bool = True):
        super().__init__(low_radius, high_radius, standardize)
        # block name -> band -> CrossCovariance
        self.stats: Dict[str, Dict[str, CrossCovariance]] = {}

    def update(self, name: str, reference: torch.Tensor,
               compared: torch.Tensor) -> None:
        """Add a batch of one block.

        Args:
            name (str): Block name (a key of the results).
            reference (Tensor): Reference maps (B, C_t, H, W).
            compared (Tensor): Compared maps (B, C_s, H, W); same B, H, W.
        """
        if reference.dim() != 4 or compared.dim() != 4 or \
                reference.shape[0] != compared.shape[0] or \
                reference.shape[-2:] != compared.shape[-2:]:
            raise ValueError(
                f'{name}: LinearCKA needs (B, C, H, W) maps with the same '
                f'B, H and W, got {tuple(reference.shape)} and '
                f'{tuple(compared.shape)}')
        t_bands, s_bands = self.band_maps(name, reference, compared)
        if name not in self.stats:
            self.stats[name] = {
                band: CrossCovariance(reference.shape[1], compared.shape[1],
                                      reference.device)
                for band in BANDS
            }
        for band in BANDS:
            self.stats[name][band].add(
                maps_to_examples(t_bands[band]),
                maps_to_examples(s_bands[band]))

    def compute(self) -> Dict[str, dict]:
        """CKA per block and band, and its mean over blocks.

        Returns:
            dict: ``blocks``: per block name ``num_examples`` (samples x
            positions), ``grid`` (H, W), ``band_sizes`` (band -> number of
            frequencies) and ``cka`` (band -> float);
            ``average``: ``cka`` (band -> mean over blocks).
        """
        self.check_updated()
        blocks = OrderedDict()
        for name in self.grids:
            stats = self.stats[name]
            blocks[name] = dict(
                num_examples=stats['full'].count,
                **self.block_grid(name),
                cka={band: float(stats[band].cka())
                     for band in BANDS})
        average = dict(cka={
            band: sum(b['cka'][band] for b in blocks.values()) / len(blocks)
            for band in BANDS
        })
        return dict(blocks=blocks, average=average)
