"""FreqKD's band-split loss as one autograd function, in cache-sized chunks.

Written op by op, the loss of one (B, C, H, W) layer pair makes autograd keep
about seven map-sized tensors and run some forty passes over them, each pass
streaming the whole map through memory. :class:`FusedBandLossFunction`
computes the same numbers with its own backward pass:

* the work runs over chunks of samples small enough to stay in the CPU cache
  (one sample of a ViT-L map, 1024 x 37 x 46, is 7 MB); on GPUs the whole
  batch is one chunk;
* temporaries live in a workspace reused by all chunks of a call (the
  splitter writes into it, ``low_pass(out=)``) and are updated in place;
  sums of squares are dot products;
* the forward pass already has everything the gradient needs: it saves two
  new maps per layer, the two bands' gradient factors, and the backward
  pass applies the transposed split once, to a combination of both, then
  carries the result through the standardisation, which it recomputes from
  the student input (cheaper than keeping a third map).

The distances it fuses are ``'mse'`` and ``'log_mse'``
(:mod:`.feature_distances`); :class:`~.FreqDecoupledLoss` uses it whenever the
configuration allows and keeps its op-by-op route for the others.
"""
from typing import List, Optional, Tuple

import torch
from torch import Tensor

from ..freq import BaseBandSplitter
from ..precision import autocast_disabled

#: Distances with a fused implementation.
FUSED_DISTANCES = ('mse', 'log_mse')

#: CPU chunks hold about this many elements of a map (8 MB in float32), at
#: least one sample.
CPU_CHUNK_NUMEL = 1 << 21


