"""Forward time and peak memory of DINOv2ViT against timm's DINOv2 ViT.

Both models hold the same (random) weights and return the same maps: the
patch tokens of the distilled blocks (FreqKD's teacher blocks 7, 15, 19, 21,
23 for ViT-L; 3, 7, 9, 10, 11 for ViT-S) as (B, C, h, w) maps. The input is
640x512 (W x H), as in the paper; 640 is not a multiple of 14, so both
models zero-pad the right and bottom edges (ours ``pad_to_patch=True``,
timm ``dynamic_img_pad=True``) and the grid is 46x37. Runs of the two models
alternate so that machine load affects both alike.

On CPU the process CPU time (all threads) is reported next to the wall
time: on a shared machine it is far less sensitive to other jobs.

Peak memory is the growth during one forward above the memory held before
it: ``torch.cuda.max_memory_allocated`` on CUDA; on CPU the peak resident
set size (Linux ``VmHWM``, reset through ``/proc/self/clear_refs``), which
also counts allocator caching, so read CPU numbers as rough.

With ``--json`` the machine (CPU / GPU name, threads, load average before
and after, torch and timm versions), the arguments and the results (every
run's wall and CPU time and memory included) are also written to a file.

Usage::

    python benchmarks/backbone.py --device cpu --repeats 7 \\
        --json benchmarks/results/backbone_cpu.json
    python benchmarks/backbone.py --device cuda --batch 8 --repeats 20
"""
import argparse
import os
import statistics

import timm
import torch

from mmfreqkd.models.backbones import DINOv2ViT, convert_dinov2_state_dict
from measurement import measure, release_cpu_memory
from reports import fmt, machine_info, write_report

MODELS = {
    'small': ('vit_small_patch14_reg4_dinov2', (3, 7, 9, 10, 11)),
    'large': ('vit_large_patch14_reg4_dinov2', (7, 15, 19, 21, 23)),
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--device', default='cpu', choices=('cpu', 'cuda'))
    parser.add_argument('--batch', type=int, default=1)
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--archs', nargs='+', default=['small', 'large'],
                        choices=sorted(MODELS))
    parser.add_argument('--height', type=int, default=512)
    parser.add_argument('--width', type=int, default=640)
    parser.add_argument('--dtype', default='float32',
                        choices=('float32', 'bfloat16', 'float16'))
    parser.add_argument('--json', help='also write the results here')
    return parser.parse_args(argv)


def build_pair(arch: str, device: str, dtype: torch.dtype):
    """timm's model and ours with the same random weights."""
    name, indices = MODELS[arch]
    reference = timm.create_model(
        name, pretrained=False, num_classes=0, dynamic_img_size=True,
        dynamic_img_pad=True)
    state_dict, _ = convert_dinov2_state_dict(reference.state_dict())
    with torch.device('meta'):
        ours = DINOv2ViT(arch, num_register_tokens=4, out_indices=indices)
    ours.load_state_dict(state_dict, strict=True, assign=True)
    reference = reference.to(device, dtype).eval()
    ours = ours.to(device, dtype).eval()
    return reference, ours, indices


