"""Time the FreqKD band-split loss against plain feature MSE.

Forward + backward of the loss summed over the distilled layer pairs of the
paper's ViT-L setting (5 pairs of (B, 1024, 37, 46) maps: 518 x 644 pixels,
patch 14), student maps requiring gradients, teacher maps not. Compared:

* ``mse``: ``F.mse_loss`` on the raw maps (the cheapest possible loss);
* ``mse_std``: :class:`FeatureMSELoss` (same standardisation as FreqKD);
* ``freqkd``: :class:`FreqDecoupledLoss` as configured by default: the fused
  function, rectangle splitter through its low-rank matrices;
* ``freqkd_rfft``: the same with the rectangle applied by ``rfft2`` /
  ``irfft2`` (``impl='fft'``);
* ``freqkd_unfused``: ``FreqDecoupledLoss(fused=False)``, the same formula
  op by op under autograd;
* ``naive``: a direct transcription of the formula (full complex FFT,
  ``fftshift``, mask rebuilt at every call, one inverse FFT per band);
* ``band_ops``: not a loss, the floor of any exact implementation: the three
  applications of the default band operator per layer pair that the loss
  cannot do without (student and teacher low bands, one transposed
  application for the gradient), over the same chunks of samples as the
  fused function and into one reused buffer, timed alone without
  gradients;
* ``band_ops_unpadded``: the same with the rectangle's W rank left at its
  odd size (``rank_multiple = 1``; 23 instead of 24 on the ViT-L grid), to
  show what the padding of ``FFTRectSplitter.band_operators`` buys.

After the table, a lower bound from this machine's own arithmetic rate: the
floating-point operations of ``band_ops`` (counted from the shapes of the
rectangle's matrices) divided by the best rate of a large square float32
matrix product measured in the same run, i.e. the time the three band
applications would take if their thin products ran as efficiently as the
best case of the BLAS library, with everything else in the loss free.

The methods run in interleaved rounds (one call of each per round, after a
warm-up round), so drifting load from other processes hits all of them
alike; the median over rounds is reported with its ratio to ``mse``, to
``mse_std`` and to ``naive``, with the memory autograd keeps for the backward
pass (bytes of the saved tensors, views of the inputs not counted). All
FreqKD variants are checked against ``naive`` first.

Usage::

    python benchmarks/freq_loss.py                # full size on the CPU
    python benchmarks/freq_loss.py --small        # quick check
    python benchmarks/freq_loss.py --device cuda --batch 8
    python benchmarks/freq_loss.py --json benchmarks/results/freq_loss_cpu.json
"""
import argparse
import os
import statistics
import time

import torch
import torch.nn.functional as F

from mmfreqkd.models.freq import FFTRectSplitter
from mmfreqkd.models.losses import FeatureMSELoss, FreqDecoupledLoss
from mmfreqkd.models.losses.fused_band_loss import sample_chunks
from reports import machine_info, write_report


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


def band_operator_floor(splitter):
    """Three band-operator applications per pair, as a loss-like callable."""

    def apply(student, teacher):
        chunks = sample_chunks(student.shape[0], student[0].numel(),
                               student.device)
        out = torch.empty_like(student[chunks[0][0]:chunks[0][1]])
        with torch.no_grad():
            for start, end in chunks:
                rows = end - start
                splitter.low_pass(student[start:end], out=out[:rows])
                splitter.low_pass(teacher[start:end], out=out[:rows])
                splitter.low_pass_adjoint(student[start:end], out=out[:rows])

    return apply


def band_operator_gflop(splitter, shape, layers: int) -> float:
    """Floating-point operations (GFLOP) of the ``band_ops`` row.

    Three applications of the rectangle's low-rank route per layer pair,
    each four products per (H, W) map: reduce W (H W k_w multiply-adds),
    reduce H (k_h H k_w), expand H (H k_h k_w), expand W (H k_w W); the
    coefficient correction of the half-kept waves (4 x 4 per map) is left
    out.
    """
    batch, channels, height, width = shape
    (reduce_h, reduce_w, _, _), _ = splitter.band_operators(
        height, width, torch.device('cpu'), torch.float32)
    rank_h, rank_w = reduce_h.shape[0], reduce_w.shape[1]
    multiply_adds = 2 * height * rank_w * (width + rank_h)
    return 2 * multiply_adds * 3 * layers * batch * channels / 1e9


def gemm_peak_gflops(device, size: int = 2048, repeats: int = 5) -> float:
    """Best rate (GFLOP/s) of a square float32 matrix product on ``device``.

    The most this machine's BLAS gets out of the arithmetic units, with
    operands large enough to be blocked for the caches.
    """
    left = torch.randn(size, size, device=device)
    right = torch.randn(size, size, device=device)
    product = torch.empty_like(left)
    times = [
        wall_ms(lambda: torch.mm(left, right, out=product), device)
        for _ in range(repeats + 1)
    ]
    # the first call warms the library up
    return 2 * size**3 / min(times[1:]) / 1e6


def arithmetic_bound(results: dict, shape, layers: int, device) -> dict:
    """The ``band_ops`` floor at this machine's best matrix-product rate."""
    gflop = band_operator_gflop(FFTRectSplitter(), shape, layers)
    peak = gemm_peak_gflops(device)
    at_peak_ms = gflop / peak * 1e3
    return dict(
        band_ops_gflop=gflop,
        gemm_peak_gflops=peak,
        band_ops_gflops=gflop / results['band_ops']['ms'] * 1e3,
        band_ops_at_peak_ms=at_peak_ms,
        band_ops_at_peak_x_mse=at_peak_ms / results['mse']['ms'])


