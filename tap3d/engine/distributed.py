"""Distributed training that also runs on CPU-only machines (gloo).

mmengine assumes CUDA when it launches DDP: ``init_dist`` calls
``torch.cuda.set_device`` and its DDP wrapper passes ``device_ids=[LOCAL_RANK]``,
both of which fail for a CPU model. tap3d keeps mmengine's launchers and only fills
these two gaps, so ``tools/dist_train.sh CONFIG 2`` works on CPU too.
"""
import datetime
import os
from typing import Optional

import torch
import torch.distributed as torch_dist
from mmengine.model import MMDistributedDataParallel

from tap3d.registry import MODEL_WRAPPERS


def init_cpu_distributed(launcher: str, timeout: Optional[float] = None) -> bool:
    """Start a gloo process group for ``launcher='pytorch'`` when CUDA is absent.

    Args:
        launcher: the tools' ``--launcher``.
        timeout: seconds a collective waits for the other ranks before it fails
            (the config's ``env_cfg.dist_cfg.timeout``); None keeps torch's default.

    Returns:
        True if this call initialised the process group.
    """
    if launcher != 'pytorch' or torch.cuda.is_available() or torch_dist.is_initialized():
        return False
    if 'RANK' not in os.environ:
        raise RuntimeError("--launcher pytorch needs torchrun's RANK/WORLD_SIZE variables; "
                           'use tools/dist_train.sh')
    kwargs = {} if timeout is None else dict(timeout=datetime.timedelta(seconds=timeout))
    torch_dist.init_process_group(backend='gloo', **kwargs)
    return True


def shutdown_distributed() -> None:
    """Destroy the default process group, if any, before the interpreter exits.

    PyTorch asks for ``destroy_process_group()`` before exit; left alive, the
    group's communication threads are torn down by the interpreter's shutdown
    instead. The tools call this after training or testing. The ranks meet in a
    barrier first: a rank that tore its group down while another was still saving a
    checkpoint (rank 0 alone writes) was seen to abort ("terminate called without an
    active exception") in one of many two-process gloo test runs.
    """
    if torch_dist.is_available() and torch_dist.is_initialized():
        torch_dist.barrier()
        torch_dist.destroy_process_group()


@MODEL_WRAPPERS.register_module()
class DeviceAgnosticDDP(MMDistributedDataParallel):
    """``MMDistributedDataParallel`` that drops ``device_ids`` for CPU modules."""

    def __init__(self, module, device_ids=None, **kwargs):
        on_cpu = all(p.device.type == 'cpu' for p in module.parameters())
        super().__init__(module=module, device_ids=None if on_cpu else device_ids, **kwargs)


__all__ = ['DeviceAgnosticDDP', 'init_cpu_distributed', 'shutdown_distributed']
