"""A log processor that logs validation and test metrics exactly as computed."""
from mmengine.runner import LogProcessor

from tap3d.registry import LOG_PROCESSORS


@LOG_PROCESSORS.register_module()
class ExactEvalLogProcessor(LogProcessor):
    """mmengine's ``LogProcessor`` without smoothing of validation and test metrics.

    mmengine averages every scalar whose name matches ``mean_pattern`` (any name
    containing ``loss``, ``time``, ...) over the last ``window_size`` values of its
    history. That suits training losses logged every few iterations, but a metric
    such as ``view/loss`` gets one value per validation, so the logged (and
    ``scalars.json``) value was the mean over the last ``window_size`` validations, not
    that epoch's. Here every validation and test scalar is the value the evaluator
    returned, except ``time`` and ``data_time``, which stay epoch means; ``custom_cfg``
    entries still apply. Training logs are unchanged.
    """

    def _collect_scalars(self, custom_cfg, runner, mode, reserve_prefix=False):
        tag = super()._collect_scalars(custom_cfg, runner, mode, reserve_prefix)
        if mode not in ('val', 'test'):
            return tag
        custom = {cfg.get('log_name', cfg['data_src']) for cfg in custom_cfg}
        for prefix_key, buffer in runner.message_hub.log_scalars.items():
            if not prefix_key.startswith(f'{mode}/'):
                continue
            key = prefix_key if reserve_prefix else prefix_key[len(mode) + 1:]
            name = prefix_key[len(mode) + 1:]
            if key in tag and name not in ('time', 'data_time') and name not in custom:
                tag[key] = buffer.current()
        return tag
