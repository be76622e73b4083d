"""MMSegmentation's drawings on the thermal channel of MFNet's RGB-T PNGs."""
import os.path as osp
from typing import Sequence

from mmseg.engine.hooks import SegVisualizationHook
from mmseg.registry import HOOKS
from mmseg.structures import SegDataSample

from mmfreqkd.datasets.transforms.loading_rgbt import LoadRGBTFromPNG


@HOOKS.register_module()
class ThermalSegVisualizationHook(SegVisualizationHook):
    """:class:`mmseg.engine.hooks.SegVisualizationHook` for MFNet.

    MMSegmentation's hook decodes ``img_path`` as a colour image, which for
    MFNet's 4-channel PNGs is the RGB image the IR model never saw. This hook
    draws the segmentation on the thermal channel (grey), read as
    :class:`LoadRGBTFromPNG` reads it for the model. Drawings are named and
    written as in MMSegmentation (``<mode>_<file name>`` through the
    visualizer's ``save_dir``).

    Args:
        **kwargs: Arguments of MMSegmentation's ``SegVisualizationHook``
            (``draw``, ``interval`` in batches, ``show``, ``wait_time``,
            ``backend_args``).
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._loader = LoadRGBTFromPNG(
            ir_channels=3, with_rgb=False, backend_args=self.backend_args)

    def _after_iter(self,
                    runner,
                    batch_idx: int,
                    data_batch: dict,
                    outputs: Sequence[SegDataSample],
                    mode: str = 'val') -> None:
        """Draw every ``interval``-th batch of validation or test.

        Args:
            runner (Runner): The runner of the loop.
            batch_idx (int): Index of the batch in the loop.
            data_batch (dict): Batch from the dataloader.
            outputs (Sequence[SegDataSample]): Samples with predictions.
            mode (str): ``'val'`` or ``'test'``; training draws nothing.
        """
        if not self.draw or mode == 'train' or \
                not self.every_n_inner_iters(batch_idx, self.interval):
            return
        for output in outputs:
            thermal = self._loader(dict(img_path=output.img_path))['img']
            self._visualizer.add_datasample(
                f'{mode}_{osp.basename(output.img_path)}',
                thermal,
                data_sample=output,
                show=self.show,
                wait_time=self.wait_time,
                step=runner.iter)
