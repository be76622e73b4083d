"""FLIR ADAS aligned subset (thermal primary, registered RGB paired)."""
from mmdet.registry import DATASETS

from .paired_coco import PairedCocoDataset


@DATASETS.register_module()
class FLIRAlignedDataset(PairedCocoDataset):
    """FLIR ADAS aligned thermal / RGB pairs, classes person, car, bicycle.

    Reads the COCO-style JSON written by
    ``tools/dataset_converters/flir_aligned_to_coco.py``. With
    ``data_prefix=dict(img='JPEGImages/')``, ``img_path`` is the thermal
    image ``FLIR_XXXXX_PreviewData.jpeg`` and ``rgb_path`` the RGB image
    ``FLIR_XXXXX_RGB.jpg``. FLIR records no time of day, so ``is_night`` is
    always False (unknown), and day / night results cannot be split.

    Args:
        *args: Positional arguments of :class:`PairedCocoDataset`.
        **kwargs: Keyword arguments of :class:`PairedCocoDataset`.
    """

    METAINFO = dict(
        classes=('person', 'car', 'bicycle'),
        palette=[(220, 20, 60), (0, 0, 142), (119, 11, 32)])
