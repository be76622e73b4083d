"""Command-line plumbing shared by the tools under ``tools/analysis``."""
import argparse
import os
import os.path as osp
from typing import Callable, List, Optional, Sequence

import torch
from mmengine.config import Config, DictAction

from mmfreqkd.utils import load_config

from .accumulate import accumulate_features, default_device
from .dataloader import SPLITS, build_analysis_dataloader, \
    build_analysis_dataset
from .paired_features import (ANALYSIS_MODES, PairedFeatureExtractor,
                              build_paired_feature_extractor)
from .reports import save_json

def definitions(standardize: bool, statistics: Sequence = ()) -> dict:
    """How the JSON outputs' numbers are defined.

    Args:
        standardize (bool): Whether the maps were standardised (off with
            ``--no-standardize``).
        statistics (Sequence): The statistics computed; the formulas of
            their metrics (their ``METRIC_DEFINITIONS``) are included under
            ``metrics``. Default: ().
    """
    maps = 'standardised map' if standardize else 'raw map'
    described = dict(
        standardisation='per map: per-channel spatial mean removed, then '
        'every position L2-normalised across channels'
    ) if standardize else dict(standardisation='none (--no-standardize)')
    return dict(
        described,
        bands='radial masks on the orthonormal, fftshift-ed 2-D FFT of each '
        f'{maps}, inverted (real part); radius = index distance from '
        '(H//2, W//2) divided by min(H//2, W//2); low: radius <= '
        'low_radius, high: radius >= high_radius, the ring between is '
        f'excluded; full: the whole {maps}',
        band_sizes='number of frequencies (spectrum entries) a band keeps',
        reference='RGB side (same-model) or teacher(RGB) (teacher-student)',
        compared='IR side (same-model) or student(IR) (teacher-student)',
        metrics={
            metric: formula
            for statistic in statistics
            for metric, formula in statistic.METRIC_DEFINITIONS.items()
        })


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """Config, weights, comparison mode, blocks, radii, device, overrides."""
    parser.add_argument(
        'config', help='FreqKD Stage-1 config (paired dataset, teacher and '
        'student), e.g. configs/freqkd/kaist_vit.py')
    parser.add_argument(
        '--checkpoint',
        help='student weights: a Stage-1 checkpoint or a file written by '
        'tools/model_converters/export_student.py (without it the student '
        'comes from its init_cfg)')
    parser.add_argument(
        '--mode',
        choices=ANALYSIS_MODES,
        default='same-model',
        help='same-model: one model fed RGB vs the same model fed IR (the '
        "paper's analysis); teacher-student: teacher(RGB) vs student(IR), "
        'block pairs = the config\'s distill_pairs')
    parser.add_argument(
        '--model',
        choices=('teacher', 'student'),
        default='teacher',
        help='model fed both modalities in same-model mode')
    parser.add_argument(
        '--blocks',
        type=int,
        nargs='+',
        help='0-based transformer block numbers (the values of out_indices, '
        'e.g. 7 15 19 21 23), not positions in out_indices. same-model: any '
        'block of the model (they replace its out_indices); teacher-student: '
        'distill pairs whose teacher block is listed. Default: all of '
        'out_indices / all distill pairs')
    parser.add_argument(
        '--low-radius',
        type=float,
        default=0.25,
        help='low band: normalised radius <= this')
    parser.add_argument(
        '--high-radius',
        type=float,
        default=0.75,
        help='high band: normalised radius >= this')
    parser.add_argument(
        '--no-standardize',
        action='store_true',
        help='compare the raw maps instead of standardised ones')
    parser.add_argument(
        '--split',
        choices=SPLITS,
        default='test',
        help='dataloader of the config to read (train is read with the test '
        'pipeline, without random flips)')
    parser.add_argument(
        '--device',
        help='e.g. cuda, cuda:1, cpu (default: cuda when available)')
    parser.add_argument(
        '--out-dir',
        help='output folder (default: work_dirs/analysis/<config>_<mode>)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override existing config keys, e.g. '
        'model.teacher.init_cfg.checkpoint=PATH')


def add_sampling_arguments(parser: argparse.ArgumentParser) -> None:
    """How many samples, in batches of what size, loaded by how many
    processes, with or without a bar."""
    parser.add_argument(
        '--num-samples',
        type=int,
        default=500,
        help='analyse the first N samples of the split (0: all)')
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument(
        '--num-workers', type=int, default=2, help='data loading processes')
    parser.add_argument(
        '--no-progress', action='store_true', help='hide the progress bar')


def output_dir(args: argparse.Namespace, create: bool = False) -> str:
    """``--out-dir`` or ``work_dirs/analysis/<config stem>_<mode>``.

    Args:
        args (Namespace): Parsed arguments.
        create (bool): Create the folder now, so that a path that cannot be
            written fails before the models run, not after. Default: False.
    """
    if args.out_dir:
        directory = args.out_dir
    else:
        stem = osp.splitext(osp.basename(args.config))[0]
        directory = osp.join('work_dirs', 'analysis', f'{stem}_{args.mode}')
    if create:
        os.makedirs(directory, exist_ok=True)
    return directory


def load_args_config(args: argparse.Namespace) -> Config:
    """The config with ``--cfg-options`` applied (unknown keys are errors)."""
    return load_config(args.config, args.cfg_options)


def build_args_extractor(args: argparse.Namespace,
                         cfg: Config) -> PairedFeatureExtractor:
    """The models of the config with the weights named on the command line."""
    return build_paired_feature_extractor(
        cfg,
        mode=args.mode,
        model=args.model,
        checkpoint=args.checkpoint,
        blocks=args.blocks)


