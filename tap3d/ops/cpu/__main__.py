"""``python -m tap3d.ops.cpu``: compile the fused CPU kernels into the cache."""
import sys

from .build import main

sys.exit(main())
