"""Packing of an IR image with its RGB pair for classification."""
from mmpretrain.datasets.transforms import PackInputs
from mmpretrain.registry import TRANSFORMS

from .formatting import PAIRED_META_KEYS, _pair_inputs


@TRANSFORMS.register_module()
class PackPairedClsInputs(PackInputs):
    """Pack a paired sample for classification.

    As :class:`mmpretrain.datasets.transforms.PackInputs` (labels in
    ``gt_label`` / ``gt_score`` of an MMPretrain ``DataSample``), but
    ``inputs`` is ``dict(ir=Tensor(C_ir, H, W), rgb=Tensor(3, H, W))`` (dtype
    of the images, uint8 by default) instead of one tensor; batch it with
    :class:`PairedDataPreprocessor`.

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