def sample_chunks(batch: int, sample_numel: int,
                  device: torch.device) -> List[Tuple[int, int]]:
    """Split ``range(batch)`` into ``(start, end)`` chunks of samples.

    Args:
        batch (int): Number of samples B.
        sample_numel (int): Elements of one sample's map (C * H * W).
        device (torch.device): Where the maps live; CUDA maps are one chunk.

    Returns:
        list[tuple[int, int]]: Consecutive chunks covering the batch.
    """
    if device.type == 'cuda':
        step = batch
    else:
        step = max(1, CPU_CHUNK_NUMEL // max(1, sample_numel))
    return [(start, min(start + step, batch))
            for start in range(0, batch, step)]


class ChunkWorkspace:
    """Scratch tensors of one chunk's shape, reused by all chunks of a call.

    Fresh map-sized allocations are costly on CPUs (the memory is mapped and
    zeroed by the kernel page by page), so temporaries live here.

    Args:
        shape (tuple[int]): Shape of the largest chunk (n, C, H, W).
        like (Tensor): Gives the device and dtype.
    """

    def __init__(self, shape: Tuple[int, ...], like: Tensor):
        self.shape = shape
        self.like = like
        self.buffers = {}

    def __call__(self, name: str, rows: int) -> Tensor:
        """The scratch tensor ``name`` for a chunk of ``rows`` samples."""
        if name not in self.buffers:
            self.buffers[name] = self.like.new_empty(self.shape)
        return self.buffers[name][:rows]


def standardize_chunk(x: Tensor, eps: float, scratch: Tensor,
                      out: Tensor) -> Tuple[Tensor, Tensor]:
    """Standardise a chunk and return its inverse norms.

    The same computation as :func:`~mmfreqkd.models.freq.standardize_features`
    (mean removed twice, positions divided by ``max(norm, eps)``).

    Args:
        x (Tensor): Chunk (n, C, H, W), float32 or float64.
        eps (float): Floor of the per-position norm.
        scratch (Tensor): Scratch tensor of the chunk's shape.
        out (Tensor): Contiguous tensor of the chunk's shape to write the
            result into; may be ``x`` itself.

    Returns:
        tuple[Tensor, Tensor]: The standardised chunk (n, C, H, W) and
        ``1 / max(norm, eps)`` of shape (n, 1, H, W).
    """
    torch.sub(x, x.mean(dim=(-2, -1), keepdim=True), out=out)
    out.sub_(out.mean(dim=(-2, -1), keepdim=True))
    inv_norm = torch.mul(out, out, out=scratch).sum(
        dim=1, keepdim=True).sqrt_().clamp_min_(eps).reciprocal_()
    return out.mul_(inv_norm), inv_norm


def load_chunk(chunk: Tensor, standardize: bool, eps: float, buffer: Tensor,
               scratch: Tensor) -> Tuple[Tensor, Optional[Tensor]]:
    """Bring a chunk of maps into ``buffer`` (in its dtype), standardised.

    Args:
        chunk (Tensor): Maps (n, C, H, W) of any floating dtype and layout.
        standardize (bool): Standardise them (:func:`standardize_chunk`).
        eps (float): Floor of the per-position norm.
        buffer (Tensor): Contiguous workspace of the chunk's shape, in the
            compute dtype.
        scratch (Tensor): Scratch tensor of the chunk's shape.

    Returns:
        tuple[Tensor, Tensor | None]: ``buffer`` and the inverse norms
        (n, 1, H, W) of :func:`standardize_chunk` (None without
        standardisation).
    """
    if chunk.dtype != buffer.dtype or not standardize:
        # cast first: the means are taken in the compute dtype
        chunk = buffer.copy_(chunk)
    if not standardize:
        return buffer, None
    return standardize_chunk(chunk, eps, scratch, out=buffer)


def standardize_chunk_backward(grad: Tensor, standardized: Tensor,
                               inv_norm: Tensor, eps: float,
                               scratch: Tensor) -> Tensor:
    """Carry a gradient back through :func:`standardize_chunk`, in place.

    With ``y = c / n`` (``n`` the per-position norm of the centred map ``c``):
    ``dc = (dy - y <dy, y>_C) / n``, where positions whose norm was clamped
    to ``eps`` drop the projection term (their ``n`` is a constant), and the
    centring passes on ``dc - mean_{H, W}(dc)``.

    Args:
        grad (Tensor): Gradient w.r.t. the standardised chunk, (n, C, H, W);
            overwritten with the result.
        standardized (Tensor): The standardised chunk.
        inv_norm (Tensor): ``1 / max(norm, eps)``, (n, 1, H, W).
        eps (float): The floor used in the forward pass.
        scratch (Tensor): Scratch tensor of the chunk's shape.

    Returns:
        Tensor: ``grad``, now the gradient w.r.t. the raw chunk.
    """
    projection = torch.mul(grad, standardized, out=scratch).sum(
        dim=1, keepdim=True)
    projection.mul_(inv_norm < 1 / eps)
    grad.addcmul_(standardized, projection, value=-1).mul_(inv_norm)
    return grad.sub_(grad.mean(dim=(-2, -1), keepdim=True))


def sum_of_squares(x: Tensor) -> Tensor:
    """Per-sample sum of squares of a chunk (n, C, H, W) as (n,).

    One dot product per (H, W) plane (a batched product, no temporary map),
    the plane sums added in float64: a single float32 dot product over a
    whole ViT-L sample (1.7M elements) would be off by about 5e-5.
    """
    planes = x.reshape(-1, 1, x.shape[-2] * x.shape[-1])
    partial = torch.bmm(planes, planes.transpose(1, 2))
    return partial.view(x.shape[0], -1).sum(
        dim=1, dtype=torch.float64).to(x.dtype)


def band_residual(student_band: Tensor, teacher_band: Tensor, distance: str,
                  grad_out: Optional[Tensor], scratch: Tensor) -> Tensor:
    """Sum of squared differences of one band, and its gradient factor.

    Both band tensors are temporaries of the caller and are overwritten.

    Args:
        student_band (Tensor): Student band (n, C, H, W).
        teacher_band (Tensor): Teacher band, same shape.
        distance (str): ``'mse'`` (``u = s - t``) or ``'log_mse'``
            (``u = log(1 + |s|) - log(1 + |t|)``).
        grad_out (Tensor | None): Where to write the gradient factor
            ``d(u^2) / ds / 2 = u * du / ds`` (same shape); None when no
            gradient is needed.
        scratch (Tensor): Scratch tensor of the bands' shape.

    Returns:
        Tensor: Per-sample ``sum(u ** 2)``, shape (n,).
    """
    if distance == 'mse':
        residual = torch.sub(
            student_band,
            teacher_band,
            out=scratch if grad_out is None else grad_out)
        return sum_of_squares(residual)
    if grad_out is not None:
        torch.sign(student_band, out=grad_out)
    # log((1 + |s|) / (1 + |t|)): one logarithm instead of two, and
    # log(y) is several times faster than log1p on CPU (see log_abs1p)
    shifted = student_band.abs_().add_(1)
    residual = torch.div(
        shifted, teacher_band.abs_().add_(1), out=scratch).log_()
    squares = sum_of_squares(residual)
    if grad_out is not None:
        # d log(1 + |s|) / ds = sign(s) / (1 + |s|)
        grad_out.mul_(residual).div_(shifted)
    return squares


class FusedBandLossFunction(torch.autograd.Function):
    """Both band terms of :class:`~.FreqDecoupledLoss`, forward and backward.

    ``apply(student, teacher, dtype, splitter, weights, distances,
    standardize, eps, reduction, need_grad)`` with

    * ``student`` (B, C, H, W) and ``teacher`` (same shape, no gradient);
    * ``dtype``: the dtype to compute in (float32 or float64);
    * ``weights``: ``(low, high)`` factors of the two terms (0 skips a band);
    * ``distances``: ``(low, high)`` names from :data:`FUSED_DISTANCES`;
    * ``reduction``: ``'mean'`` (scalars) or ``'none'`` ((B,) per sample);
    * ``need_grad``: save what the backward pass needs.

    Returns ``(loss_low, loss_high)``; a band of weight 0 returns zeros.
    Both passes run with autocast disabled: the split and the sums stay in
    float32 (or float64) inside mixed-precision regions.
    """

    @staticmethod
    def forward(ctx, student: Tensor, teacher: Tensor, dtype: torch.dtype,
                splitter: BaseBandSplitter, weights: Tuple[float, float],
                distances: Tuple[str, str], standardize: bool, eps: float,
                reduction: str, need_grad: bool) -> Tuple[Tensor, Tensor]:
        with autocast_disabled(student.device):
            return FusedBandLossFunction.compute(
                ctx, student, teacher, dtype, splitter, weights, distances,
                standardize, eps, reduction, need_grad)

    @staticmethod
    def compute(ctx, student: Tensor, teacher: Tensor, dtype: torch.dtype,
                splitter: BaseBandSplitter, weights: Tuple[float, float],
                distances: Tuple[str, str], standardize: bool, eps: float,
                reduction: str, need_grad: bool) -> Tuple[Tensor, Tensor]:
        """The forward pass, outside autocast (arguments of ``forward``)."""
        batch = student.shape[0]
        sample_numel = student[0].numel()
        chunks = sample_chunks(batch, sample_numel, student.device)
        sums = [student.new_zeros(batch, dtype=dtype) for _ in weights]
        band_grads: List[Optional[Tensor]] = []  # (low, high) per chunk
        workspace = ChunkWorkspace(
            (chunks[0][1], ) + student.shape[1:],
            student.new_empty(0, dtype=dtype))
        for start, end in chunks:
            rows = end - start
            scratch = workspace('scratch', rows)
            student_chunk, _ = load_chunk(student[start:end], standardize,
                                          eps, workspace('student', rows),
                                          scratch)
            teacher_chunk, _ = load_chunk(teacher[start:end], standardize,
                                          eps, workspace('teacher', rows),
                                          scratch)
            student_low = splitter.low_pass(
                student_chunk, out=workspace('student_low', rows))
            teacher_low = splitter.low_pass(
                teacher_chunk, out=workspace('teacher_low', rows))
            # the gradient factors are saved: fresh memory, not workspace
            chunk_grads = [
                torch.empty_like(student_low) if need_grad and weight else
                None for weight in weights
            ]
            if weights[1]:
                sums[1][start:end] = band_residual(
                    student_chunk.sub_(student_low),
                    teacher_chunk.sub_(teacher_low), distances[1],
                    chunk_grads[1], scratch)
            if weights[0]:
                sums[0][start:end] = band_residual(student_low, teacher_low,
                                                   distances[0],
                                                   chunk_grads[0], scratch)
            band_grads += chunk_grads

        normalizer = sample_numel * (batch if reduction == 'mean' else 1)
        losses = []
        for weight, per_sample in zip(weights, sums):
            loss = per_sample.sum() if reduction == 'mean' else per_sample
            losses.append(loss * (weight / normalizer))
        if need_grad:
            ctx.save_for_backward(student, *band_grads)
            ctx.setup = (chunks, splitter, weights, normalizer, standardize,
                         eps, reduction, dtype)
        return tuple(losses)

    @staticmethod
    def backward(ctx, grad_low: Tensor, grad_high: Tensor):
        """Gradient of the student maps, computed outside autocast.

        Args:
            ctx: The context ``forward`` filled.
            grad_low (Tensor): Gradient of the weighted low-band loss (a
                scalar, or (B,) for ``reduction='none'``).
            grad_high (Tensor): Same for the high band.

        Returns:
            tuple: The gradient of the student maps (B, C, H, W), then None
            for every other argument of ``forward``.
        """
        with autocast_disabled(grad_low.device):
            return FusedBandLossFunction.backward_pass(
                ctx, grad_low, grad_high)

    @staticmethod
    def backward_pass(ctx, grad_low: Tensor, grad_high: Tensor):
        """The body of :meth:`backward` (same arguments and result)."""
        (chunks, splitter, weights, normalizer, standardize, eps, reduction,
         dtype) = ctx.setup
        student, *band_grads = ctx.saved_tensors
        if not any(weights):
            # loss_weight 0 switches the pair off: both terms are constants
            return (torch.zeros_like(student), ) + (None, ) * 9
        # d(weight * sum(u^2) / N) / du = 2 * weight / N * u
        scales = [grad * (2 * weight / normalizer)
                  for grad, weight in zip((grad_low, grad_high), weights)]
        grad_student = torch.empty_like(
            student, memory_format=torch.contiguous_format)
        workspace = ChunkWorkspace(
            (chunks[0][1], ) + student.shape[1:],
            student.new_empty(0, dtype=dtype))
        for index, (start, end) in enumerate(chunks):
            rows = end - start
            low_scale, high_scale = (
                scale if reduction == 'mean' else scale[start:end].view(
                    -1, 1, 1, 1) for scale in scales)
            grad_low_band, grad_high_band = band_grads[2 * index:2 * index +
                                                       2]
            scratch = workspace('scratch', rows)
            # low band: L x; high band: x - L x
            # => d/dx = g_high + L^T (g_low - g_high)
            if grad_low_band is None:
                torch.mul(grad_high_band, -high_scale, out=scratch)
            else:
                torch.mul(grad_low_band, low_scale, out=scratch)
                if grad_high_band is not None:
                    scratch.addcmul_(grad_high_band, -high_scale)
            grad_chunk = splitter.low_pass_adjoint(
                scratch, out=workspace('grad', rows))
            if grad_high_band is not None:
                grad_chunk.addcmul_(grad_high_band, high_scale)
            if standardize:
                # recomputed rather than saved: cheaper than a map in memory
                standardized, inv_norm = load_chunk(
                    student[start:end], standardize, eps,
                    workspace('student', rows), scratch)
                grad_chunk = standardize_chunk_backward(
                    grad_chunk, standardized, inv_norm, eps, scratch)
            grad_student[start:end] = grad_chunk
        return (grad_student, ) + (None, ) * 9
