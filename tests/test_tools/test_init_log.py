"""without_parameter_init_report: mmengine's per-parameter init report off
the console, every other record kept."""
import io
import logging

import pytest
import torch.nn as nn
from mmengine.logging import MMLogger, print_log
from mmengine.model import BaseModule

from mmfreqkd.utils import without_parameter_init_report


class TwoLayers(BaseModule):

    def __init__(self):
        super().__init__(init_cfg=dict(type='Constant', layer='Linear',
                                       val=0.5))
        self.first = nn.Linear(3, 4)
        self.second = nn.Linear(4, 2)


@pytest.fixture
def console(request):
    """The text the current MMLogger writes to a console handler, with a
    fresh logger as the current one (no Runner's log file attached)."""
    logger = MMLogger.get_instance(f'test_init_log.{request.node.name}')
    assert MMLogger.get_current_instance() is logger
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger.addHandler(handler)
    yield stream
    logger.removeHandler(handler)


def test_init_weights_reports_every_parameter_without_the_filter(console):
    TwoLayers().init_weights()
    text = console.getvalue()
    for name in ('first.weight', 'first.bias', 'second.weight',
                 'second.bias'):
        assert f'\n{name} - torch.Size(' in text


def test_the_report_is_dropped_and_other_records_kept(console):
    model = TwoLayers()
    logger = MMLogger.get_current_instance()
    with without_parameter_init_report():
        model.init_weights()
        print_log('loaded the base weights', logger='current')
    assert 'first.weight' not in console.getvalue()
    assert 'loaded the base weights' in console.getvalue()
    assert (model.first.weight == 0.5).all()  # initialised all the same
    # the filter goes with the block
    assert not any(type(f).__name__ == 'ParameterInitReportFilter'
                   for f in logger.filters)
    TwoLayers().init_weights()
    assert 'first.weight' in console.getvalue()
