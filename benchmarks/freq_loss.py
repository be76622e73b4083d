"""Time the FreqKD band-split loss against plain feature MSE.

Forward + backward of the loss summed over the distilled layer pairs of the
paper's ViT-L setting (5 pairs of (B, 1024, 37, 46) maps: 518 x 644 pixels,
patch 14), student maps requiring gradients, teacher maps not. Compared:

* ``mse``: ``F.mse_loss`` on the raw maps (the cheapest possible loss);
* ``mse_std``: :class:`FeatureMSELoss` (same standardisation as FreqKD);
* ``freqkd``: :class:`FreqDecoupledLoss` with the default rectangle splitter
  (dense separable matrices, ``impl='matmul'``);
* ``freqkd_rfft``: the same loss through ``rfft2`` / ``irfft2``
  (``impl='fft'``);
* ``naive``: a direct transcription of the formula (full complex FFT,
  ``fftshift``, mask rebuilt at every call, one inverse FFT per band).

Prints the median time of ``--repeats`` runs (after one warm-up) and the
ratios to ``mse`` and ``mse_std``, and checks that all FreqKD variants agree.

Usage::

    python benchmarks/freq_loss.py                # full size on the CPU
    python benchmarks/freq_loss.py --small        # quick check
    python benchmarks/freq_loss.py --device cuda --batch 8
"""
import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from mmfreqkd.models.losses import FeatureMSELoss, FreqDecoupledLoss


def naive_freqkd(student, teacher, cutoff=0.5, high_weight=0.1):
    """The FreqKD loss written as plainly as possible (the reference)."""

    def standardize(x):
        x = x - x.mean(dim=(-2, -1), keepdim=True)
        return F.normalize(x, dim=1)

    def split(x):
        height, width = x.shape[-2:]
        h = max(1, int(height * cutoff / 2))
        w = max(1, int(width * cutoff / 2))
        mask = torch.zeros(height, width, device=x.device)
        mask[height // 2 - h:height // 2 + h,
             width // 2 - w:width // 2 + w] = 1
        spectrum = torch.fft.fftshift(
            torch.fft.fft2(x, norm='ortho'), dim=(-2, -1))

        def back(part):
            part = torch.fft.ifftshift(part, dim=(-2, -1))
            return torch.fft.ifft2(part, norm='ortho').real

        return back(spectrum * mask), back(spectrum * (1 - mask))

    s_low, s_high = split(standardize(student))
    t_low, t_high = split(standardize(teacher))
    low = F.mse_loss(s_low, t_low)
    high = F.mse_loss(torch.log1p(s_high.abs()), torch.log1p(t_high.abs()))
    return low + high_weight * high


def total_loss(fn, pairs):
    """Sum of ``fn(student, teacher)`` over the pairs (dicts summed too)."""
    total = 0
    for student, teacher in pairs:
        out = fn(student, teacher)
        total = total + (sum(out.values()) if isinstance(out, dict) else out)
    return total


def time_method(fn, pairs, repeats, device):
    """Median wall time (ms) of forward + backward over all pairs."""

    def run():
        for student, _ in pairs:
            student.grad = None
        if device.type == 'cuda':
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        total_loss(fn, pairs).backward()
        if device.type == 'cuda':
            torch.cuda.synchronize(device)
        return (time.perf_counter() - start) * 1e3

    run()  # warm-up: caches, allocator, FFT plans
    return statistics.median(run() for _ in range(repeats))


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--batch', type=int, default=8)
    parser.add_argument('--channels', type=int, default=1024)
    parser.add_argument('--height', type=int, default=37)
    parser.add_argument('--width', type=int, default=46)
    parser.add_argument('--layers', type=int, default=5)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument(
        '--threads', type=int, help='CPU threads (default: torch default)')
    parser.add_argument(
        '--small',
        action='store_true',
        help='quick run: batch 2, 256 channels, 3 repeats')
    return parser.parse_args()


def main():
    args = parse_args()
    if args.small:
        args.batch, args.channels, args.repeats = 2, 256, 3
    device = torch.device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    shape = (args.batch, args.channels, args.height, args.width)
    pairs = [(torch.randn(shape, device=device, requires_grad=True),
              torch.randn(shape, device=device)) for _ in range(args.layers)]

    methods = {
        'mse': F.mse_loss,
        'mse_std': FeatureMSELoss(),
        'freqkd': FreqDecoupledLoss(),
        'freqkd_rfft': FreqDecoupledLoss(
            splitter=dict(type='FFTRectSplitter', impl='fft')),
        'naive': naive_freqkd,
    }

    with torch.no_grad():
        reference = total_loss(naive_freqkd, pairs)
        for name in ('freqkd', 'freqkd_rfft'):
            value = total_loss(methods[name], pairs)
            rel = abs(value.item() - reference.item()) / reference.item()
            print(f'{name} vs naive: relative difference {rel:.1e}')
            assert rel < 1e-4, f'{name} disagrees with the naive formula'

    threads = torch.get_num_threads() if device.type == 'cpu' else '-'
    print(f'\n{args.layers} layer pairs of {shape}, {device}, '
          f'threads {threads}, median of {args.repeats} runs, '
          'forward + backward\n')
    times = {
        name: time_method(fn, pairs, args.repeats, device)
        for name, fn in methods.items()
    }
    print('| method | ms | x mse | x mse_std |')
    print('|---|---:|---:|---:|')
    for name, ms in times.items():
        print(f'| {name} | {ms:.1f} | {ms / times["mse"]:.2f} | '
              f'{ms / times["mse_std"]:.2f} |')


if __name__ == '__main__':
    main()
