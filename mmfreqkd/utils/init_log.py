"""Keep mmengine's per-parameter initialisation report out of tool output."""
import logging
from contextlib import contextmanager

from mmengine.logging import MMLogger


class ParameterInitReportFilter(logging.Filter):
    """Drop the records of ``BaseModule._dump_init_info``.

    After ``init_weights`` mmengine logs, for every parameter, its name,
    shape and initialiser; without a file handler on the logger (no Runner)
    this goes to the console, one multi-line record per parameter of the
    model. Other records, the checkpoint-loading lines included, pass.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return record.funcName != '_dump_init_info'


@contextmanager
def without_parameter_init_report():
    """Run ``init_weights`` outside a Runner without the per-parameter
    report on the console (see :class:`ParameterInitReportFilter`).

    Example:
        >>> with without_parameter_init_report():
        ...     model.init_weights()
    """
    logger = MMLogger.get_current_instance()
    report_filter = ParameterInitReportFilter()
    logger.addFilter(report_filter)
    try:
        yield
    finally:
        logger.removeFilter(report_filter)
