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


@pytest.fixture(scope='session')
def built_cpu_kernels():
    """The fused CPU kernels, compiled into the kernel cache if not built yet.

    ``tools/install.sh`` builds them, so this normally only loads them; a test run
    without install compiles them once here (under the build lock, so parallel
    test workers do not race). Skips when there is no C++ compiler.
    """
    import shutil
    if shutil.which('c++') is None:
        pytest.skip('the fused CPU kernels need a C++ compiler')
    from tap3d.ops.cpu import build
    module = build.build()
    assert module is not None, 'the fused CPU kernels did not build'
    build._STATE['kernels'] = module
    return module
