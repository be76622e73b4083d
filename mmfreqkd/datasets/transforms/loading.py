"""Loading of a registered infrared (IR) and RGB image pair."""
from typing import Optional

import mmcv
import numpy as np
from mmcv.transforms import LoadImageFromFile
from mmengine import fileio
from mmengine.registry import TRANSFORMS

#: Results key of the RGB image of a pair (the IR image is ``img``, so that
#: IR-only transforms see it as the primary image).
RGB_KEY = 'img_rgb'

_IR_DECODE_FLAGS = {1: 'grayscale', 3: 'color'}


@TRANSFORMS.register_module()
class LoadPairedImageFromFile(LoadImageFromFile):
    """Load the IR image of a frame into ``img`` and its RGB pair into
    ``img_rgb``.

    The IR image is the primary image: every standard MMDetection /
    MMSegmentation transform that follows sees it as ``img``, so an IR-only
    pipeline is an ordinary pipeline. Geometry must then be applied to both
    images through :class:`PairedGeometric`.

    Required keys: ``img_path`` (IR path), ``rgb_path`` (RGB path).

    Added keys: ``img`` (IR, ``(H, W, ir_channels)``), ``img_rgb`` (RGB,
    ``(H, W, 3)``, channel order of the decoder: BGR with ``cv2``),
    ``img_shape`` and ``ori_shape`` (both ``(H, W)`` of the IR image) and
    ``rgb_ori_shape`` (``(H, W)`` of the RGB file as stored).

    Args:
        ir_channels (int): 1 decodes the IR file as a single grey channel,
            shape ``(H, W, 1)`` (KAIST stores LWIR as a three-channel grey
            JPEG; all its channels are equal, so nothing is lost). 3 decodes it
            as a colour image, shape ``(H, W, 3)``. Defaults to 3.
        to_float32 (bool): Convert both images to float32. Defaults to False
            (uint8).
        color_type (str): Decode flag of :func:`mmcv.imfrombytes` for the RGB
            image. Defaults to ``'color'``.
        imdecode_backend (str): Decoder of :func:`mmcv.imfrombytes` for both
            images. Defaults to ``'cv2'``.
        ignore_empty (bool): Return ``None`` (the dataset then draws another
            sample) instead of raising when a file is missing. Defaults to
            False.
        check_same_size (bool): Raise when the two images differ in height or
            width. Defaults to True.
        resize_rgb_to_ir (bool): Resize the RGB image (bilinear) to the IR
            size when they differ, for pairs that are registered but stored
            at different resolutions. Takes precedence over
            ``check_same_size``. Defaults to False.
        backend_args (dict, optional): File backend arguments of
            :func:`mmengine.fileio.get`. Defaults to None (local files).
    """

    def __init__(self,
                 ir_channels: int = 3,
                 to_float32: bool = False,
                 color_type: str = 'color',
                 imdecode_backend: str = 'cv2',
                 ignore_empty: bool = False,
                 check_same_size: bool = True,
                 resize_rgb_to_ir: bool = False,
                 *,
                 backend_args: Optional[dict] = None) -> None:
        if ir_channels not in _IR_DECODE_FLAGS:
            raise ValueError(
                f'LoadPairedImageFromFile: ir_channels must be 1 or 3, got '
                f'{ir_channels!r}')
        super().__init__(
            to_float32=to_float32,
            color_type=color_type,
            imdecode_backend=imdecode_backend,
            ignore_empty=ignore_empty,
            backend_args=backend_args)
        self.ir_channels = ir_channels
        self.check_same_size = check_same_size
        self.resize_rgb_to_ir = resize_rgb_to_ir

    def _decode(self, path: str, flag: str, pair: str) -> np.ndarray:
        """Read and decode one image of the pair.

        Args:
            path (str): File to read.
            flag (str): Decode flag of :func:`mmcv.imfrombytes`.
            pair (str): Description of both paths, for error messages.

        Returns:
            np.ndarray: The decoded image, ``(H, W)`` or ``(H, W, C)``.

        Raises:
            ValueError: If the file is empty or cannot be decoded, naming it
                and both paths of the pair.
        """
        img_bytes = fileio.get(path, backend_args=self.backend_args)
        if not img_bytes:
            raise ValueError(
                f'Cannot decode {path} as an image: the file is empty '
                f'({pair})')
        try:
            img = mmcv.imfrombytes(
                img_bytes, flag=flag, backend=self.imdecode_backend)
        except Exception as error:  # cv2.error, PIL.UnidentifiedImageError
            raise ValueError(f'Cannot decode {path} as an image ({pair}): '
                             f'{type(error).__name__}: {error}') from error
        if img is None:
            raise ValueError(f'Cannot decode {path} as an image ({pair})')
        return img

    def transform(self, results: dict) -> Optional[dict]:
        """Load both images of the pair.

        Args:
            results (dict): Data info with ``img_path`` and ``rgb_path``.

        Returns:
            dict | None: ``results`` with the images added, or ``None`` when
            a file is missing and ``ignore_empty`` is set.
        """
        ir_path = results['img_path']
        if 'rgb_path' not in results:
            raise KeyError(
                f'LoadPairedImageFromFile: the data info of {ir_path} has no '
                "'rgb_path'; use a paired dataset (KAISTDataset, "
                'FLIRAlignedDataset) or add the key')
        rgb_path = results['rgb_path']
        pair = f'IR {ir_path}, RGB {rgb_path}'
        try:
            ir = self._decode(ir_path, _IR_DECODE_FLAGS[self.ir_channels],
                              pair)
            rgb = self._decode(rgb_path, self.color_type, pair)
        except FileNotFoundError as error:
            if self.ignore_empty:
                return None
            raise FileNotFoundError(
                f'Missing image of the pair ({pair}): {error}') from error

        if ir.ndim == 2:
            ir = ir[..., None]
        rgb_ori_shape = rgb.shape[:2]
        if rgb_ori_shape != ir.shape[:2]:
            if self.resize_rgb_to_ir:
                height, width = ir.shape[:2]
                rgb = mmcv.imresize(
                    rgb, (width, height), interpolation='bilinear')
            elif self.check_same_size:
                raise ValueError(
                    f'RGB and IR images of a pair differ in size: IR '
                    f'{ir_path} is {ir.shape[:2]} (H, W), RGB {rgb_path} is '
                    f'{rgb_ori_shape}; set resize_rgb_to_ir=True to resize '
                    'the RGB image to the IR size')

        if self.to_float32:
            ir = ir.astype(np.float32)
            rgb = rgb.astype(np.float32)
        results['img'] = ir
        results[RGB_KEY] = rgb
        results['img_shape'] = ir.shape[:2]
        results['ori_shape'] = ir.shape[:2]
        results['rgb_ori_shape'] = rgb_ori_shape
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}('
                f'ir_channels={self.ir_channels}, '
                f'to_float32={self.to_float32}, '
                f"color_type='{self.color_type}', "
                f"imdecode_backend='{self.imdecode_backend}', "
                f'ignore_empty={self.ignore_empty}, '
                f'check_same_size={self.check_same_size}, '
                f'resize_rgb_to_ir={self.resize_rgb_to_ir}, '
                f'backend_args={self.backend_args})')
