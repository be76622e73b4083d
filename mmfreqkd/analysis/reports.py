"""JSON, CSV and text tables of the analysis results."""
import csv
import json
import math
import os
import os.path as osp
from typing import Any, List

from .radial_bands import BANDS
from .spectral_divergence import DIVERGENCE_METRICS


def json_ready(value: Any) -> Any:
    """Plain JSON types: tuples to lists, non-finite floats to None."""
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def save_json(results: dict, path: str) -> None:
    """Write ``results`` as indented, strict JSON (NaN / inf become null)."""
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'w') as f:
        json.dump(json_ready(results), f, indent=2, allow_nan=False)
        f.write('\n')


def _write_csv(rows: List[dict], path: str) -> None:
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def divergence_rows(results: dict) -> List[dict]:
    """One row per block and metric, then the block averages.

    Args:
        results (dict): Output of :meth:`SpectralDivergence.compute`.

    Returns:
        list[dict]: Keys ``block``, ``metric``, the bands (means),
        ``high_low_ratio`` and the bands' standard deviations over samples
        (``<band>_std``, empty for the averages).
    """
    rows = []
    for name, block in results['blocks'].items():
        for metric in DIVERGENCE_METRICS:
            rows.append(
                dict(
                    block=name,
                    metric=metric,
                    **{band: block['mean'][metric][band]
                       for band in BANDS},
                    high_low_ratio=block['high_low_ratio'][metric],
                    **{f'{band}_std': block['std'][metric][band]
                       for band in BANDS}))
    average = results['average']
    for metric in DIVERGENCE_METRICS:
        rows.append(
            dict(
                block='average',
                metric=metric,
                **{band: average['mean'][metric][band]
                   for band in BANDS},
                high_low_ratio=average['high_low_ratio'][metric],
                **{f'{band}_std': ''
                   for band in BANDS}))
    return rows


def save_divergence_csv(results: dict, path: str) -> None:
    """Write :func:`divergence_rows` as CSV."""
    _write_csv(divergence_rows(results), path)


def cka_rows(results: dict) -> List[dict]:
    """One row per block (``block`` and the bands), then ``average``."""
    rows = [
        dict(block=name, **block['cka'])
        for name, block in results['blocks'].items()
    ]
    rows.append(dict(block='average', **results['average']['cka']))
    return rows


def save_cka_csv(results: dict, path: str) -> None:
    """Write :func:`cka_rows` as CSV."""
    _write_csv(cka_rows(results), path)


def _format(value: float) -> str:
    return f'{value:.4g}' if math.isfinite(value) else str(value)


def _table(header: List[str], rows: List[List[str]]) -> str:
    widths = [
        max(len(str(row[i])) for row in [header] + rows)
        for i in range(len(header))
    ]
    lines = []
    for row in [header] + rows:
        lines.append('  '.join(
            str(cell).ljust(width) if i < 2 else str(cell).rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths))))
    lines.insert(1, '-' * len(lines[0]))
    return '\n'.join(lines)


def format_divergence_table(results: dict) -> str:
    """Text table of the divergences, with the ratios of the averages.

    Args:
        results (dict): Output of :meth:`SpectralDivergence.compute`.

    Returns:
        str: The table; its last line gives the mean of the per-block
        ratios.
    """
    header = ['block', 'metric', *BANDS, 'high/low']
    rows = [[
        row['block'], row['metric'], *(_format(row[band]) for band in BANDS),
        _format(row['high_low_ratio'])
    ] for row in divergence_rows(results)]
    mean_ratio = results['average']['mean_block_ratio']
    footer = 'mean of per-block high/low ratios: ' + ', '.join(
        f'{metric} {_format(mean_ratio[metric])}'
        for metric in DIVERGENCE_METRICS)
    return _table(header, rows) + '\n' + footer


def format_cka_table(results: dict) -> str:
    """Text table of linear CKA per block and band.

    Args:
        results (dict): Output of :meth:`LinearCKA.compute`.

    Returns:
        str: The table.
    """
    header = ['block', *BANDS]
    rows = [[row['block'], *(_format(row[band]) for band in BANDS)]
            for row in cka_rows(results)]
    return _table(header, rows)
