"""MMDetection's test drawings, written under the images' own sub-folders."""
import os.path as osp
from typing import Optional, Sequence

from mmdet.engine.hooks import DetVisualizationHook
from mmdet.registry import HOOKS
from mmdet.structures import DetDataSample

from mmfreqkd.datasets.nested_datasets import nested_datasets


def image_folder_of(dataset) -> Optional[str]:
    """The folder a dataset's image paths are relative to.

    Args:
        dataset: An mmengine ``BaseDataset`` (``data_prefix['img']``, joined
            with ``data_root`` when the dataset was built) or a wrapper of
            one (the first wrapped dataset that has a ``data_prefix``, see
            :func:`~mmfreqkd.datasets.nested_datasets.nested_datasets`).

    Returns:
        str | None: ``data_prefix['img']``, else ``data_root``, else None.
    """
    for inner, _ in nested_datasets(dataset):
        if hasattr(inner, 'data_prefix'):
            return inner.data_prefix.get('img') or inner.data_root or None
    return None


def drawing_folder(img_path: str, image_folder: Optional[str]) -> str:
    """The sub-folder of ``img_path`` below ``image_folder``.

    Args:
        img_path (str): Path (or URL) of the drawn image.
        image_folder (str | None): Folder of the dataset's images.

    Returns:
        str: ``set06/V000/lwir`` for ``.../images/set06/V000/lwir/I00019.jpg``
        and ``image_folder='.../images/'``; for an image outside the folder
        (or no folder), its whole folder without a leading separator, drive
        or URL scheme.
    """
    folder = osp.dirname(img_path)
    if image_folder:
        relative = osp.relpath(folder, image_folder)
        if relative != osp.pardir and \
                not relative.startswith(osp.pardir + osp.sep):
            return '' if relative == osp.curdir else relative
    folder = folder.split('://', 1)[-1]
    return osp.splitdrive(folder)[1].lstrip('/\\')


@HOOKS.register_module()
class SubfolderDetVisualizationHook(DetVisualizationHook):
    """:class:`mmdet.engine.hooks.DetVisualizationHook` that keeps folders.

    MMDetection's hook writes every test drawing to ``test_out_dir`` under
    the image's file name alone. KAIST reuses frame names in every set and
    video (``set06/V000/lwir/I00019.jpg``, ``set07/V001/lwir/I00019.jpg``),
    so drawings overwrote each other and a test run kept one per name. This
    hook writes each drawing to the image's sub-folder of the dataset's
    image folder (``data_prefix['img']``) inside ``test_out_dir``:
    ``<test_out_dir>/set06/V000/lwir/I00019.jpg``. Validation drawings,
    ``show`` and the visualizer backends behave as in MMDetection.

    Args:
        **kwargs: Arguments of MMDetection's ``DetVisualizationHook``.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._out_root = self.test_out_dir

    def after_test_iter(self, runner, batch_idx: int, data_batch: dict,
                        outputs: Sequence[DetDataSample]) -> None:
        """Draw every test sample into its image's sub-folder.

        Args:
            runner (Runner): The runner of the test loop.
            batch_idx (int): Index of the batch in the loop.
            data_batch (dict): Batch from the dataloader.
            outputs (Sequence[DetDataSample]): Samples with predictions.
        """
        if not self.draw or self._out_root is None:
            super().after_test_iter(runner, batch_idx, data_batch, outputs)
            return
        image_folder = image_folder_of(runner.test_dataloader.dataset)
        for data_sample in outputs:
            # MMDetection's hook writes to <work_dir>/<timestamp>/
            # <test_out_dir>/<file name>: one sample at a time, the
            # sub-folder rides in test_out_dir
            self.test_out_dir = osp.join(
                self._out_root,
                drawing_folder(data_sample.img_path, image_folder))
            super().after_test_iter(runner, batch_idx, data_batch,
                                    [data_sample])
