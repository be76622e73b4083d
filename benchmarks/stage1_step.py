"""Time and memory of one FreqKD Stage-1 training step, fast path vs plain.

One step = frozen DINOv2 teacher forward on the RGB batch + LoRA student
forward and backward on the IR batch + FreqKD loss over the 5 distilled
block pairs + AdamW step with gradient clipping, at the paper's 640x512
input (46 x 37 patch grid). Three implementations run in the same process
on the same random weights and the same batch, alternating step by step so
that machine load affects all alike:

* ``naive``: the straightforward implementation written below: RGB and IR
  converted and normalised image by image in a Python loop inside the
  model, teacher in float32 without autocast, attention as explicit
  products (the (N, N) attention matrix of every block is materialised and
  kept for the backward pass), FreqKD loss of ``freq_loss.naive_freqkd``
  (full complex FFT, band mask rebuilt at every call, one inverse FFT per
  band), plain ``torch.optim.AdamW`` and ``clip_grad_norm_``;
* ``fast``: the package as configured by ``configs/freqkd/kaist_vit.py``:
  ``FreqKDDistiller.train_step`` with ``PairedDataPreprocessor`` (one
  batched normalisation), teacher under ``teacher_dtype='auto'`` (bfloat16
  autocast on CUDA, float32 on CPU), scaled-dot-product attention (flash
  attention on CUDA), cached band operators, mmengine ``OptimWrapper``
  (AdamW, ``clip_grad``); with ``--amp`` the student also runs in bfloat16
  (``AmpOptimWrapper(dtype='bfloat16')`` on CUDA, a bfloat16 CPU autocast
  region around the step on CPU, where mmengine has no AMP wrapper);
* ``cached``: ``fast`` with the teacher feature cache, every sample a hit
  (the steady state of a dataset that fits in the cache): no teacher
  forward at all.

Reported per model and implementation: median wall time of a step,
images/s, process CPU time (CPU only; robust on a shared machine), peak
memory, model FLOP/s and, on a GPU, the model FLOPs utilisation (MFU)
against the bfloat16 dense peak of the device (``--peak-tflops``; known
defaults for H100 SXM / PCIe / NVL, H200, A100). Model FLOPs are counted
analytically (:func:`stage1_flops`: matrix products of the teacher forward,
the student forward and its backward; norms, activations, the loss and the
optimizer are not counted), the same count for ``naive`` and ``fast``.

Peak memory: on CUDA ``torch.cuda.max_memory_allocated`` over the step,
weights included (``peak MiB``) and the growth above the memory held
before the step (``step MiB``); on CPU only the growth of the peak resident
set size (Linux ``VmHWM``), which includes allocator caching: read CPU
memory as rough. The models of all implementations share their frozen
weights, so the memory held before a step is the same for all.

The first step of every implementation starts from the same weights
(``fast`` and ``cached`` share the packaged model: its trainable weights are
restored before the first step of each), so their first-step losses must
agree: the relative difference of ``fast`` and of ``cached`` to ``naive`` is
printed and written to the JSON per row (none for ``naive`` itself); in
float32 one above 1e-3 is an error, with half precision one above 5e-2 a
warning.

Usage::

    python benchmarks/stage1_step.py --quick           # CPU, a few minutes
    python benchmarks/stage1_step.py --archs small large --batch 1 \\
        --repeats 3 --json benchmarks/results/stage1_step_cpu.json
    python benchmarks/stage1_step.py --device cuda --batch 8 --amp \\
        --repeats 20 --json benchmarks/results/stage1_step_h100.json
"""
import argparse
import copy
import os
import os.path as osp
import statistics
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmdet.structures import DetDataSample
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import MODELS, DefaultScope

import mmfreqkd  # noqa: F401  (registration)
from mmfreqkd.models.backbones.dinov2_vit import Attention

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from freq_loss import naive_freqkd  # noqa: E402
from measurement import measure  # noqa: E402
from reports import fmt  # noqa: E402
from reports import machine_info as common_machine_info  # noqa: E402
from reports import write_report  # noqa: E402

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG = osp.join(REPO_ROOT, 'configs', 'freqkd', 'kaist_vit.py')
#: Backbone arch and distilled blocks: the paper's for ViT-L, the same
#: depths for ViT-S.
ARCHS = {
    'small': ('small', (3, 7, 9, 10, 11)),
    'large': ('large', (7, 15, 19, 21, 23)),
}
VARIANTS = ('naive', 'fast', 'cached')
#: bfloat16 dense tensor-core peaks (TFLOP/s) by device-name fragment,
#: first match wins.
PEAK_BF16_TFLOPS = (('H100 PCIe', 756.0), ('H100 NVL', 835.5),
                    ('H100', 989.4), ('H200', 989.4), ('A100', 312.0))