def benchmark_arch(arch: str, args) -> dict:
    """Time both models of one arch, runs alternating.

    Args:
        arch (str): Key of :data:`MODELS`.
        args (argparse.Namespace): Parsed arguments.

    Returns:
        dict: Grid, medians (``ms``, ``cpu_ms``, ``peak_mib``; ``cpu_ms`` and
        ``peak_mib`` hold None where not measured) and ratios of ours to
        timm's, every timed run, and the largest absolute difference of the
        outputs.
    """
    device, dtype = args.device, getattr(torch, args.dtype)
    reference, ours, indices = build_pair(arch, device, dtype)
    x = torch.randn(args.batch, 3, args.height, args.width, device=device,
                    dtype=dtype)

    def run_ours():
        return ours(x)

    def run_timm():
        return reference.forward_intermediates(
            x, indices=list(indices), intermediates_only=True)

    times = {'ours': [], 'timm': []}
    cpu_times = {'ours': [], 'timm': []}
    peaks = {'ours': [], 'timm': []}
    with torch.inference_mode():
        for step in range(args.warmup + args.repeats):
            for key, run in (('ours', run_ours), ('timm', run_timm)):
                seconds, cpu_seconds, peak, out = measure(run, device)
                if step >= args.warmup:
                    times[key].append(seconds)
                    cpu_times[key].append(cpu_seconds)
                    peaks[key].append(peak)
                if key == 'ours':
                    ours_out = out
                else:
                    diff = max(float((a.float() - b.float()).abs().max())
                               for a, b in zip(ours_out, out))
                del out
    grid = list(ours_out[0].shape[-2:])
    ms = {k: 1000 * statistics.median(v) for k, v in times.items()}
    cpu_ms = {k: (None if None in v else 1000 * statistics.median(v))
              for k, v in cpu_times.items()}
    mib = {k: (None if None in v else statistics.median(v))
           for k, v in peaks.items()}
    return dict(
        arch=arch, grid=grid, ms=ms, cpu_ms=cpu_ms, peak_mib=mib,
        time_ratio=ms['ours'] / ms['timm'],
        cpu_time_ratio=(cpu_ms['ours'] / cpu_ms['timm']
                        if None not in cpu_ms.values() else None),
        memory_ratio=(mib['ours'] / mib['timm']
                      if None not in mib.values() and mib['timm'] else None),
        max_abs_diff=diff,
        runs_ms={k: [1000 * s for s in v] for k, v in times.items()},
        runs_cpu_ms={k: (None if None in v else [1000 * s for s in v])
                     for k, v in cpu_times.items()},
        runs_peak_mib=peaks)


def print_table(results: list, args) -> None:
    print(f'device={args.device} ({torch.get_num_threads()} threads)'
          if args.device == 'cpu' else
          f'device={torch.cuda.get_device_name()}')
    print(f'input {args.batch}x3x{args.height}x{args.width} {args.dtype}, '
          f'median of {args.repeats} runs after {args.warmup} warm-up')
    print('| model | grid (h x w) | ours ms | timm ms | time ratio | '
          'ours CPU ms | timm CPU ms | CPU-time ratio | ours peak MiB | '
          'timm peak MiB | memory ratio | max abs diff |')
    print('|' + '---|' * 12)
    for r in results:
        ms, cpu_ms, mib = r['ms'], r['cpu_ms'], r['peak_mib']
        print(f"| ViT-{r['arch'][0].upper()}/14 reg4 | "
              f"{r['grid'][0]} x {r['grid'][1]} | "
              f"{ms['ours']:.1f} | {ms['timm']:.1f} | "
              f"{r['time_ratio']:.3f} | {fmt(cpu_ms['ours'])} | "
              f"{fmt(cpu_ms['timm'])} | {fmt(r['cpu_time_ratio'], '.3f')} | "
              f"{fmt(mib['ours'])} | {fmt(mib['timm'])} | "
              f"{fmt(r['memory_ratio'], '.3f')} | "
              f"{r['max_abs_diff']:.2e} |")


def main(argv=None) -> dict:
    """Run the benchmark, print the table and return (and with ``--json``
    write) the report: ``machine``, ``args`` and ``results``."""
    args = parse_args(argv)
    info = machine_info(args.device)
    info['timm'] = timm.__version__
    results = []
    for arch in args.archs:
        results.append(benchmark_arch(arch, args))
        release_cpu_memory()  # the models of the arch are gone
    info['load_average_after'] = list(os.getloadavg())
    print_table(results, args)
    report = dict(machine=info, args=vars(args), results=results)
    if args.json:
        write_report(report, args.json)
    return report


if __name__ == '__main__':
    main()
