"""Batching of paired RGB and infrared (IR) images."""
import math
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseDataPreprocessor
from mmengine.registry import MODELS
from mmengine.structures import BaseDataElement

from mmfreqkd.utils.value_types import is_real_number

MODALITIES = ('rgb', 'ir')


@MODELS.register_module()
class PairedDataPreprocessor(BaseDataPreprocessor):
    """Normalise, pad and batch paired RGB and IR images.

    Takes the collated output of :class:`PackPairedDetInputs` /
    :class:`PackPairedSegInputs`, ``inputs = dict(rgb=..., ir=...)`` where
    each modality is a list of ``(C, H, W)`` tensors (``pseudo_collate``) or
    a ``(B, C, H, W)`` tensor (``default_collate``), and returns::

        dict(inputs=dict(rgb=Tensor(B, 3, H, W), ir=Tensor(B, C_ir, H, W)),
             data_samples=data_samples)

    Both float32 tensors are on the model's device, in the same batch order,
    normalised with their own statistics, and padded at the bottom and right
    to the same ``(H, W)``: the largest height and width over all samples,
    rounded up to a multiple of ``pad_size_divisor``. The IR and RGB images
    of each sample must have the same height and width (they are compared
    pixel by pixel); a pair that differs is an error naming the sample index
    and its ``img_path`` / ``rgb_path`` (metainfo), not padded silently. The
    padded area holds ``pad_value`` (after normalisation, as in mmengine's
    ``ImgDataPreprocessor``).

    Channel order: images decoded by OpenCV are BGR. ``bgr_to_rgb`` reverses
    the channels of every three-channel image, the RGB image and a
    three-channel IR image alike (both come from the same decoder; for a grey
    IR image stored as three equal channels it changes nothing). A
    one-channel IR image is left as it is. ``rgb_mean`` / ``ir_mean`` and the
    stds are given in the order after conversion.

    Like mmdet's ``DetDataPreprocessor``, every data sample gets the metainfo
    ``batch_input_shape`` (the padded ``(H, W)`` of the batch) and
    ``pad_shape`` (its own ``(H, W)`` rounded up to ``pad_size_divisor``).
    Annotations (boxes, masks, segmentation maps) are left untouched.

    Args:
        rgb_mean (Sequence[float], optional): Per-channel mean of the RGB
            images (3 values). None (with ``rgb_std`` None) disables their
            normalisation. Defaults to None.
        rgb_std (Sequence[float], optional): Per-channel std of the RGB
            images. Defaults to None.
        ir_mean (Sequence[float], optional): Mean of the IR images: 1 value
            (applied to every channel) or 1 per channel. Defaults to None.
        ir_std (Sequence[float], optional): Std of the IR images, as
            ``ir_mean``. Defaults to None.
        bgr_to_rgb (bool): Reverse the channels of three-channel images.
            Defaults to True.
        pad_size_divisor (int): The padded height and width are multiples of
            it (14 is the patch size of DINOv2). Defaults to 14.
        pad_value (float): Value of the padded area. Defaults to 0.
        non_blocking (bool): Copy the data to the device without blocking.
            Defaults to False.
    """

    def __init__(self,
                 rgb_mean: Optional[Sequence[float]] = None,
                 rgb_std: Optional[Sequence[float]] = None,
                 ir_mean: Optional[Sequence[float]] = None,
                 ir_std: Optional[Sequence[float]] = None,
                 bgr_to_rgb: bool = True,
                 pad_size_divisor: int = 14,
                 pad_value: Union[float, int] = 0,
                 non_blocking: bool = False) -> None:
        super().__init__(non_blocking=non_blocking)
        if not isinstance(pad_size_divisor, int) or pad_size_divisor < 1:
            raise ValueError('PairedDataPreprocessor: pad_size_divisor must '
                             f'be a positive int, got {pad_size_divisor!r}')
        self.bgr_to_rgb = bgr_to_rgb
        self.pad_size_divisor = pad_size_divisor
        self.pad_value = pad_value
        self.normalize = {}
        for modality, mean, std, lengths in (('rgb', rgb_mean, rgb_std, (3, )),
                                             ('ir', ir_mean, ir_std, (1, 3))):
            self.normalize[modality] = self._register_stats(
                modality, mean, std, lengths)

    def _register_stats(self, modality: str, mean: Optional[Sequence[float]],
                        std: Optional[Sequence[float]],
                        lengths: Tuple[int, ...]) -> bool:
        """Check one modality's mean and std and register them as buffers
        ``{modality}_mean`` / ``{modality}_std`` of shape ``(C, 1, 1)``.

        Returns:
            bool: Whether the modality is normalised.
        """
        if (mean is None) != (std is None):
            raise ValueError(
                f'PairedDataPreprocessor: {modality}_mean and {modality}_std '
                'must both be given or both be None')
        if mean is None:
            return False
        for name, values in (('mean', mean), ('std', std)):
            if not isinstance(values, Sequence) or isinstance(values, str) \
                    or len(values) not in lengths:
                raise ValueError(
                    f'PairedDataPreprocessor: {modality}_{name} must have '
                    f'{" or ".join(map(str, lengths))} values, got {values}')
        for name, values in (('mean', mean), ('std', std)):
            if not all(is_real_number(value) and math.isfinite(value)
                       for value in values):
                raise ValueError(
                    f'PairedDataPreprocessor: {modality}_{name} must hold '
                    f'finite numbers, got {values}')
        if not all(value > 0 for value in std):
            raise ValueError(f'PairedDataPreprocessor: {modality}_std must be '
                             f'positive, got {std}')
        for name, values in (('mean', mean), ('std', std)):
            self.register_buffer(
                f'{modality}_{name}',
                torch.tensor(values, dtype=torch.float32).view(-1, 1, 1),
                persistent=False)
        return True

    @staticmethod
    def _as_list(images: Union[torch.Tensor, List[torch.Tensor]],
                 modality: str) -> List[torch.Tensor]:
        """Return the images of one modality as a list of ``(C, H, W)``."""
        if isinstance(images, torch.Tensor):
            if images.dim() != 4:
                raise ValueError(
                    f"PairedDataPreprocessor: inputs['{modality}'] must be "
                    f'(B, C, H, W), got shape {tuple(images.shape)}')
            return list(images)
        if not isinstance(images, (list, tuple)) or not images:
            raise TypeError(
                f"PairedDataPreprocessor: inputs['{modality}'] must be a "
                'non-empty list of (C, H, W) tensors or a (B, C, H, W) '
                f'tensor, got {type(images).__name__}')
        channels = set()
        for index, image in enumerate(images):
            if not isinstance(image, torch.Tensor) or image.dim() != 3:
                raise ValueError(
                    f"PairedDataPreprocessor: inputs['{modality}'][{index}] "
                    'must be a (C, H, W) tensor, got '
                    f'{getattr(image, "shape", type(image).__name__)}')
            channels.add(image.shape[0])
        if len(channels) > 1:
            raise ValueError(
                f"PairedDataPreprocessor: inputs['{modality}'] mixes channel "
                f'counts {sorted(channels)}')
        return list(images)

    def _batch(self, images: List[torch.Tensor], modality: str,
               size: Tuple[int, int]) -> torch.Tensor:
        """Stack, convert, normalise and pad the images of one modality.

        Images of one size (the usual case) are stacked, moved to the
        device in one copy and processed as one tensor; images of different
        sizes are copied one by one into the padded batch.

        Args:
            images (list[Tensor]): ``(C, h_i, w_i)`` images.
            modality (str): ``'rgb'`` or ``'ir'``.
            size (tuple[int, int]): Padded ``(H, W)``.

        Returns:
            Tensor: ``(B, C, H, W)`` float32 on the model's device.
        """
        channels = images[0].shape[0]
        if modality == 'rgb' and channels != 3:
            raise ValueError('PairedDataPreprocessor: RGB images must have 3 '
                             f'channels, got {channels}')
        height, width = size
        if all(image.shape == images[0].shape for image in images):
            batch = self.cast_data(torch.stack(images)).float()
            batch = self._convert_and_normalize(batch, modality)
            pad_h, pad_w = height - batch.shape[2], width - batch.shape[3]
            return F.pad(batch, (0, pad_w, 0, pad_h), value=self.pad_value)
        images = self.cast_data(images)
        batch = images[0].new_zeros((len(images), channels, height, width),
                                    dtype=torch.float32)
        for index, image in enumerate(images):
            batch[index, :, :image.shape[1], :image.shape[2]] = image
        batch = self._convert_and_normalize(batch, modality)
        heights = batch.new_tensor([image.shape[1] for image in images])
        widths = batch.new_tensor([image.shape[2] for image in images])
        rows = torch.arange(height, device=batch.device) < heights[:, None]
        cols = torch.arange(width, device=batch.device) < widths[:, None]
        valid = (rows[:, :, None] & cols[:, None, :])[:, None]
        return torch.where(valid, batch, batch.new_tensor(self.pad_value))

    def _convert_and_normalize(self, batch: torch.Tensor,
                               modality: str) -> torch.Tensor:
        """BGR to RGB and normalisation of a (B, C, H, W) float batch."""
        channels = batch.shape[1]
        if self.bgr_to_rgb and channels == 3:
            batch = batch.flip(1)
        if self.normalize[modality]:
            mean = getattr(self, f'{modality}_mean')
            std = getattr(self, f'{modality}_std')
            if mean.shape[0] not in (1, channels):
                raise ValueError(
                    f'PairedDataPreprocessor: {modality}_mean/std have '
                    f'{mean.shape[0]} values but the {modality} images have '
                    f'{channels} channels; give model.data_preprocessor.'
                    f'{modality}_mean and {modality}_std {channels} values '
                    '(or 1, shared by all channels)')
            batch = (batch - mean) / std
        return batch

    @staticmethod
    def _check_pairs_aligned(images: Dict[str, List[torch.Tensor]],
                             data_samples: Optional[Sequence]) -> None:
        """Raise unless the IR and RGB images of each sample have the same
        height and width.

        Args:
            images (dict[str, list[Tensor]]): ``(C, H, W)`` images of each
                modality, in batch order.
            data_samples (Sequence, optional): Data samples of the batch;
                their ``img_path`` / ``rgb_path`` metainfo, when present, is
                named in the error.

        Raises:
            ValueError: For the first sample whose two images differ in
                height or width.
        """
        for index, (rgb, ir) in enumerate(zip(images['rgb'], images['ir'])):
            if rgb.shape[1:] == ir.shape[1:]:
                continue
            where = ''
            if data_samples is not None and index < len(data_samples):
                metainfo = getattr(data_samples[index], 'metainfo', {})
                paths = [
                    f'{key}={metainfo[key]}'
                    for key in ('img_path', 'rgb_path') if key in metainfo
                ]
                if paths:
                    where = f' ({", ".join(paths)})'
            raise ValueError(
                f'PairedDataPreprocessor: sample {index}{where} has an IR '
                f'image of {tuple(ir.shape[1:])} (H, W) but an RGB image of '
                f'{tuple(rgb.shape[1:])}; the pair is no longer '
                'pixel-aligned. Apply geometric transforms to both images '
                'inside PairedGeometric')

    def _round_up(self, length: int) -> int:
        divisor = self.pad_size_divisor
        return math.ceil(length / divisor) * divisor

    def forward(self, data: dict, training: bool = False) -> Dict:
        """Build the paired batch.

        Args:
            data (dict): Collated data: ``inputs`` (dict with ``rgb`` and
                ``ir``) and optionally ``data_samples``.
            training (bool): Unused (no batch augmentation); kept for the
                interface of :class:`BaseDataPreprocessor`.

        Returns:
            dict: ``inputs = dict(rgb=Tensor(B, 3, H, W),
            ir=Tensor(B, C_ir, H, W))`` and ``data_samples``.
        """
        inputs = data['inputs']
        if not isinstance(inputs, dict) or set(inputs) != set(MODALITIES):
            found = (f'keys {sorted(inputs)}' if isinstance(inputs, dict) else
                     type(inputs).__name__)
            raise TypeError(
                "PairedDataPreprocessor: data['inputs'] must be a dict with "
                "keys 'rgb' and 'ir' (pack with PackPairedDetInputs / "
                f'PackPairedSegInputs), got {found}')
        images = {
            modality: self._as_list(inputs[modality], modality)
            for modality in MODALITIES
        }
        if len(images['rgb']) != len(images['ir']):
            raise ValueError(
                f'PairedDataPreprocessor: {len(images["rgb"])} RGB images but '
                f'{len(images["ir"])} IR images')
        self._check_pairs_aligned(images, data.get('data_samples'))
        all_images = images['rgb'] + images['ir']
        size = (self._round_up(max(image.shape[1] for image in all_images)),
                self._round_up(max(image.shape[2] for image in all_images)))
        batch = {
            modality: self._batch(images[modality], modality, size)
            for modality in MODALITIES
        }

        data_samples = self.cast_data(data.get('data_samples'))
        if data_samples is not None:
            for index, sample in enumerate(data_samples):
                if isinstance(sample, BaseDataElement):
                    image = images['ir'][index]
                    sample.set_metainfo(
                        dict(
                            batch_input_shape=size,
                            pad_shape=(self._round_up(image.shape[1]),
                                       self._round_up(image.shape[2]))))
        return dict(inputs=batch, data_samples=data_samples)
