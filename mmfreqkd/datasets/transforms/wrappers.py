"""Transform wrappers for an IR image (``img``) paired with an RGB image.

:class:`PairedGeometric` applies geometric transforms identically to both
images, :class:`ApplyToModality` applies (photometric) transforms to one of
them only.

Why not :class:`mmcv.transforms.TransformBroadcaster`: it runs the wrapped
transforms once per image on a copy of the whole results dict, so boxes,
masks and segmentation maps are transformed once per image unless each of
them is mapped to ``[key, ...]``, and its output remapping drops every key
the mapping does not name (``scale_factor``, ``flip``, ``img_shape``, ...),
so a config has to list every key each wrapped transform reads or writes.
The wrappers here rely on the same mechanism for shared randomness
(:func:`mmcv.transforms.utils.cache_random_params`), but run the full
results dict once (IR image and annotations) and a reduced dict without
annotations (per-instance ones emptied on demand) for the RGB image.
"""
import functools
import random
from collections.abc import Iterable
from typing import Callable, Dict, Iterator, List, Optional, Union

import numpy as np
import torch
from mmcv.transforms import BaseTransform, Compose
from mmcv.transforms.utils import cache_random_params
from mmengine.registry import TRANSFORMS

from .loading import RGB_KEY

Transform = Union[dict, Callable[[dict], Optional[dict]]]

#: Results keys that hold annotations rather than image meta information.
_ANNOTATION_PREFIX = 'gt_'
_ANNOTATION_KEYS = ('proposals', 'proposals_scores')
#: Per-instance annotations the RGB pass may see emptied (``value[:0]``).
_INSTANCE_KEYS = ('gt_bboxes', 'gt_bboxes_labels', 'gt_ignore_flags',
                  'gt_masks', 'gt_instances_ids', 'proposals',
                  'proposals_scores')


#: Meta keys that only geometric transforms write (mmcv / mmdet / mmseg /
#: mmpretrain ``RandomFlip``, ``Resize``, ``RandomCrop``, ``RandomAffine``,
#: ``Pad``, ...). :class:`ApplyToModality` refuses a wrapped transform that
#: writes any of them, even with an unchanged value.
_GEOMETRIC_META_KEYS = ('flip', 'flip_direction', 'homography_matrix',
                        'scale_factor', 'crop_bbox', 'pad_shape',
                        'pad_fixed_size', 'pad_size_divisor')
#: Meta keys that photometric transforms may rewrite (e.g. mmdet ``Albu``
#: sets ``img_shape``): :class:`ApplyToModality` refuses a change of value.
_SHAPE_META_KEYS = ('img_shape', )


def _is_annotation_key(key: str) -> bool:
    return key.startswith(_ANNOTATION_PREFIX) or key in _ANNOTATION_KEYS


def _is_geometric_key(key: str) -> bool:
    """Whether a geometric transform would set or change ``key`` (meta
    information on the geometry, or an annotation)."""
    return (key in _GEOMETRIC_META_KEYS or key in _SHAPE_META_KEYS
            or _is_annotation_key(key))


class _WatchedView(dict):
    """Results dict of :class:`ApplyToModality` that records the keys
    written to it (``view[key] = ...`` and ``view.update(...)``).

    Args:
        results (dict): The keys of the view.
    """

    def __init__(self, results: dict) -> None:
        super().__init__(results)
        self.written = set()

    def __setitem__(self, key, value) -> None:
        self.written.add(key)
        super().__setitem__(key, value)

    def update(self, *args, **kwargs) -> None:
        other = dict(*args, **kwargs)
        self.written.update(other)
        super().update(other)


