"""Cropping of an IR image and its RGB pair to one box."""
from typing import Optional

import numpy as np
from mmcv.transforms import BaseTransform
from mmengine.registry import TRANSFORMS

from .loading import RGB_KEY


@TRANSFORMS.register_module()
class CropPairedBox(BaseTransform):
    """Crop the IR image and its RGB pair to a box, with some context.

    The box ``crop_bbox`` (``x1, y1, x2, y2`` in pixels, e.g. from
    :class:`PairedObjectCropDataset`) is first made square about its centre
    when ``square`` is set (its shorter side grows to the longer one), then
    scaled by ``context`` about its centre, rounded outwards to whole pixels
    and clipped to the image. Both images are cut to that same region.

    Required keys: ``img`` (IR), ``img_rgb`` (RGB), of the same height and
    width, and ``crop_bbox``.

    Modified keys: ``img``, ``img_rgb``, ``img_shape``.

    Added keys: ``crop_region`` (int ``x1, y1, x2, y2`` actually cut).

    Args:
        context (float): Scale of the box before cropping, > 0 (1.0 cuts the
            box exactly). Defaults to 1.2.
        square (bool): Make the box square before scaling it. Defaults to
            True.
    """

    def __init__(self, context: float = 1.2, square: bool = True) -> None:
        if not context > 0:
            raise ValueError(f'CropPairedBox: context must be > 0, got '
                             f'{context!r}')
        self.context = float(context)
        self.square = square

    def crop_region(self,
                    box: np.ndarray,
                    height: int,
                    width: int,
                    img_path: Optional[str] = None) -> np.ndarray:
        """The pixel region cut for ``box`` in a ``height x width`` image.

        Args:
            box (np.ndarray): (4,) ``x1, y1, x2, y2``.
            height (int): Image height.
            width (int): Image width.
            img_path (str, optional): The image, named in the errors.

        Returns:
            np.ndarray: (4,) int64 ``x1, y1, x2, y2`` with
            ``0 <= x1 < x2 <= width`` and ``0 <= y1 < y2 <= height``.
        """
        x1, y1, x2, y2 = (float(v) for v in box)
        of_image = '' if img_path is None else f' of {img_path}'
        if not (x2 > x1 and y2 > y1):
            raise ValueError(f'CropPairedBox: empty crop_bbox '
                             f'{[x1, y1, x2, y2]}{of_image}')
        centre_x, centre_y = (x1 + x2) / 2, (y1 + y2) / 2
        half_w, half_h = (x2 - x1) / 2, (y2 - y1) / 2
        if self.square:
            half_w = half_h = max(half_w, half_h)
        half_w, half_h = half_w * self.context, half_h * self.context
        region = np.array([
            np.floor(centre_x - half_w),
            np.floor(centre_y - half_h),
            np.ceil(centre_x + half_w),
            np.ceil(centre_y + half_h)
        ])
        region = np.clip(region, 0, [width, height, width, height])
        region = region.astype(np.int64)
        if region[2] <= region[0] or region[3] <= region[1]:
            raise ValueError(
                f'CropPairedBox: crop_bbox {[x1, y1, x2, y2]}{of_image} lies '
                f'outside the {width}x{height} image (is the width / height '
                'of the annotation file that of the image?)')
        return region

    def transform(self, results: dict) -> dict:
        """Cut both images to the region of ``crop_bbox``.

        Args:
            results (dict): Results with ``img``, ``img_rgb`` and
                ``crop_bbox``.

        Returns:
            dict: ``results`` with both images cropped.
        """
        for key in ('img', RGB_KEY, 'crop_bbox'):
            if key not in results:
                raise KeyError(
                    f'CropPairedBox: results of {results.get("img_path")} '
                    f'have no {key!r}; load the pair with '
                    'LoadPairedImageFromFile from a PairedObjectCropDataset')
        ir, rgb = results['img'], results[RGB_KEY]
        if ir.shape[:2] != rgb.shape[:2]:
            raise ValueError(
                f'CropPairedBox: IR image {results.get("img_path")} is '
                f'{ir.shape[:2]} (H, W) but its RGB pair is {rgb.shape[:2]}')
        x1, y1, x2, y2 = self.crop_region(results['crop_bbox'],
                                          *ir.shape[:2],
                                          img_path=results.get('img_path'))
        results['img'] = ir[y1:y2, x1:x2]
        results[RGB_KEY] = rgb[y1:y2, x1:x2]
        results['img_shape'] = (int(y2 - y1), int(x2 - x1))
        results['crop_region'] = np.array([x1, y1, x2, y2])
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(context={self.context}, '
                f'square={self.square})')
