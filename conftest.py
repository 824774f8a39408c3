"""Repository-wide pytest set-up."""
import os

# Tests run in parallel (pytest -n 2) and start training subprocesses: OpenMP threads
# that spin while waiting would slow every process sharing the cores several times.
os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')