def _snapshot(value):
    """A copy of ``value`` that an in-place change of ``value`` (e.g. mmdet
    boxes ``flip_``) does not affect: arrays, tensors and mmdet boxes (their
    ``tensor``) are copied, sequences copied element-wise, other objects
    kept as they are (compared by identity or ``==``)."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, torch.Tensor):
        return value.clone()
    tensor = getattr(value, 'tensor', None)  # mmdet BaseBoxes
    if isinstance(tensor, torch.Tensor):
        return type(value), tensor.clone()
    if isinstance(value, (list, tuple)):
        return tuple(_snapshot(item) for item in value)
    return value


def _same_snapshot(first, second) -> bool:
    """Whether two :func:`_snapshot` results hold the same value."""
    if first is second:
        return True
    if isinstance(first, np.ndarray) or isinstance(second, np.ndarray):
        return (isinstance(first, np.ndarray)
                and isinstance(second, np.ndarray)
                and first.shape == second.shape
                and np.array_equal(first, second))
    if isinstance(first, torch.Tensor) or isinstance(second, torch.Tensor):
        return (isinstance(first, torch.Tensor)
                and isinstance(second, torch.Tensor)
                and first.shape == second.shape
                and torch.equal(first, second))
    if isinstance(first, tuple) and isinstance(second, tuple):
        return len(first) == len(second) and all(
            _same_snapshot(a, b) for a, b in zip(first, second))
    try:
        return bool(first == second)
    except Exception:  # no (boolean) equality
        return False


def _walk_transforms(transforms) -> Iterator[BaseTransform]:
    """Every transform of ``transforms``, nested ones included, exactly as
    :func:`~mmcv.transforms.utils.cache_random_params` traverses them (by
    iteration, unlike :func:`~mmfreqkd.datasets.nested_transforms.
    nested_transforms`): only the transforms it caches may be guarded."""
    if isinstance(transforms, BaseTransform):
        yield transforms
    if isinstance(transforms, Iterable):
        for transform in transforms:
            yield from _walk_transforms(transforms=transform)


def _refuse_repeated_draws(transforms, calls: Dict[str, int]) -> None:
    """Make the cached random methods of ``transforms`` raise when called a
    second time within one transform call.

    Under :func:`~mmcv.transforms.utils.cache_random_params` every call
    returns the first draw, so a transform that draws again until a
    condition holds (mmdet ``MinIoURandomCrop`` redraws its IoU mode) would
    loop forever; mmcv itself only objects once the transform returns. Call
    it inside ``cache_random_params``, which puts the original methods back
    on exit, and clear ``calls`` before each transform call.

    Args:
        transforms: A transform or an iterable of them (e.g. ``Compose``).
        calls (dict[str, int]): Call counts by method, shared with the
            caller.
    """

    def guard(transform, name):
        method = getattr(transform, name)
        key = f'{id(transform)}.{name}'

        @functools.wraps(method)
        def guarded(*args, **kwargs):
            calls[key] = calls.get(key, 0) + 1
            if calls[key] > 1:
                raise RuntimeError(
                    f'PairedGeometric: {transform!r} calls its random method '
                    f'{name}() more than once for one sample (a retry loop); '
                    'with the random parameters shared between the two '
                    'images every call returns the first draw, so it would '
                    'never end: it cannot be wrapped')
            return method(*args, **kwargs)

        setattr(transform, name, guarded)

    for transform in _walk_transforms(transforms):
        for name in getattr(transform, '_methods_with_randomness', ()):
            guard(transform, name)


def _keep_channel_axis(before, after):
    """Restore the channel axis of a single-channel image.

    OpenCV returns ``(H, W)`` when given ``(H, W, 1)`` (resize, pad,
    colour ops), which would silently change the layout of a one-channel IR
    image. Images that are not numpy arrays (e.g. the PIL images between
    mmpretrain ``NumpyToPIL`` and ``PILToNumpy``) are returned unchanged.

    Args:
        before (np.ndarray | Any): Image given to a transform.
        after (np.ndarray | Any): Image the transform returned.

    Returns:
        np.ndarray | Any: ``after``, ``(H, W, 1)`` if ``before`` was
        ``(H, W, 1)`` and ``after`` is ``(H, W)``.
    """
    if (isinstance(before, np.ndarray) and isinstance(after, np.ndarray)
            and before.ndim == 3 and after.ndim == 2):
        return after[..., None]
    return after


def _check_numpy_image(image, wrapper: str, transform, what: str) -> None:
    """Raise ``TypeError`` unless ``image`` is a numpy array."""
    if not isinstance(image, np.ndarray):
        raise TypeError(
            f'{wrapper}: after {transform!r} the {what} image is a '
            f'{type(image).__module__}.{type(image).__qualname__}, but '
            f'{wrapper} needs numpy images at its output; end the wrapped '
            'transforms with one returning a numpy array (e.g. mmpretrain '
            'PILToNumpy after NumpyToPIL)')


def _global_rng_state() -> tuple:
    """Return a snapshot of the numpy, Python and torch (CPU) global RNGs.

    Compare two snapshots with :func:`_same_rng_state`.
    """
    _, keys, pos, has_gauss, cached_gauss = np.random.get_state()
    return (keys.tobytes(), pos, has_gauss, cached_gauss, random.getstate(),
            torch.random.get_rng_state())


def _same_rng_state(first: tuple, second: tuple) -> bool:
    """Whether two :func:`_global_rng_state` snapshots are equal."""
    return first[:-1] == second[:-1] and torch.equal(first[-1], second[-1])


class _RGBView(dict):
    """Results dict of the RGB pass of :class:`PairedGeometric`.

    Annotation keys are absent (``in`` is ``False``, ``get`` returns the
    default), so transforms that check for annotations skip them, e.g. mmdet
    ``RandomCrop`` does not drop a crop without boxes. Transforms that index
    per-instance annotations unconditionally (e.g. mmdet ``RandomAffine``
    reads ``results['gt_bboxes']``) get an empty (zero-row) version of the
    annotation of the IR results, ``value[:0]`` (boxes, labels, ignore
    flags, masks, ...); other keys (e.g. ``gt_seg_map``) raise ``KeyError``.

    Args:
        view (dict): The keys of the RGB pass.
        annotations (dict): The current IR results; their annotation keys
            are looked up on a missing key.
    """

    def __init__(self, view: dict, annotations: dict) -> None:
        super().__init__(view)
        self._annotations = annotations

    def __missing__(self, key):
        if key not in _INSTANCE_KEYS or key not in self._annotations:
            raise KeyError(key)
        value = self._annotations[key]
        if value is None:
            return None
        try:
            empty = value[:0]
        except Exception:  # not sliceable (a dict, a scalar, ...)
            raise KeyError(key) from None
        if empty is None or len(empty) != 0:
            raise KeyError(key)
        return empty


@TRANSFORMS.register_module()
class PairedGeometric(BaseTransform):
    """Apply geometric transforms identically to the IR and the RGB image.

    Each wrapped transform runs twice with shared random parameters: first on
    ``results`` (IR image in ``img``, annotations, meta information), then on
    a view of ``results`` that holds the RGB image as ``img`` and the meta
    keys but no annotation: keys starting with ``gt_`` and ``proposals`` are
    absent (``key in results`` is ``False``, ``results.get(key)`` returns the
    default) and ``seg_fields`` is emptied, so e.g. mmdet ``RandomCrop``
    neither filters boxes nor drops the RGB crop. A transform that indexes a
    per-instance annotation unconditionally (``gt_bboxes``,
    ``gt_bboxes_labels``, ``gt_ignore_flags``, ``gt_masks``,
    ``gt_instances_ids``, ``proposals``; e.g. mmdet ``RandomAffine``) gets
    an empty (zero-row) copy of the IR one, ``value[:0]``; any other
    annotation (e.g. ``gt_seg_map``) raises a ``KeyError`` naming the
    transform. Boxes, masks and segmentation maps are thus transformed
    exactly once, the meta keys (``img_shape``, ``scale_factor``, ``flip``,
    ...) come from the IR pass, and only the RGB image is kept from the RGB
    pass.

    Random parameters are shared through mmcv's
    :func:`~mmcv.transforms.utils.cache_random_params`: methods decorated with
    ``@cache_randomness`` return in the RGB pass what they returned in the IR
    pass. This covers, e.g., ``Resize``, ``RandomResize``, ``RandomFlip``,
    ``RandomCrop``, ``RandomAffine`` and ``Pad`` of MMDetection,
    MMSegmentation and mmcv. A transform that draws from numpy's, Python's or
    torch's (CPU) global random generator outside such a method (e.g. mmdet
    ``MinIoURandomCrop``, mmpretrain ``torchvision/RandomResizedCrop``) would
    give the two images different geometry: it is detected (the RGB pass
    must not draw any random number) and raises ``RuntimeError``, as does a
    transform decorated with ``@avoid_cache_randomness`` and one that calls
    a cached method twice for one sample (a retry loop, e.g. mmdet
    ``MinIoURandomCrop`` when its first crops fail, which would otherwise
    redraw the same value forever).

    Intermediate images may be other than numpy arrays (e.g. PIL images
    between mmpretrain ``NumpyToPIL`` and ``PILToNumpy``), but the last
    wrapped transform must return numpy arrays, else ``TypeError``.

    Required keys: ``img`` (IR), ``img_rgb`` (RGB) of the same height and
    width, plus whatever the wrapped transforms require.

    Modified keys: ``img``, ``img_rgb`` and whatever the wrapped transforms
    modify.

    Args:
        transforms (list[dict | callable]): Geometric transforms (configs or
            objects), applied in order.

    Example:
        >>> dict(type='PairedGeometric', transforms=[
        ...     dict(type='Resize', scale=(640, 512), keep_ratio=True),
        ...     dict(type='RandomFlip', prob=0.5)])
    """

    def __init__(self, transforms: List[Transform]) -> None:
        self.transforms = Compose(transforms)

    def _rgb_view(self, results: dict) -> dict:
        """Copy of ``results`` with the RGB image as ``img`` and no
        annotations."""
        view = {
            key: value
            for key, value in results.items()
            if key != RGB_KEY and not _is_annotation_key(key)
        }
        view['img'] = results[RGB_KEY]
        if 'seg_fields' in view:
            view['seg_fields'] = []
        return view

    def transform(self, results: dict) -> Optional[dict]:
        """Apply the wrapped transforms to both images.

        Args:
            results (dict): Results with ``img`` (IR) and ``img_rgb``.

        Returns:
            dict | None: The transformed results, or ``None`` when a wrapped
            transform drops the sample (e.g. a crop without boxes).
        """
        if RGB_KEY not in results:
            raise KeyError(
                f"PairedGeometric: results have no '{RGB_KEY}' (RGB "
                'image); load the pair with LoadPairedImageFromFile or '
                'LoadRGBTFromPNG(with_rgb=True)')
        ir_size = results['img'].shape[:2]
        rgb_size = results[RGB_KEY].shape[:2]
        if ir_size != rgb_size:
            raise ValueError(
                f'PairedGeometric: IR image {results.get("img_path")} is '
                f'{ir_size} (H, W) but its RGB pair '
                f'{results.get("rgb_path")} is {rgb_size}; load pairs with '
                'resize_rgb_to_ir=True')

        rgb_view = self._rgb_view(results)
        draws: Dict[str, int] = {}
        with cache_random_params(self.transforms):
            _refuse_repeated_draws(self.transforms, draws)
            for index, transform in enumerate(self.transforms):
                ir_before = results['img']
                draws.clear()
                results = transform(results)
                if results is None:
                    return None
                results['img'] = _keep_channel_axis(ir_before, results['img'])

                rng_state = _global_rng_state()
                rgb_before = rgb_view['img']
                draws.clear()
                try:
                    rgb_view = transform(_RGBView(rgb_view, results))
                except KeyError as error:
                    key = error.args[0] if error.args else None
                    if not (isinstance(key, str) and _is_annotation_key(key)):
                        raise
                    raise KeyError(
                        f'PairedGeometric: transforms[{index}] '
                        f'({type(transform).__name__}) reads the annotation '
                        f"'{key}' in the RGB pass, which has none (only "
                        'per-instance annotations are given to it, emptied); '
                        'it cannot be wrapped') from error
                if not _same_rng_state(_global_rng_state(), rng_state):
                    raise RuntimeError(
                        f'PairedGeometric: {transform!r} draws random numbers '
                        '(numpy, Python or torch) outside methods decorated '
                        'with @cache_randomness, so the RGB image cannot get '
                        'the geometry of the IR image; it cannot be wrapped')
                if rgb_view is None:
                    raise RuntimeError(
                        f'PairedGeometric: {transform!r} dropped the RGB '
                        'image but not the IR image')
                rgb_view['img'] = _keep_channel_axis(rgb_before,
                                                     rgb_view['img'])
                ir_image, rgb_image = results['img'], rgb_view['img']
                if (isinstance(ir_image, np.ndarray)
                        and isinstance(rgb_image, np.ndarray)
                        and ir_image.shape[:2] != rgb_image.shape[:2]):
                    raise RuntimeError(
                        f'PairedGeometric: after {transform!r} the IR image '
                        f'is {ir_image.shape[:2]} but the RGB image is '
                        f'{rgb_image.shape[:2]}')
        if len(self.transforms.transforms):
            _check_numpy_image(results['img'], 'PairedGeometric', transform,
                               'IR')
            _check_numpy_image(rgb_view['img'], 'PairedGeometric',
                               transform, 'RGB')
        results[RGB_KEY] = rgb_view['img']
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(transforms={self.transforms})'


@TRANSFORMS.register_module()
class ApplyToModality(BaseTransform):
    """Apply transforms to the image of one modality only.

    Meant for photometric transforms (colour jitter, blur, noise) that should
    change the RGB image but not the IR image, or the reverse. The wrapped
    transforms see the chosen image as ``img`` together with the other keys
    of ``results``; only the image is written back. They must keep the
    geometry of the image, since the other image and the annotations do not
    follow: a transform that changes the image size, writes geometric meta
    information (``flip``, ``flip_direction``, ``homography_matrix``,
    ``scale_factor``, ``crop_bbox``, ``pad_shape``, ...), changes
    ``img_shape`` or changes an annotation (``gt_bboxes``, ``gt_masks``,
    ``gt_seg_map``, ...) is refused with a ``RuntimeError`` naming it (e.g. a
    ``RandomFlip``, which keeps the size); geometric transforms belong in
    :class:`PairedGeometric`.

    Required keys: ``img`` (IR) and, for ``modality='rgb'``, ``img_rgb``.

    Modified keys: ``img`` (``modality='ir'``) or ``img_rgb``
    (``modality='rgb'``).

    Args:
        transforms (list[dict | callable]): Transforms (configs or objects).
        modality (str): ``'rgb'`` or ``'ir'``.
    """

    def __init__(self, transforms: List[Transform], modality: str) -> None:
        if modality not in ('rgb', 'ir'):
            raise ValueError(
                f"ApplyToModality: modality must be 'rgb' or 'ir', got "
                f'{modality!r}')
        self.transforms = Compose(transforms)
        self.modality = modality

    def transform(self, results: dict) -> Optional[dict]:
        """Apply the wrapped transforms to the chosen image.

        Args:
            results (dict): Results with ``img`` and ``img_rgb``.

        Returns:
            dict | None: ``results`` with the chosen image replaced, or
            ``None`` when a wrapped transform drops the sample.
        """
        key = RGB_KEY if self.modality == 'rgb' else 'img'
        if key not in results:
            raise KeyError(
                f"ApplyToModality(modality='{self.modality}'): results have "
                f"no '{key}'")
        image = results[key]
        view: Dict = _WatchedView(results)
        view['img'] = image
        for index, transform in enumerate(self.transforms.transforms):
            view = self._apply_one(view, index, transform, results)
            if view is None:
                return None
        transformed = _keep_channel_axis(image, view['img'])
        _check_numpy_image(transformed, 'ApplyToModality', self.transforms,
                           self.modality)
        if transformed.shape[:2] != image.shape[:2]:
            raise RuntimeError(
                f'ApplyToModality: {self.transforms!r} changed the '
                f'{self.modality} image size from {image.shape[:2]} to '
                f'{transformed.shape[:2]}; geometric transforms belong in '
                'PairedGeometric')
        results[key] = transformed
        return results

    def _apply_one(self, view: dict, index: int, transform: Callable,
                   results: dict) -> Optional[dict]:
        """Run one wrapped transform on the view; refuse it if it changed
        the geometry (even keeping the size, e.g. a flip).

        Args:
            view (_WatchedView): Results the transform gets, the chosen
                image as ``img``.
            index (int): Position of the transform in ``transforms``.
            transform (callable): The transform.
            results (dict): The results given to :meth:`transform`, for the
                file names in errors.

        Returns:
            dict | None: The transformed view (a :class:`_WatchedView`), or
            ``None`` when the transform drops the sample.

        Raises:
            RuntimeError: When the transform wrote a geometric meta key
                (``flip``, ``scale_factor``, ...) or changed ``img_shape`` or
                an annotation (also in place, e.g. mmdet boxes ``flip_``).
        """
        before = {
            name: _snapshot(value)
            for name, value in view.items() if _is_geometric_key(name)
        }
        view.written.clear()
        out = transform(view)
        if out is None:
            return None
        written = out.written if out is view else set()
        changed = sorted(
            name for name in set(out) | set(before)
            if _is_geometric_key(name) and (
                (name in _GEOMETRIC_META_KEYS and name in written)
                or (name in before) != (name in out) or
                (name in before
                 and not _same_snapshot(before[name], _snapshot(out[name])))))
        if changed:
            raise RuntimeError(
                f'ApplyToModality(modality={self.modality!r}): '
                f'transforms[{index}] {transform!r} changed the geometry of '
                f'the {self.modality} image of {results.get("img_path")} '
                f'(it set or changed {changed}), which would leave the '
                'other image and the annotations out of step; geometric '
                'transforms (RandomFlip, Resize, RandomCrop, ...) belong in '
                'PairedGeometric, which applies them to both images')
        return out if isinstance(out, _WatchedView) else _WatchedView(out)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(transforms={self.transforms}, '
                f"modality='{self.modality}')")