# --------------------------------------------------------------- FLOPs
def vit_flops(settings: dict, tokens: int, patches: int, blocks: int,
              in_channels: int = 3, patch_size: int = 14,
              lora_rank: int = 0) -> dict:
    """Matrix-product FLOPs of one image through the first ``blocks``
    blocks of a ViT, by part (a multiply-add counts 2).

    Args:
        settings (dict): ``embed_dims`` and ``feedforward_channels``.
        tokens (int): N, tokens per image (patches + class + registers).
        patches (int): Patch tokens per image.
        blocks (int): Blocks run.
        in_channels (int): Image channels.
        patch_size (int): Patch side.
        lora_rank (int): Rank of the adapters on ``attn.qkv``, ``mlp.fc1``
            and ``mlp.fc2`` (0: none).

    Returns:
        dict: ``patch_embed``, ``linear`` (qkv, proj, fc1, fc2), ``attention``
        (scores and weighted sum), ``lora``, and ``block0_input`` (the
        products of the first qkv projection and its adapter that act on
        the block input: in the backward pass their input needs no
        gradient).
    """
    dims, hidden = settings['embed_dims'], settings['feedforward_channels']
    linear = 2 * tokens * (3 * dims * dims + dims * dims + 2 * dims * hidden)
    lora = 2 * tokens * lora_rank * ((dims + 3 * dims) + 2 * (dims + hidden))
    return dict(
        patch_embed=2 * patches * in_channels * patch_size**2 * dims,
        linear=blocks * linear,
        attention=blocks * 4 * tokens * tokens * dims,
        lora=blocks * lora,
        block0_input=2 * tokens * dims * (3 * dims + lora_rank))


def stage1_flops(settings: dict, tokens: int, patches: int, blocks: int,
                 lora_rank: int, batch: int, with_teacher: bool = True
                 ) -> int:
    """Model FLOPs of one Stage-1 step.

    Teacher forward (skipped for the cached implementation), student
    forward, and student backward: the frozen linear layers need the
    gradient of their input only (as many FLOPs as their forward), attention
    and the LoRA adapters twice their forward (gradients of both operands),
    less the products that would give the gradient of the first block's
    input, which needs none (the patch embedding is frozen).

    Args:
        settings (dict): ``embed_dims`` and ``feedforward_channels``.
        tokens (int): Tokens per image.
        patches (int): Patch tokens per image.
        blocks (int): Blocks run (the last distilled block + 1).
        lora_rank (int): Rank of the student's adapters.
        batch (int): Images per step.
        with_teacher (bool): Count the teacher forward.

    Returns:
        int: FLOPs of the batch.
    """
    parts = ('patch_embed', 'linear', 'attention', 'lora')
    teacher = vit_flops(settings, tokens, patches, blocks)
    student = vit_flops(settings, tokens, patches, blocks,
                        lora_rank=lora_rank)
    forward = sum(student[part] for part in parts)
    backward = (student['linear'] + 2 * student['attention'] +
                2 * student['lora'] - student['block0_input'])
    total = forward + backward
    if with_teacher:
        total += sum(teacher[part] for part in parts)
    return batch * total


def peak_tflops(device: torch.device, given) -> float:
    """The bfloat16 dense peak of the device: ``given``, else a known
    default for the CUDA device name, else None."""
    if given is not None or device.type != 'cuda':
        return given
    name = torch.cuda.get_device_name(device)
    return next((peak for part, peak in PEAK_BF16_TFLOPS if part in name),
                None)


