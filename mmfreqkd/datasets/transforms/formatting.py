"""Packing of an IR image with its RGB pair into model inputs, for
detection (MMDetection), segmentation (MMSegmentation) and classification
(MMPretrain)."""
import numpy as np
import torch
from mmcv.transforms import to_tensor
from mmdet.datasets.transforms import PackDetInputs
from mmdet.registry import TRANSFORMS as MMDET_TRANSFORMS
from mmpretrain.datasets.transforms import PackInputs
from mmpretrain.registry import TRANSFORMS as MMPRETRAIN_TRANSFORMS
from mmseg.datasets.transforms import PackSegInputs
from mmseg.registry import TRANSFORMS as MMSEG_TRANSFORMS

from .loading import RGB_KEY

#: Meta keys of paired samples added to those of the parent packers.
PAIRED_META_KEYS = ('rgb_path', 'is_night')


def image_to_chw_tensor(img: np.ndarray) -> torch.Tensor:
    """Convert an ``(H, W)`` or ``(H, W, C)`` image to a contiguous
    ``(C, H, W)`` tensor of the same dtype.

    Args:
        img (np.ndarray): The image.

    Returns:
        torch.Tensor: ``(C, H, W)``, ``C = 1`` for an ``(H, W)`` image.
    """
    if img.ndim == 2:
        img = img[..., None]
    if not img.flags.c_contiguous:
        return to_tensor(np.ascontiguousarray(img.transpose(2, 0, 1)))
    return to_tensor(img).permute(2, 0, 1).contiguous()


def _pair_inputs(packed: dict, results: dict, packer: str) -> dict:
    """Replace ``packed['inputs']`` (the IR tensor) by ``dict(ir=, rgb=)``.

    Args:
        packed (dict): Output of the parent packer, ``inputs`` the IR tensor.
        results (dict): The results it packed, with ``img`` (IR) and
            ``img_rgb``.
        packer (str): Name of the packing transform, for error messages.

    Returns:
        dict: ``packed`` with ``inputs = dict(ir=..., rgb=...)``.

    Raises:
        KeyError: When ``img`` or ``img_rgb`` is missing.
        ValueError: When the IR and RGB images differ in height or width
            (they are no longer pixel-aligned), naming both files.
    """
    missing = [key for key in ('img', RGB_KEY) if key not in results]
    if missing:
        raise KeyError(
            f'{packer}: results of {results.get("img_path")} have no '
            f'{missing} (IR image in img, RGB image in img_rgb); load the '
            'pair with LoadPairedImageFromFile or '
            'LoadRGBTFromPNG(with_rgb=True)')
    ir_size = tuple(getattr(results['img'], 'shape', ())[:2])
    rgb_size = tuple(getattr(results[RGB_KEY], 'shape', ())[:2])
    if ir_size != rgb_size:
        raise ValueError(
            f'{packer}: the IR image {results.get("img_path")} is {ir_size} '
            f'(H, W) but its RGB pair {results.get("rgb_path")} is '
            f'{rgb_size}, so they are no longer pixel-aligned; geometric '
            'transforms (Resize, RandomFlip, RandomCrop, Pad, ...) belong '
            'inside PairedGeometric, which applies them to both images, and '
            'pairs stored at different sizes are loaded with '
            'LoadPairedImageFromFile(resize_rgb_to_ir=True)')
    packed['inputs'] = dict(
        ir=packed['inputs'], rgb=image_to_chw_tensor(results[RGB_KEY]))
    return packed


