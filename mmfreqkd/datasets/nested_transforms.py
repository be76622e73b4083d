"""Walk a pipeline and the transforms its wrappers hold."""
from typing import Iterator


def nested_transforms(transform) -> Iterator[object]:
    """``transform`` and every transform it wraps, at any depth.

    Args:
        transform: A transform, a ``Compose`` or a list of transforms;
            wrappers hold theirs in ``transforms`` (mmcv's ``Compose``,
            ``RandomChoice``, ``RandomApply``, ``KeyMapper``, mmfreqkd's
            ``PairedGeometric``, ``ApplyToModality``).

    Yields:
        The transforms, outermost first.
    """
    if isinstance(transform, (list, tuple)):
        inner = transform
    else:
        yield transform
        inner = getattr(transform, 'transforms', None) or ()
    for item in inner:
        yield from nested_transforms(item)