# ---------------------------------------------------- plain implementation
class EagerAttention(Attention):
    """Self-attention as explicit products: scores, softmax, weighted sum.

    Same parameters and result as :class:`Attention`; the (B, heads, N, N)
    attention matrix is materialised and kept for the backward pass.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, length, dims = x.shape
        qkv = self.qkv(x).reshape(batch, length, 3, self.num_heads,
                                  self.head_dims).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        scores = (q * self.head_dims**-0.5) @ k.transpose(-2, -1)
        x = scores.softmax(dim=-1) @ v
        return self.proj(x.transpose(1, 2).reshape(batch, length, dims))


def share_frozen_copy(module: nn.Module) -> nn.Module:
    """Deep copy of ``module`` that shares its frozen parameters (no extra
    memory for them) and owns copies of the trainable ones."""
    memo = {id(p): p for p in module.parameters() if not p.requires_grad}
    return copy.deepcopy(module, memo)


class StraightforwardStage1(nn.Module):
    """The Stage-1 loss written as directly as possible.

    Args:
        teacher (nn.Module): Frozen teacher backbone.
        student (nn.Module): Student backbone.
        preprocess (dict): ``rgb_mean``, ``rgb_std``, ``ir_mean``,
            ``ir_std`` (lists) and ``pad_size_divisor`` of the config.
    """

    def __init__(self, teacher: nn.Module, student: nn.Module,
                 preprocess: dict):
        super().__init__()
        self.teacher = teacher
        self.student = student
        self.preprocess = preprocess
        for backbone in (teacher, student):
            for module in backbone.modules():
                if type(module) is Attention:
                    module.__class__ = EagerAttention

    def normalize(self, images, modality: str) -> torch.Tensor:
        """Convert, normalise and pad the images one by one, then stack."""
        device = next(self.student.parameters()).device
        divisor = self.preprocess['pad_size_divisor']
        batch = []
        for image in images:
            image = image.to(device).float().flip(0)  # BGR to RGB
            mean = torch.tensor(self.preprocess[f'{modality}_mean'],
                                device=device)
            std = torch.tensor(self.preprocess[f'{modality}_std'],
                               device=device)
            image = (image - mean[:, None, None]) / std[:, None, None]
            pad_h = -image.shape[1] % divisor
            pad_w = -image.shape[2] % divisor
            batch.append(F.pad(image, (0, pad_w, 0, pad_h)))
        return torch.stack(batch)

    def forward(self, rgb, ir) -> torch.Tensor:
        with torch.no_grad():
            teacher_maps = self.teacher(self.normalize(rgb, 'rgb'))
        student_maps = self.student(self.normalize(ir, 'ir'))
        return sum(
            naive_freqkd(s, t) for s, t in zip(student_maps, teacher_maps))


# ------------------------------------------------------------- building
def load_stage1_config() -> Config:
    """The paper's Stage-1 config (model, optimizer, train pipeline)."""
    return Config.fromfile(CONFIG)


def fast_model_config(cfg: Config, arch, blocks, teacher_dtype: str,
                      cache_items: int) -> dict:
    """The config's model with random weights, ``arch`` and ``blocks``."""
    model = copy.deepcopy(cfg.model.to_dict())
    for role in ('teacher', 'student'):
        model[role].update(arch=arch, out_indices=tuple(blocks),
                           init_cfg=None, layer_scale_init_value=1.0)
    model['distill_pairs'] = [
        dict(name=f'block{block}', teacher_index=i, student_index=i)
        for i, block in enumerate(blocks)
    ]
    model.update(allow_random_teacher=True, allow_random_student=True,
                 teacher_dtype=teacher_dtype,
                 teacher_feature_cache=dict(max_items=cache_items))
    return model


def build_implementations(cfg: Config, arch, blocks, batch: int,
                          device: torch.device, amp: bool,
                          teacher_dtype: str):
    """The packaged distiller with its optimizer wrapper, and the
    straightforward model (sharing the frozen weights) with its optimizer.
    """
    with DefaultScope.overwrite_default_scope('mmdet'):
        model = MODELS.build(
            fast_model_config(cfg, arch, blocks, teacher_dtype, batch))
    model.to(device)
    model.train()
    model.teacher_cache.check_pipeline(cfg.train_pipeline,
                                       'train_pipeline')
    optim_cfg = copy.deepcopy(cfg.optim_wrapper.to_dict())
    if amp and device.type == 'cuda':
        optim_cfg.update(type='AmpOptimWrapper', dtype='bfloat16')
    optim_wrapper = build_optim_wrapper(model, optim_cfg)

    preprocess = {
        key: cfg.model.data_preprocessor[key]
        for key in ('rgb_mean', 'rgb_std', 'ir_mean', 'ir_std',
                    'pad_size_divisor')
    }
    naive = StraightforwardStage1(
        share_frozen_copy(model.teacher), share_frozen_copy(model.student),
        preprocess).to(device).train()
    optimizer_cfg = dict(cfg.optim_wrapper.optimizer)
    optimizer_cfg.pop('type')
    optimizer = torch.optim.AdamW(
        [p for p in naive.parameters() if p.requires_grad], **optimizer_cfg)
    return model, optim_wrapper, naive, optimizer


