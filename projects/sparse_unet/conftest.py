# Make ``projects.sparse_unet`` importable when pytest runs from anywhere.
import os.path as osp
import sys

_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)
