"""Keep the frozen teacher's maps of each sample to skip its forward pass.

The teacher is frozen, so its maps of a sample depend only on the RGB
image it is given. When that image is fully determined by a few metainfo
fields of the data sample (which file, how it was resized, whether it was
flipped, how the batch was padded), the maps computed in one epoch can be
reused in the next ones. The cache key is built from those fields; a
pipeline that changes the RGB image in a way no field records (a random
crop without recorded offsets, photometric RGB augmentation) would make
two different teacher inputs share one key, so such pipelines are refused
by :meth:`TeacherFeatureCache.check_pipeline`.
"""
from typing import Dict, Hashable, List, Optional, Sequence, Tuple

import numpy as np
import torch

#: Metainfo fields that identify the RGB image, the first present is used.
IDENTITY_FIELDS = ('rgb_path', 'img_path')
#: Metainfo fields that, with the identity, determine the teacher input.
GEOMETRY_FIELDS = ('img_shape', 'scale_factor', 'flip', 'flip_direction',
                   'batch_input_shape')
#: Transforms that leave the RGB image alone or change it only in ways the
#: key records, whatever their position in the pipeline.
SAFE_TRANSFORMS = ('LoadPairedImageFromFile', 'LoadRGBTFromPNG',
                   'LoadAnnotations', 'PackPairedDetInputs',
                   'PackPairedSegInputs')
#: Geometric transforms whose effect on the RGB image ``img_shape``,
#: ``scale_factor``, ``flip`` and ``flip_direction`` record (inside
#: :class:`PairedGeometric`).
KEYED_GEOMETRIC = ('Resize', 'RandomResize', 'RandomChoiceResize',
                   'RandomFlip', 'Pad')
CACHE_DTYPES = (None, 'float32', 'bfloat16', 'float16')

Key = Tuple[Hashable, ...]
Feats = Tuple[torch.Tensor, ...]


def _hashable(value) -> Hashable:
    """Metainfo value as a hashable key part (arrays and lists to tuples)."""
    if isinstance(value, torch.Tensor):
        value = value.tolist()
    elif isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, (np.floating, np.integer, np.bool_)):
        return value.item()
    return value


def _transform_name(transform) -> str:
    """Registry name of a transform object or config dict."""
    if isinstance(transform, dict):
        kind = transform.get('type')
        return kind if isinstance(kind, str) else getattr(
            kind, '__name__', repr(kind))
    return type(transform).__name__


def _inner_transforms(wrapper) -> list:
    """The transforms wrapped by a PairedGeometric / ApplyToModality object
    (a ``Compose``) or config dict (a list)."""
    inner = wrapper['transforms'] if isinstance(wrapper, dict) \
        else wrapper.transforms
    return list(getattr(inner, 'transforms', inner))


def _attribute(transform, name: str, default=None):
    if isinstance(transform, dict):
        return transform.get(name, default)
    return getattr(transform, name, default)


