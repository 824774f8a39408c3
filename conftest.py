"""Repository-wide pytest set-up."""
import os

import pytest

# Tests run in parallel (pytest -n 2) and start training subprocesses: OpenMP threads
# that spin while waiting would slow every process sharing the cores several times.
os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')


@pytest.fixture
def one_thread():
    """Run a test on one torch thread: tiny inputs are many small ops, and on more
    threads their synchronisation costs more than it saves."""
    import torch
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
