"""What every benchmark records besides its table: the machine it ran on
and, with ``--json``, a file holding the whole report; and the number
format of the tables."""
import json
import os
import platform
from typing import Union

import torch


def machine_info(device: Union[str, torch.device]) -> dict:
    """Processor, threads, versions and load average of this machine.

    Args:
        device (str | torch.device): The device benchmarked, e.g. ``'cpu'``
            or ``'cuda:1'`` (its GPU is named).

    Returns:
        dict: ``device``, ``torch``, ``python``, ``platform``, ``threads``
        (CPU runs), ``cpu_count``, ``cpu`` (model name), ``gpu`` (CUDA runs)
        and ``load_average_before`` (1, 5 and 15 minutes); callers add
        ``load_average_after`` when done.
    """
    device = torch.device(device)
    info = dict(
        device=str(device), torch=torch.__version__,
        python=platform.python_version(), platform=platform.platform(),
        threads=torch.get_num_threads() if device.type == 'cpu' else None,
        cpu_count=os.cpu_count(),
        gpu=torch.cuda.get_device_name(device)
        if device.type == 'cuda' else None,
        load_average_before=list(os.getloadavg()))
    try:
        with open('/proc/cpuinfo') as cpuinfo:
            info['cpu'] = next(line.split(':', 1)[1].strip()
                               for line in cpuinfo
                               if line.startswith('model name'))
    except (OSError, StopIteration):
        info['cpu'] = platform.processor()
    return info


def write_report(report: dict, path: str) -> None:
    """Write ``report`` as indented JSON to ``path``, creating its folder."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, 'w') as file:
        json.dump(report, file, indent=2)
    print(f'\nwrote {path}')


def fmt(value, spec='.1f') -> str:
    """``value`` formatted with ``spec``, ``'n/a'`` for None."""
    return 'n/a' if value is None else format(value, spec)
