"""The tools end a distributed run by destroying its process group."""
import torch.distributed as dist

from tap3d.engine import shutdown_distributed


def test_shutdown_destroys_the_group_and_is_a_no_op_without_one(tmp_path):
    shutdown_distributed()  # nothing initialised: nothing to do
    dist.init_process_group('gloo', init_method=f'file://{tmp_path}/store', rank=0,
                            world_size=1)
    assert dist.is_initialized()
    shutdown_distributed()
    assert not dist.is_initialized()