def print_bound(bound: dict) -> None:
    print(f'\nband_ops: {bound["band_ops_gflop"]:.1f} GFLOP, run at '
          f'{bound["band_ops_gflops"]:.0f} GFLOP/s; best square matrix '
          f'product here: {bound["gemm_peak_gflops"]:.0f} GFLOP/s; at that '
          f'rate band_ops alone would take '
          f'{bound["band_ops_at_peak_ms"]:.1f} ms = '
          f'{bound["band_ops_at_peak_x_mse"]:.2f} x mse')


def total_loss(fn, pairs):
    """Sum of ``fn(student, teacher)`` over the pairs (dicts summed too)."""
    total = 0
    for student, teacher in pairs:
        out = fn(student, teacher)
        if out is None:
            continue
        total = total + (sum(out.values()) if isinstance(out, dict) else out)
    return total


def wall_ms(work, device) -> float:
    """Wall time (ms) of ``work()``, queued device work included."""
    if device.type == 'cuda':
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    work()
    if device.type == 'cuda':
        torch.cuda.synchronize(device)
    return (time.perf_counter() - start) * 1e3


def run_once(fn, pairs, device) -> float:
    """Wall time (ms) of one forward + backward over all pairs."""
    for student, _ in pairs:
        student.grad = None

    def forward_backward():
        total = total_loss(fn, pairs)
        if isinstance(total, torch.Tensor):
            total.backward()

    return wall_ms(forward_backward, device)


def saved_tensor_mib(fn, pairs) -> float:
    """MiB of the tensors autograd saves for the backward pass.

    Counted through ``saved_tensors_hooks``, each storage once; views of the
    inputs (which exist anyway) are not counted.
    """
    inputs = {x.untyped_storage().data_ptr() for pair in pairs for x in pair}
    storages = {}

    def pack(tensor):
        storage = tensor.untyped_storage()
        if storage.data_ptr() not in inputs:
            storages[storage.data_ptr()] = storage.nbytes()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda x: x):
        total = total_loss(fn, pairs)
    del total
    return sum(storages.values()) / 2**20


def benchmark(methods: dict, pairs, repeats: int, device) -> dict:
    """Median time and saved memory of every method, interleaved rounds."""
    times = {name: [] for name in methods}
    for round_index in range(repeats + 1):
        for name, fn in methods.items():
            elapsed = run_once(fn, pairs, device)
            if round_index:  # round 0 warms caches, allocator, FFT plans
                times[name].append(elapsed)
    return {
        name: dict(
            ms=statistics.median(times[name]),
            runs_ms=times[name],
            saved_mib=saved_tensor_mib(fn, pairs))
        for name, fn in methods.items()
    }


def check_agreement(methods: dict, pairs) -> dict:
    """Relative difference of every FreqKD variant to ``naive``."""
    differences = {}
    with torch.no_grad():
        reference = total_loss(naive_freqkd, pairs).item()
        for name in ('freqkd', 'freqkd_rfft', 'freqkd_unfused'):
            value = total_loss(methods[name], pairs).item()
            differences[name] = abs(value - reference) / reference
            print(f'{name} vs naive: relative difference '
                  f'{differences[name]:.1e}')
            assert differences[name] < 1e-4, \
                f'{name} disagrees with the naive formula'
    return differences


def make_methods() -> dict:
    unpadded = FFTRectSplitter()
    unpadded.rank_multiple = 1
    return {
        'mse': F.mse_loss,
        'mse_std': FeatureMSELoss(),
        'freqkd': FreqDecoupledLoss(),
        'freqkd_rfft': FreqDecoupledLoss(
            splitter=dict(type='FFTRectSplitter', impl='fft')),
        'freqkd_unfused': FreqDecoupledLoss(fused=False),
        'naive': naive_freqkd,
        'band_ops': band_operator_floor(FFTRectSplitter()),
        'band_ops_unpadded': band_operator_floor(unpadded),
    }


def print_table(results: dict) -> None:
    base = {key: results[key]['ms'] for key in ('mse', 'mse_std', 'naive')}
    print('| method | ms | x mse | x mse_std | x naive | saved MiB |')
    print('|---|---:|---:|---:|---:|---:|')
    for name, result in results.items():
        ms = result['ms']
        print(f'| {name} | {ms:.1f} | {ms / base["mse"]:.2f} | '
              f'{ms / base["mse_std"]:.2f} | {ms / base["naive"]:.2f} | '
              f'{result["saved_mib"]:.0f} |')


def parse_args(argv=None):
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
    parser.add_argument('--json', help='also write the results here')
    return parser.parse_args(argv)


def main(argv=None) -> dict:
    args = parse_args(argv)
    if args.small:
        args.batch, args.channels, args.repeats = 2, 256, 3
    device = torch.device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    shape = (args.batch, args.channels, args.height, args.width)
    pairs = [(torch.randn(shape, device=device, requires_grad=True),
              torch.randn(shape, device=device)) for _ in range(args.layers)]
    methods = make_methods()
    differences = check_agreement(methods, pairs)

    info = machine_info(device)
    print(f'\n{args.layers} layer pairs of {shape}, {device}, '
          f'threads {info["threads"] or "-"}, median of {args.repeats} '
          'interleaved rounds, forward + backward, load average '
          f'{info["load_average_before"][0]:.1f}\n')
    results = benchmark(methods, pairs, args.repeats, device)
    print_table(results)
    bound = arithmetic_bound(results, shape, args.layers, device)
    print_bound(bound)
    info['load_average_after'] = list(os.getloadavg())
    report = dict(
        machine=info, args=vars(args),
        relative_difference_to_naive=differences, results=results,
        arithmetic_bound=bound)
    if args.json:
        write_report(report, args.json)
    return report


if __name__ == '__main__':
    main()