def first_loss_differences(name: str, first_losses: dict, args,
                           device: torch.device) -> dict:
    """Relative difference of each implementation's first-step loss to
    ``naive``'s, checked against the tolerance of the precision.

    Args:
        name (str): Model name, for the messages.
        first_losses (dict): Implementation to the loss of its first step
            (all from the same weights).
        args (argparse.Namespace): ``amp`` and ``teacher_dtype``.
        device (torch.device): Device the steps ran on.

    Returns:
        dict: Implementation to its relative difference, for every one but
        ``naive`` (empty when ``naive`` did not run).

    Raises:
        RuntimeError: If a difference exceeds 1e-3 in float32.
    """
    if 'naive' not in first_losses:
        return {}
    half_precision = args.amp or args.teacher_dtype in (
        'bfloat16', 'float16') or (device.type == 'cuda'
                                   and args.teacher_dtype == 'auto')
    naive = first_losses['naive']
    differences = {}
    for variant, loss in first_losses.items():
        if variant == 'naive':
            continue
        differences[variant] = diff = abs(loss - naive) / abs(naive)
        message = (f'{name}: the {variant} loss {loss:.6g} and the naive '
                   f'loss {naive:.6g} differ by {diff:.2e}')
        if not half_precision and diff > 1e-3:
            raise RuntimeError(message + ' (> 1e-3 in float32)')
        if diff > 5e-2:
            print('warning: ' + message, file=sys.stderr)
    return differences


def make_batch(batch: int, width: int, height: int, seed: int = 0) -> dict:
    """Collated uint8 RGB and IR images (as the KAIST pipeline packs them)
    with detection data samples."""
    gen = torch.Generator().manual_seed(seed)

    def images():
        return [
            torch.randint(0, 256, (3, height, width), generator=gen,
                          dtype=torch.uint8) for _ in range(batch)
        ]

    samples = [
        DetDataSample(metainfo=dict(
            img_path=f'lwir/I{i:05d}.jpg', rgb_path=f'visible/I{i:05d}.jpg',
            ori_shape=(height, width), img_shape=(height, width),
            scale_factor=(1.0, 1.0), flip=False, flip_direction=None))
        for i in range(batch)
    ]
    return dict(inputs=dict(rgb=images(), ir=images()), data_samples=samples)


def step_functions(model, optim_wrapper, naive, optimizer, data,
                   device: torch.device, amp: bool) -> dict:
    """One training step of each implementation, returning its loss."""
    cache = model.teacher_cache
    clip = optim_wrapper.clip_grad_kwargs
    cpu_amp = amp and device.type == 'cpu'

    def packaged(use_cache):
        def step():
            model.teacher_cache = cache if use_cache else None
            with torch.autocast('cpu', torch.bfloat16, enabled=cpu_amp):
                log_vars = model.train_step(data, optim_wrapper)
            return float(log_vars['loss'].detach())
        return step

    def plain():
        optimizer.zero_grad()
        loss = naive(data['inputs']['rgb'], data['inputs']['ir'])
        loss.backward()
        nn.utils.clip_grad_norm_(
            [p for p in naive.parameters() if p.requires_grad],
            clip['max_norm'], clip.get('norm_type', 2))
        optimizer.step()
        return float(loss.detach())

    return dict(naive=plain, fast=packaged(False), cached=packaged(True))


