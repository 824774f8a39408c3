"""Every config under configs/ loads, follows the inheritance rules and builds its model."""
import ast
import glob
import os.path as osp

import pytest
from mmengine.config import Config

from tap3d.registry import MODELS
from tap3d.utils import register_all_modules

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG_ROOT = osp.join(REPO, 'configs')
BASE_ROOT = osp.join(CONFIG_ROOT, '_base_')
ALL = sorted(glob.glob(osp.join(CONFIG_ROOT, '**', '*.py'), recursive=True))
LEAVES = [p for p in ALL if not p.startswith(BASE_ROOT + osp.sep)]

register_all_modules()


def _bases(path):
    """The `_base_` files a config names, as absolute paths."""
    tree = ast.parse(open(path).read(), filename=path)
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == '_base_' for t in node.targets):
            value = ast.literal_eval(node.value)
            names = [value] if isinstance(value, str) else list(value)
            return [osp.normpath(osp.join(osp.dirname(path), n)) for n in names]
    return []


def _sibling_chain_length(path, seen=()):
    siblings = [b for b in _bases(path) if not b.startswith(BASE_ROOT + osp.sep)]
    if not siblings:
        return 0
    assert path not in seen, f'cyclic _base_ in {path}'
    return 1 + max(_sibling_chain_length(s, seen + (path, )) for s in siblings)


def _rel(path):
    return osp.relpath(path, REPO)


def test_there_are_configs():
    assert LEAVES, 'no configs found'


@pytest.mark.parametrize('path', LEAVES, ids=_rel)
def test_leaf_inherits_only_from_base_plus_one_sibling(path):
    bases = _bases(path)
    for b in bases:
        assert osp.isfile(b), f'{_rel(path)} inherits a missing file {_rel(b)}'
    others = [b for b in bases if not b.startswith(BASE_ROOT + osp.sep)]
    assert len(others) <= 1, f'{_rel(path)} inherits {len(others)} non-_base_ configs'
    for b in others:
        assert osp.dirname(b) == osp.dirname(path), (
            f'{_rel(path)} inherits {_rel(b)}, which is not a sibling')
    assert _sibling_chain_length(path) <= 2, f'{_rel(path)}: sibling chain too long'


@pytest.mark.parametrize('path', ALL, ids=_rel)
def test_config_loads(path):
    Config.fromfile(path)


@pytest.mark.parametrize('path', LEAVES, ids=_rel)
def test_model_builds(path):
    cfg = Config.fromfile(path)
    model = MODELS.build(cfg.model)
    assert sum(p.numel() for p in model.parameters()) > 0
