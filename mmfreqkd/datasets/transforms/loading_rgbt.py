"""Loading of 4-channel RGB-thermal PNG files (MFNet)."""
from typing import Optional

import mmcv
import numpy as np
from mmcv.transforms import BaseTransform
from mmengine.fileio import get
from mmseg.registry import TRANSFORMS

from .loading import RGB_KEY


@TRANSFORMS.register_module()
class LoadRGBTFromPNG(BaseTransform):
    """Load a 4-channel PNG and split it into thermal and RGB images.

    The file is decoded unchanged with OpenCV, which returns the colour
    channels in BGR order followed by the 4th (thermal) channel. The thermal
    channel becomes the primary image ``img`` so that IR-only pipelines and
    models see the infrared modality; the colour channels become
    ``img_rgb``, in BGR order like every ``img`` mmcv loads (set
    ``bgr_to_rgb=True`` in the data preprocessor as for any image).

    Required keys:

    - img_path (str): The PNG file.

    Added keys:

    - img (np.ndarray): Thermal, uint8, (H, W, 1) or (H, W, 3) with the
      channel replicated.
    - img_rgb (np.ndarray): Colour, uint8, (H, W, 3), BGR; only if
      ``with_rgb``.
    - img_shape (tuple[int, int]): (H, W).
    - ori_shape (tuple[int, int]): (H, W).

    Args:
        ir_channels (int): 1 keeps the thermal channel single, 3 replicates
            it (for backbones with 3 input channels). Defaults to 3.
        with_rgb (bool): Also output ``img_rgb``. Defaults to True.
        backend_args (dict, optional): File backend arguments, see
            :func:`mmengine.fileio.get`. Defaults to None.
    """

    def __init__(self,
                 ir_channels: int = 3,
                 with_rgb: bool = True,
                 backend_args: Optional[dict] = None) -> None:
        if ir_channels not in (1, 3):
            raise ValueError(f'ir_channels must be 1 or 3, got {ir_channels}')
        self.ir_channels = ir_channels
        self.with_rgb = with_rgb
        self.backend_args = backend_args

    def transform(self, results: dict) -> dict:
        """Read ``results['img_path']`` and add the images.

        Args:
            results (dict): Holds ``img_path``.

        Returns:
            dict: ``results`` with ``img``, ``img_shape``, ``ori_shape`` and,
            if ``with_rgb``, ``img_rgb``.

        Raises:
            ValueError: If the file is empty, cannot be decoded or is not an
                8-bit image with 4 channels, naming the file and what was
                found.
        """
        path = results['img_path']
        img_bytes = get(path, backend_args=self.backend_args)
        if not img_bytes:
            raise ValueError(f'{path}: cannot be decoded as an image, the '
                             'file is empty')
        try:
            image = mmcv.imfrombytes(
                img_bytes, flag='unchanged', backend='cv2')
        except Exception as error:  # cv2.error
            raise ValueError(f'{path}: cannot be decoded as an image '
                             f'({type(error).__name__}: {error})') from error
        if image is None:
            raise ValueError(f'{path}: cannot be decoded as an image')
        if image.ndim != 3 or image.shape[2] != 4:
            channels = 1 if image.ndim == 2 else image.shape[2]
            raise ValueError(
                f'{path}: expected 4 channels (RGB + thermal), found '
                f'{channels} (shape {image.shape}); the thermal channel is '
                'missing')
        if image.dtype != np.uint8:
            raise ValueError(
                f'{path}: expected 8-bit channels, found {image.dtype}')
        thermal = image[..., 3:]
        if self.ir_channels == 3:
            thermal = np.repeat(thermal, 3, axis=2)
        results['img'] = np.ascontiguousarray(thermal)
        if self.with_rgb:
            results[RGB_KEY] = np.ascontiguousarray(image[..., :3])
        results['img_shape'] = image.shape[:2]
        results['ori_shape'] = image.shape[:2]
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(ir_channels={self.ir_channels}, '
                f'with_rgb={self.with_rgb}, '
                f'backend_args={self.backend_args})')