class TeacherFeatureCache:
    """Per-sample store of teacher maps, keyed by the teacher's input.

    The key of a sample is ``(identity, img_shape, scale_factor, flip,
    flip_direction, batch_input_shape, *extra_key_fields)`` read from its
    metainfo, with ``identity`` its ``rgb_path`` (or ``img_path`` when the
    dataset has no separate RGB file). A field missing from the metainfo
    counts as None (e.g. ``flip`` in a pipeline without ``RandomFlip``);
    ``batch_input_shape`` (set by :class:`PairedDataPreprocessor`) is part of
    the key because the padding of the batch changes what the teacher sees.

    When valid: the teacher input must be a function of the key. That holds
    for pipelines made of loading, :class:`PairedGeometric` with resizes,
    flips and pads, any :class:`ApplyToModality` on the IR image, and
    packing (:meth:`check_pipeline` enforces it). It does not hold for
    random crops whose offsets are not in the key, photometric or other
    random transforms of the RGB image, or mixing transforms (mosaic, mixup);
    nor across a change of teacher weights or ``teacher_dtype``, which a
    cache never sees (it lives only as long as the process). With float32
    storage a cached map equals the recomputed one up to the rounding of
    running the sample in another batch.

    Memory: one entry holds every distilled map of one sample, e.g. the
    paper's ViT-L at 640x512 (5 maps of 1024 x 37 x 46) takes 35 MB in
    float32 and 17 MB in bfloat16. A random flip doubles the entries per
    image. Entries are added until ``max_items`` is reached, then misses are
    computed and not stored (with a shuffled sampler any fixed subset is as
    good as another, and nothing is copied in vain). Each process (GPU
    rank) has its own cache.

    Args:
        max_items (int): Maximum number of cached samples, > 0.
        device (str | torch.device): Where entries are kept. Defaults to
            ``'cpu'``.
        dtype (str, optional): Storage dtype, ``'float32'``, ``'bfloat16'``
            or ``'float16'``; None keeps the dtype the teacher returned
            (lossless). Defaults to None.
        extra_key_fields (Sequence[str]): More metainfo fields in the key,
            e.g. ``('homography_matrix',)`` with a packer that records it,
            which makes mmdet's ``RandomCrop`` cacheable (list it in
            ``safe_transforms`` too).
        safe_transforms (Sequence[str]): Transform names the user declares
            safe on top of the built-in list.
    """

    def __init__(self,
                 max_items: int,
                 device='cpu',
                 dtype: Optional[str] = None,
                 extra_key_fields: Sequence[str] = (),
                 safe_transforms: Sequence[str] = ()):
        if isinstance(max_items, bool) or not isinstance(max_items, int) \
                or max_items < 1:
            raise ValueError('model.teacher_feature_cache.max_items must be '
                             f'a positive int, got {max_items!r}')
        if dtype not in CACHE_DTYPES:
            raise ValueError('model.teacher_feature_cache.dtype must be one '
                             f'of {CACHE_DTYPES}, got {dtype!r}')
        self.max_items = max_items
        try:
            self.device = torch.device(device)
        except (RuntimeError, TypeError) as error:
            raise ValueError(
                'model.teacher_feature_cache.device must be a torch device '
                f"such as 'cpu' or 'cuda', got {device!r} "
                f'({str(error).splitlines()[0]})') from None
        self.dtype = None if dtype is None else getattr(torch, dtype)
        for key, names in (('extra_key_fields', extra_key_fields),
                           ('safe_transforms', safe_transforms)):
            if not isinstance(names, (list, tuple)) or not all(
                    isinstance(name, str) for name in names):
                raise TypeError(
                    f'model.teacher_feature_cache.{key} must be a list of '
                    f'names, got {names!r}')
        self.key_fields = GEOMETRY_FIELDS + tuple(extra_key_fields)
        self.safe_transforms = SAFE_TRANSFORMS + tuple(safe_transforms)
        self.pipeline_checked = False
        self.hits = 0
        self.misses = 0
        self._entries: Dict[Key, Feats] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        """Drop every entry and reset the hit / miss counters."""
        self._entries.clear()
        self.hits = self.misses = 0

    # -------------------------------------------------------------- keys
    def key(self, metainfo: dict) -> Key:
        """Cache key of one sample.

        Args:
            metainfo (dict): The data sample's metainfo.

        Returns:
            tuple: The identity followed by the key fields' values.
        """
        identity = next((metainfo[field] for field in IDENTITY_FIELDS
                         if metainfo.get(field) is not None), None)
        if identity is None:
            raise KeyError(
                'TeacherFeatureCache: a data sample has neither '
                f'{" nor ".join(IDENTITY_FIELDS)} in its metainfo (keys: '
                f'{sorted(metainfo)}); keep them in the meta_keys of the '
                'packing transform')
        return (identity, ) + tuple(
            _hashable(metainfo.get(field)) for field in self.key_fields)

    # ----------------------------------------------------------- storage
    def lookup(self, keys: Sequence[Key]) -> List[Optional[Feats]]:
        """Cached maps of each key (None for a miss); counts hits/misses.

        Returns:
            list: Per key, a tuple of (C, H, W) maps on the cache device, or
            None.
        """
        found = [self._entries.get(key) for key in keys]
        hits = sum(entry is not None for entry in found)
        self.hits += hits
        self.misses += len(found) - hits
        return found

    def store(self, keys: Sequence[Key], feats: Feats) -> None:
        """Store the maps of samples whose keys are not cached yet, while
        there is room.

        Args:
            keys (Sequence[tuple]): Key of each sample of the batch.
            feats (tuple[Tensor]): Teacher maps, each (B, C, H, W) with B =
                ``len(keys)``.
        """
        for index, key in enumerate(keys):
            if len(self._entries) >= self.max_items:
                return
            if key in self._entries:
                continue
            self._entries[key] = tuple(
                feat[index].detach().to(
                    device=self.device, dtype=self.dtype or feat.dtype,
                    copy=True) for feat in feats)

    # ---------------------------------------------------------- pipeline
    def check_pipeline(self, pipeline, where: str = 'pipeline') -> None:
        """Refuse a pipeline whose RGB image the key does not determine.

        Accepted: the transforms of :data:`SAFE_TRANSFORMS` and
        ``safe_transforms``; :class:`PairedGeometric` wrapping only
        :data:`KEYED_GEOMETRIC` (or declared safe) transforms;
        :class:`ApplyToModality` with ``modality='ir'``. A packing transform
        must keep the key fields in its ``meta_keys``. On success
        :attr:`pipeline_checked` is set.

        Args:
            pipeline: A ``Compose``, a list of transform objects, or a list
                of transform config dicts.
            where (str): Name of the pipeline in error messages, e.g.
                ``'train_dataloader.dataset.pipeline'``.

        Raises:
            ValueError: Naming the position and the transform at fault.
        """
        transforms = list(getattr(pipeline, 'transforms', pipeline))
        for position, transform in enumerate(transforms):
            self._check_transform(transform, f'{where}[{position}]')
        self.pipeline_checked = True

    def _check_transform(self, transform, where: str) -> None:
        name = _transform_name(transform)
        refuse = ('model.teacher_feature_cache cannot be used with '
                  f'{where} ({name}): ')
        if name == 'PairedGeometric':
            for position, inner in enumerate(_inner_transforms(transform)):
                inner_name = _transform_name(inner)
                if inner_name in KEYED_GEOMETRIC + self.safe_transforms:
                    continue
                raise ValueError(
                    refuse + f'it wraps {inner_name} (transforms[{position}])'
                    ', whose effect on the RGB image the cache key (file, '
                    'img_shape, scale_factor, flip, flip_direction) does not '
                    'record, e.g. the offsets of a random crop. Remove it, '
                    'or record its parameters in the metainfo and add them '
                    'to extra_key_fields and the transform to '
                    'safe_transforms.')
        elif name == 'ApplyToModality':
            if _attribute(transform, 'modality') != 'ir':
                raise ValueError(
                    refuse + 'it changes the RGB image (photometric '
                    'augmentation), so the teacher input differs at every '
                    'epoch; cached teacher maps would be stale. Disable the '
                    'cache or drop the RGB augmentation.')
        elif name not in self.safe_transforms:
            raise ValueError(
                refuse + 'the cache does not know whether it changes the RGB '
                'image. If it leaves img_rgb alone, or changes it only in '
                'ways the key records, list it in '
                'model.teacher_feature_cache.safe_transforms.')
        meta_keys = _attribute(transform, 'meta_keys')
        if name.startswith('Pack') and meta_keys is not None:
            missing = [
                field for field in self.key_fields
                if field != 'batch_input_shape' and field not in meta_keys
            ]
            if not any(field in meta_keys for field in IDENTITY_FIELDS):
                missing.append(' or '.join(IDENTITY_FIELDS))
            if missing:
                raise ValueError(
                    f'model.teacher_feature_cache: {where} ({name}) drops '
                    f'the key fields {missing} from the metainfo; add them '
                    'to its meta_keys.')