@MMDET_TRANSFORMS.register_module()
class PackPairedDetInputs(PackDetInputs):
    """Pack a paired sample for detection.

    As :class:`mmdet.datasets.transforms.PackDetInputs`, but ``inputs`` is
    ``dict(ir=Tensor(C_ir, H, W), rgb=Tensor(3, H, W))`` (dtype of the
    images, uint8 by default) instead of one tensor. The two images must
    have the same height and width (else ``ValueError`` naming both files):
    apply geometric transforms inside :class:`PairedGeometric`.

    Args:
        meta_keys (Sequence[str]): Results keys copied to the metainfo of the
            :class:`~mmdet.structures.DetDataSample` when present. Defaults
            to those of ``PackDetInputs`` plus ``rgb_path`` and ``is_night``.
    """

    def __init__(self,
                 meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                            'scale_factor', 'flip', 'flip_direction') +
                 PAIRED_META_KEYS) -> None:
        super().__init__(meta_keys=meta_keys)

    def transform(self, results: dict) -> dict:
        """Pack the images, annotations and meta information.

        Args:
            results (dict): Results of the pipeline, with ``img`` (IR) and
                ``img_rgb``.

        Returns:
            dict: ``inputs`` (dict with ``ir`` and ``rgb``) and
            ``data_samples`` (:class:`~mmdet.structures.DetDataSample`).
        """
        return _pair_inputs(
            super().transform(results), results, type(self).__name__)


@MMSEG_TRANSFORMS.register_module()
class PackPairedSegInputs(PackSegInputs):
    """Pack a paired sample for semantic segmentation.

    As :class:`mmseg.datasets.transforms.PackSegInputs`, but ``inputs`` is
    ``dict(ir=Tensor(C_ir, H, W), rgb=Tensor(3, H, W))`` instead of one
    tensor. The two images must have the same height and width (else
    ``ValueError`` naming both files).

    Args:
        meta_keys (Sequence[str]): Results keys copied to the metainfo of the
            :class:`~mmseg.structures.SegDataSample` when present. Defaults
            to those of ``PackSegInputs`` plus ``rgb_path`` and ``is_night``.
    """

    def __init__(self,
                 meta_keys=('img_path', 'seg_map_path', 'ori_shape',
                            'img_shape', 'pad_shape', 'scale_factor', 'flip',
                            'flip_direction', 'reduce_zero_label') +
                 PAIRED_META_KEYS) -> None:
        super().__init__(meta_keys=meta_keys)

    def transform(self, results: dict) -> dict:
        """Pack the images, segmentation map and meta information.

        Args:
            results (dict): Results of the pipeline, with ``img`` (IR) and
                ``img_rgb``.

        Returns:
            dict: ``inputs`` (dict with ``ir`` and ``rgb``) and
            ``data_samples`` (:class:`~mmseg.structures.SegDataSample`).
        """
        return _pair_inputs(
            super().transform(results), results, type(self).__name__)


@MMPRETRAIN_TRANSFORMS.register_module()
class PackPairedClsInputs(PackInputs):
    """Pack a paired sample for classification.

    As :class:`mmpretrain.datasets.transforms.PackInputs` (labels in
    ``gt_label`` / ``gt_score`` of an MMPretrain ``DataSample``), but
    ``inputs`` is ``dict(ir=Tensor(C_ir, H, W), rgb=Tensor(3, H, W))`` (dtype
    of the images, uint8 by default) instead of one tensor; batch it with
    :class:`PairedDataPreprocessor`. The two images must have the same
    height and width (else ``ValueError`` naming both files).

    Args:
        meta_keys (Sequence[str]): Results keys copied to the metainfo of
            the data sample when present. Defaults to those of
            ``PackInputs`` plus ``rgb_path`` and ``is_night``.
    """

    def __init__(self,
                 meta_keys=PackInputs.DEFAULT_META_KEYS + PAIRED_META_KEYS):
        super().__init__(input_key='img', meta_keys=meta_keys)

    def transform(self, results: dict) -> dict:
        """Pack the images, the label and the meta information.

        Args:
            results (dict): Results of the pipeline, with ``img`` (IR) and
                ``img_rgb``.

        Returns:
            dict: ``inputs`` (dict with ``ir`` and ``rgb``) and
            ``data_samples`` (:class:`mmpretrain.structures.DataSample`).
        """
        return _pair_inputs(
            super().transform(results), results, type(self).__name__)