def side_labels(args: argparse.Namespace) -> dict:
    """Human names of the reference and compared sides."""
    if args.mode == 'same-model':
        return dict(
            reference=f'{args.model}(RGB)', compared=f'{args.model}(IR)')
    return dict(reference='teacher(RGB)', compared='student(IR)')


def run_settings(args: argparse.Namespace, extractor: PairedFeatureExtractor,
                 device: torch.device, num_samples: int,
                 statistics: Sequence = ()) -> dict:
    """What an analysis ran on and how its numbers are defined, for its JSON
    output."""
    settings = dict(
        config=args.config,
        checkpoint=args.checkpoint,
        cfg_options=args.cfg_options,
        mode=args.mode,
        model=args.model if args.mode == 'same-model' else None,
        sides=side_labels(args),
        split=args.split,
        num_samples_requested=args.num_samples or None,
        num_samples=num_samples,
        blocks=extractor.block_numbers,
        low_radius=args.low_radius,
        high_radius=args.high_radius,
        standardize=not args.no_standardize,
        batch_size=args.batch_size,
        device=str(device),
        definitions=definitions(not args.no_standardize, statistics))
    return settings


def run_statistics(args: argparse.Namespace,
                   statistics: Sequence) -> dict:
    """Build everything the arguments name and feed ``statistics``.

    Args:
        args (Namespace): Parsed with :func:`add_model_arguments` and
            :func:`add_sampling_arguments`.
        statistics (Sequence): Objects with ``update(name, reference,
            compared)``.

    Returns:
        dict: The run settings (:func:`run_settings`).
    """
    cfg = load_args_config(args)
    extractor = build_args_extractor(args, cfg)
    dataset = build_analysis_dataset(cfg, args.split)
    dataloader = build_analysis_dataloader(
        dataset,
        num_samples=args.num_samples or None,
        batch_size=args.batch_size,
        num_workers=args.num_workers)
    device = torch.device(args.device) if args.device else default_device()
    seen = accumulate_features(
        extractor,
        dataloader,
        statistics,
        device=device,
        progress=not args.no_progress)
    return run_settings(args, extractor, device, seen, statistics)


def run_band_statistic(args: argparse.Namespace, statistic,
                       stem: str,
                       save_csv: Callable[[dict, str], None],
                       plot: Callable[..., None],
                       format_table: Callable[[dict], str],
                       title_prefix: str = '') -> dict:
    """Run one band statistic over the data and write its reports.

    Writes ``<stem>.json`` (results and run settings), ``<stem>.csv`` and
    ``<stem>.png`` to :func:`output_dir` and prints the table and the paths.

    Args:
        args (Namespace): Parsed with :func:`add_model_arguments` and
            :func:`add_sampling_arguments`.
        statistic (BandStatistic): E.g. a ``LinearCKA``.
        stem (str): File name stem of the outputs.
        save_csv (callable): ``save_csv(results, path)``.
        plot (callable): ``plot(results, path, title=...)``.
        format_table (callable): ``format_table(results) -> str``.
        title_prefix (str): Put before the plot title (which names both
            sides and the samples). Default: ''.

    Returns:
        dict: The results, ``settings`` included.
    """
    directory = output_dir(args, create=True)
    settings = run_statistics(args, [statistic])
    results = dict(settings=settings, **statistic.compute())
    paths = {
        ext: osp.join(directory, f'{stem}.{ext}')
        for ext in ('json', 'csv', 'png')
    }
    save_json(results, paths['json'])
    save_csv(results, paths['csv'])
    sides = settings['sides']
    plot(results, paths['png'],
         title=f"{title_prefix}{sides['reference']} vs {sides['compared']}, "
         f"{settings['num_samples']} {args.split} samples")
    print(format_table(results))
    print('written: ' + ', '.join(paths.values()))
    return results


def parse_with(description: str, adders: List, argv: Optional[list] = None,
               extra=None) -> argparse.Namespace:
    """Parse ``argv`` with the argument groups of ``adders``.

    Args:
        description (str): Parser description.
        adders (list): Functions that add arguments to a parser.
        argv (list, optional): Arguments; default ``sys.argv[1:]``.
        extra (callable, optional): Adds tool-specific arguments.

    Returns:
        Namespace: Parsed and checked arguments.
    """
    parser = argparse.ArgumentParser(description=description)
    for add in adders:
        add(parser)
    if extra is not None:
        extra(parser)
    args = parser.parse_args(argv)
    if not 0 <= args.low_radius < args.high_radius:
        parser.error('need 0 <= --low-radius < --high-radius, got '
                     f'{args.low_radius} and {args.high_radius}')
    if args.device:
        check_device(parser, args.device)
    if getattr(args, 'num_samples', 0) < 0:
        parser.error('--num-samples must be >= 0 (0: the whole split)')
    if getattr(args, 'batch_size', 1) < 1:
        parser.error('--batch-size must be >= 1')
    return args


def check_device(parser: argparse.ArgumentParser, device: str) -> None:
    """Exit through ``parser.error`` unless ``--device`` names a device
    this machine has."""
    try:
        parsed = torch.device(device)
    except RuntimeError as error:
        parser.error(f'--device {device}: {error}')
    if parsed.type == 'cuda':
        count = torch.cuda.device_count()
        if count == 0:
            parser.error(f'--device {device}: no CUDA device is available '
                         '(torch.cuda.is_available() is False); use '
                         '--device cpu')
        if parsed.index is not None and parsed.index >= count:
            parser.error(f'--device {device}: only {count} CUDA device(s) '
                         f'(cuda:0 to cuda:{count - 1})')
