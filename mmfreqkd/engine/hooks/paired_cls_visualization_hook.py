"""MMPretrain's classification drawings for paired RGB-IR inputs."""
import os.path as osp
from typing import Sequence

from mmpretrain.engine.hooks import VisualizationHook
from mmpretrain.registry import HOOKS
from mmpretrain.structures import DataSample

from mmfreqkd.models.data_preprocessors.paired_data_preprocessor import \
    MODALITIES


@HOOKS.register_module()
class PairedClsVisualizationHook(VisualizationHook):
    """:class:`mmpretrain.engine.hooks.VisualizationHook` for paired inputs.

    MMPretrain's hook draws ``data_batch['inputs'][i]``, which fails on the
    ``dict(ir=[...], rgb=[...])`` inputs of :class:`PackPairedClsInputs`.
    This hook draws the image of one ``modality`` instead (the IR image by
    default: the prediction drawn is the IR student's); plain inputs pass
    through unchanged, so the hook also serves single-modality configs.

    Drawings are named after the image file as in MMPretrain, plus the
    dataset index before the extension when the sample has one
    (``sample_idx``): ``FLIR_00001_PreviewData_17.jpeg_0.png`` for sample
    17 of a FLIR crop set at step 0. Datasets with several samples
    per image (one per object crop, :class:`PairedObjectCropDataset`) would
    otherwise write all of an image's crops to one file.

    Args:
        modality (str): ``'ir'`` or ``'rgb'``, the image drawn from paired
            inputs. Defaults to ``'ir'``.
        **kwargs: Arguments of MMPretrain's ``VisualizationHook``
            (``enable``, ``interval``, ``show``, ``out_dir``, drawing
            options).
    """

    def __init__(self, modality: str = 'ir', **kwargs):
        if modality not in MODALITIES:
            raise ValueError(f'modality must be one of {MODALITIES}, '
                             f'got {modality!r}')
        super().__init__(**kwargs)
        self.modality = modality

    def _draw_samples(self,
                      batch_idx: int,
                      data_batch: dict,
                      data_samples: Sequence[DataSample],
                      step: int = 0) -> None:
        """Draw the ``modality`` image of every ``interval``-th sample.

        Args:
            batch_idx (int): Index of the batch in the loop.
            data_batch (dict): Batch from the dataloader; ``inputs`` either
                a list of ``(C, H, W)`` uint8 tensors or a dict of such lists
                keyed by modality.
            data_samples (Sequence[DataSample]): The model's outputs.
            step (int): Step recorded by the visualizer. Defaults to 0.
        """
        if not self.enable:
            return
        inputs = data_batch['inputs']
        if isinstance(inputs, dict):
            if self.modality not in inputs:
                raise KeyError(
                    f'{type(self).__name__}: modality {self.modality!r} is '
                    f'not in the paired inputs (keys {sorted(inputs)})')
            data_batch = dict(data_batch, inputs=inputs[self.modality])
        super()._draw_samples(batch_idx, data_batch,
                              [self._uniquely_named(s) for s in data_samples],
                              step)

    @staticmethod
    def _uniquely_named(data_sample: DataSample) -> DataSample:
        """A shallow copy whose ``img_path`` carries its ``sample_idx``.

        MMPretrain's hook reads ``img_path`` only to name the drawing.
        """
        if 'img_path' not in data_sample or 'sample_idx' not in data_sample:
            return data_sample
        stem, ext = osp.splitext(data_sample.img_path)
        named = data_sample.new()
        named.set_metainfo(
            dict(img_path=f'{stem}_{data_sample.sample_idx}{ext}'))
        return named