# ------------------------------------------------------------ measuring
def benchmark_arch(name: str, arch, blocks, args, cfg: Config,
                   device: torch.device) -> list:
    """Measure every implementation for one backbone; one dict each."""
    width, height = args.size
    model, optim_wrapper, naive, optimizer = build_implementations(
        cfg, arch, blocks, args.batch, device, args.amp, args.teacher_dtype)
    data = make_batch(args.batch, width, height)
    steps = step_functions(model, optim_wrapper, naive, optimizer, data,
                           device, args.amp)
    variants = [v for v in VARIANTS if v in args.variants]
    records = {v: dict(seconds=[], cpu_seconds=[], peak=[], total=[])
               for v in variants}
    first_losses = {}
    # fast and cached share the packaged model: each first step starts from
    # the weights the naive copy started from (the distiller's state dict
    # holds exactly the trained tensors)
    start_weights = {k: v.clone() for k, v in model.state_dict().items()}
    for iteration in range(args.warmup + args.repeats):
        for variant in variants:
            if iteration == 0 and variant != 'naive':
                model.load_state_dict(start_weights)
            torch.manual_seed(iteration)  # same LoRA dropout masks
            seconds, cpu_seconds, peak, loss = measure(steps[variant],
                                                       device.type)
            print(f'{name} {variant} step {iteration}: {1e3 * seconds:.0f} ms'
                  f', loss {loss:.6g}', file=sys.stderr, flush=True)
            if iteration == 0:
                first_losses[variant] = loss
            if iteration < args.warmup:
                continue
            record = records[variant]
            record['seconds'].append(seconds)
            record['cpu_seconds'].append(cpu_seconds)
            record['peak'].append(peak)
            if device.type == 'cuda':
                record['total'].append(torch.cuda.max_memory_allocated() /
                                       2**20)
    loss_diffs = first_loss_differences(name, first_losses, args, device)

    settings = dict(
        embed_dims=model.teacher.embed_dims,
        feedforward_channels=model.teacher.blocks[0].mlp.fc1.out_features)
    patch = model.teacher.patch_size
    grid = (-(-height // patch), -(-width // patch))
    patches = grid[0] * grid[1]
    tokens = patches + model.teacher.num_prefix_tokens
    lora_rank = cfg.model.student_lora.rank
    peak = peak_tflops(device, args.peak_tflops)
    results = []
    for variant in variants:
        record = records[variant]
        seconds = statistics.median(record['seconds'])
        cpu = (None if None in record['cpu_seconds'] else
               statistics.median(record['cpu_seconds']))
        flops = stage1_flops(settings, tokens, patches, max(blocks) + 1,
                             lora_rank, args.batch,
                             with_teacher=variant != 'cached')
        tflops = flops / seconds / 1e12
        results.append(dict(
            arch=name, variant=variant, batch=args.batch,
            size=[width, height], grid=list(grid), tokens=tokens,
            step_ms=1e3 * seconds,
            cpu_ms=None if cpu is None else 1e3 * cpu,
            images_per_s=args.batch / seconds,
            peak_mib=(statistics.median(record['total'])
                      if record['total'] else None),
            step_mib=(None if None in record['peak'] else
                      statistics.median(record['peak'])),
            flops_per_step=flops, tflops_per_s=tflops,
            mfu=None if peak is None else tflops / peak,
            first_step_loss=first_losses[variant],
            loss_rel_diff_vs_naive=loss_diffs.get(variant),
            step_ms_all=[1e3 * s for s in record['seconds']],
            cpu_ms_all=(None if cpu is None else
                        [1e3 * s for s in record['cpu_seconds']])))
    del model, optim_wrapper, naive, optimizer, steps
    return results


def add_ratios(results: list) -> None:
    """Add ``throughput_vs_naive``, ``cpu_time_vs_naive`` and
    ``memory_vs_naive`` (peak, else step memory) to each result."""
    naive = {r['arch']: r for r in results if r['variant'] == 'naive'}
    for result in results:
        base = naive.get(result['arch'])
        if base is None:
            continue
        result['throughput_vs_naive'] = \
            result['images_per_s'] / base['images_per_s']
        result['cpu_time_vs_naive'] = (
            None if result['cpu_ms'] is None else
            base['cpu_ms'] / result['cpu_ms'])
        key = 'peak_mib' if result['peak_mib'] is not None else 'step_mib'
        result['memory_vs_naive'] = (
            None if result[key] is None or not base[key] else
            result[key] / base[key])


def machine_info(device: torch.device, args) -> dict:
    """:func:`reports.machine_info`, with the GPU's peak rate for MFU."""
    info = common_machine_info(device)
    if device.type == 'cuda':
        info['peak_bf16_tflops'] = peak_tflops(device, args.peak_tflops)
    return info


def print_table(results: list, info: dict, args) -> None:
    where = info.get('gpu') or (
        f'{info["cpu"]}, {torch.get_num_threads()} threads')
    width, height = args.size
    print(f'\n{where}; input {width}x{height}, batch {args.batch}, '
          f'median of {args.repeats} steps after {args.warmup} warm-up; '
          f'amp={args.amp}, teacher_dtype={args.teacher_dtype}')
    memory = ('peak MiB' if info['device'].startswith('cuda') else
              'step RSS MiB')
    print(f'| model | impl. | ms / step | images/s | x naive | CPU ms | '
          f'CPU-time x naive | {memory} | memory x naive | TFLOP/s | MFU | '
          'loss rel. diff |')
    print('|' + '---|' * 12)
    for r in results:
        mib = r['peak_mib'] if r['peak_mib'] is not None else r['step_mib']
        loss_diff = ('-' if r['loss_rel_diff_vs_naive'] is None else
                     format(r['loss_rel_diff_vs_naive'], '.1e'))
        print(f"| ViT-{r['arch'][0].upper()}/14 | {r['variant']} | "
              f"{r['step_ms']:.0f} | {r['images_per_s']:.3f} | "
              f"{fmt(r.get('throughput_vs_naive'), '.2f')} | "
              f"{fmt(r['cpu_ms'], '.0f')} | "
              f"{fmt(r.get('cpu_time_vs_naive'), '.2f')} | "
              f"{fmt(mib, '.0f')} | {fmt(r.get('memory_vs_naive'), '.2f')} "
              f"| {r['tflops_per_s']:.3f} | "
              f"{fmt(r['mfu'] and 100 * r['mfu'], '.1f')}"
              f"{'%' if r['mfu'] is not None else ''} | "
              f"{loss_diff} |")


def parse_args(argv=None, archs=ARCHS):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--archs', nargs='+', default=list(archs),
                        choices=sorted(archs))
    parser.add_argument('--variants', nargs='+', default=list(VARIANTS),
                        choices=VARIANTS)
    parser.add_argument('--batch', type=int,
                        help='images per step (default: 8 on CUDA, as in '
                        'the paper, 1 on CPU)')
    parser.add_argument('--size', type=int, nargs=2, default=(640, 512),
                        metavar=('WIDTH', 'HEIGHT'))
    parser.add_argument('--device', default='auto',
                        help="'cpu', 'cuda', 'cuda:1', or 'auto' (CUDA when "
                        'available)')
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--amp', action='store_true',
                        help='student in bfloat16 too (fast path only)')
    parser.add_argument('--teacher-dtype', default='auto',
                        choices=('auto', 'bfloat16', 'float16', 'float32'))
    parser.add_argument('--threads', type=int,
                        help='CPU threads (default: torch default)')
    parser.add_argument('--peak-tflops', type=float,
                        help='peak of the device in TFLOP/s for the MFU '
                        '(default: bfloat16 dense peak of known GPUs)')
    parser.add_argument('--json', help='write the results to this file')
    parser.add_argument('--quick', action='store_true',
                        help='CPU-friendly: batch 1, 1 warm-up, 1 timed step')
    args = parser.parse_args(argv)
    if args.quick:
        args.batch, args.warmup, args.repeats = 1, 1, 1
    if args.warmup < 1 and 'cached' in args.variants:
        parser.error('the cached variant needs --warmup >= 1 (it fills the '
                     'cache)')
    return args


def main(argv=None, archs=ARCHS) -> list:
    """Run the benchmark; ``archs`` maps ``--archs`` names to (DINOv2ViT
    arch, distilled blocks)."""
    args = parse_args(argv, archs)
    if args.device == 'auto':
        args.device = 'cuda' if torch.cuda.is_available() else 'cpu'
    device = torch.device(args.device)
    if args.batch is None:
        args.batch = 8 if device.type == 'cuda' else 1
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = load_stage1_config()
    info = machine_info(device, args)
    results = []
    for name in args.archs:
        arch, blocks = archs[name]
        results += benchmark_arch(name, arch, blocks, args, cfg, device)
    add_ratios(results)
    info['load_average_after'] = list(os.getloadavg())
    print_table(results, info, args)
    if args.json:
        write_report(dict(machine=info, args=vars(args), results=results),
                     args.json)
    return results


if __name__ == '__main__':
    main()
