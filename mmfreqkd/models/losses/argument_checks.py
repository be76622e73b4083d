"""Checks of the scalar arguments shared by the losses and the distillers:
each returns the value, or raises an error naming its owner and key."""
import math

from .feature_distances import REDUCTIONS


def check_weight(value: float, owner: str, key: str) -> float:
    """Return a weight as a float, raising unless it is a finite number >= 0.

    Args:
        value (float): The weight as configured.
        owner (str): What it configures (a class name or a config key), for
            the error message.
        key (str): Its argument or config key, for the error message.

    Returns:
        float: ``value``.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not 0 <= value < math.inf:
        raise ValueError(f'{owner}: {key} must be a finite number >= 0, got '
                         f'{value!r}')
    return float(value)


def check_reduction(reduction: str, owner: str) -> str:
    """Return ``reduction``, raising unless it is ``'mean'`` or ``'none'``."""
    if reduction not in REDUCTIONS:
        raise ValueError(f'{owner}: reduction must be one of {REDUCTIONS}, '
                         f'got {reduction!r}')
    return reduction


def check_temperature(temperature: float, owner: str) -> float:
    """Return a temperature as a float, raising unless it is a finite
    number > 0.

    Args:
        temperature (float): The temperature as configured.
        owner (str): The loss it configures, for the error message.

    Returns:
        float: ``temperature``.
    """
    if isinstance(temperature, bool) \
            or not isinstance(temperature, (int, float)) \
            or not 0 < temperature < math.inf:
        raise ValueError(f'{owner}: temperature must be a finite number > 0, '
                         f'got {temperature!r}')
    return float(temperature)
