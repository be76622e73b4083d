"""KAIST multispectral pedestrian dataset (infrared primary, RGB paired)."""
from mmdet.registry import DATASETS

from .paired_coco import PairedCocoDataset


@DATASETS.register_module()
class KAISTDataset(PairedCocoDataset):
    """KAIST multispectral pedestrian detection, one class ``person``.

    Reads the COCO-style JSON written by
    ``tools/dataset_converters/kaist_to_coco.py``. With
    ``data_prefix=dict(img='images/')``, ``img_path`` is the LWIR image
    ``images/setXX/VYYY/lwir/IZZZZZ.jpg`` and ``rgb_path`` the visible one.
    ``person`` boxes are instances with ``ignore_flag=0``; ``people``,
    ``cyclist``, ``person?`` and ``person?a`` boxes (``iscrowd: 1``) are
    ignore regions with ``ignore_flag=1``. Frames without boxes are kept
    unless ``filter_cfg=dict(filter_empty_gt=True)``.

    Each data info holds, besides the :class:`PairedCocoDataset` keys,
    ``is_night`` (sets 03-05 and 09-11) and ``frame``
    (``'setXX/VYYY/IZZZZZ'``).

    Args:
        *args: Positional arguments of :class:`PairedCocoDataset`.
        **kwargs: Keyword arguments of :class:`PairedCocoDataset`
            (``check_pairs`` ...).
    """

    METAINFO = dict(classes=('person', ), palette=[(220, 20, 60)])

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault('required_image_keys',
                          ('rgb_file_name', 'frame', 'is_night'))
        super().__init__(*args, **kwargs)

    def parse_data_info(self, raw_data_info: dict) -> dict:
        """Parse one frame; adds ``frame`` to the paired data info.

        Args:
            raw_data_info (dict): ``raw_img_info`` and ``raw_ann_info``.

        Returns:
            dict: The data info.
        """
        data_info = super().parse_data_info(raw_data_info)
        data_info['frame'] = raw_data_info['raw_img_info']['frame']
        return data_info
