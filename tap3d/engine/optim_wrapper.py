"""Mixed precision that also runs on CPU.

mmengine's ``AmpOptimWrapper`` refuses to start without an accelerator.
``DeviceAgnosticAmpOptimWrapper`` (what ``tools/train.py --amp`` selects) is its subclass:
on CUDA (and other accelerators) it is exactly mmengine's wrapper (fp16 autocast +
dynamic loss scaling by default); on a CPU-only machine it autocasts to bfloat16,
which has float32's exponent range and so needs no loss scaling.
"""
from typing import Optional, Union

import torch
from mmengine.device import is_cuda_available, is_mlu_available, is_musa_available, is_npu_available
from mmengine.optim import AmpOptimWrapper as MMEngineAmpOptimWrapper
from mmengine.optim import OptimWrapper

from tap3d.registry import OPTIM_WRAPPERS


def _accelerator_available() -> bool:
    return (is_cuda_available() or is_npu_available() or is_mlu_available()
            or is_musa_available())


@OPTIM_WRAPPERS.register_module()
class DeviceAgnosticAmpOptimWrapper(MMEngineAmpOptimWrapper):
    """mmengine's ``AmpOptimWrapper`` with a bfloat16 path for CPU-only machines.

    Args:
        loss_scale: as in mmengine (used on accelerators only).
        dtype: autocast dtype; on CPU ``None`` means ``torch.bfloat16``.
        use_fsdp: as in mmengine.
    """

    def __init__(self,
                 loss_scale: Union[str, float, dict] = 'dynamic',
                 dtype: Optional[Union[str, torch.dtype]] = None,
                 use_fsdp: bool = False,
                 **kwargs):
        if _accelerator_available():
            super().__init__(loss_scale=loss_scale, dtype=dtype, use_fsdp=use_fsdp, **kwargs)
            return
        OptimWrapper.__init__(self, **kwargs)
        if isinstance(dtype, str):
            dtype = getattr(torch, dtype)
        self.cast_dtype = dtype or torch.bfloat16
        self._scale_update_param = None
        # a disabled scaler keeps the parent's backward/step/state_dict code paths
        self.loss_scaler = torch.amp.GradScaler('cpu', enabled=False)


__all__ = ['DeviceAgnosticAmpOptimWrapper']
