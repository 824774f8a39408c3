"""Every bad input ends a tool with one line on stderr that names the file, exit code 1.

The real tools run in subprocesses on tiny data written here; each test breaks one
thing. See docs/reliability.md, "Bad input".
"""
import glob
import os
import os.path as osp
import shutil
import subprocess
import sys

import numpy as np
import pytest
import torch

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
TOY_CLS_CFG = osp.join(REPO, 'tests', 'fixtures', 'toy_cls_config.py')
TOY_TAP_CFG = osp.join(REPO, 'tests', 'data', 'toy_tap_config.py')
IMG, OBJ = 32, 28
PLY = osp.join('pointclouds', 'train', 'model_000000.ply')
JPG = osp.join('shapenet55v1', 'train', 'model_000000_{:03d}.jpg')

# TAP pre-training of the toy backbone (tests/data) on the tiny ShapeNet55 root below
TAP_CFG = """
_base_ = [{base!r}]
custom_imports = dict(imports={imports!r}, allow_failed_imports=False)
data_root = {root!r}
model = dict(resize_views=False, head=dict(img_size={img}, obj_size={obj}, downsample=8))
train_dataloader = dict(batch_size=1, num_workers={workers}, persistent_workers=False,
                        dataset=dict(data_root=data_root, img_size={img}, num_views=2))
val_dataloader = dict(batch_size=1, num_workers=0, persistent_workers=False,
                      dataset=dict(data_root=data_root, img_size={img}, num_views=2))
test_dataloader = val_dataloader
train_cfg = dict(max_epochs=1, val_interval=1)
custom_hooks = []
"""

# user code with genuine bugs, for the "unexpected error" path
BUGGY_MODULE = '''
import numpy as np
from mmcv.transforms import BaseTransform

from tap3d.registry import MODELS, TRANSFORMS
from tests.fixtures.toy_components import ToyPointNet


@MODELS.register_module()
class BuggyPointNet(ToyPointNet):
    def forward(self, inputs, data_samples=None, mode='tensor'):
        inputs['coord'] = inputs['coord'][:, [10 ** 6]]  # an indexing bug
        return super().forward(inputs, data_samples, mode)


@TRANSFORMS.register_module()
class BuggyTransform(BaseTransform):
    def transform(self, results):
        results['coord'] = results['coord'][np.arange(10 ** 6)]  # an indexing bug
        return results
'''


@pytest.fixture(scope='module')
def tiny_root(tmp_path_factory):
    pytest.importorskip('trimesh')
    from tests.data.tap_fixtures import write_tiny_shapenet55
    return write_tiny_shapenet55(str(tmp_path_factory.mktemp('shapenet55')), IMG, OBJ)


def _env(tmp_path, **extra):
    paths = [REPO, osp.join(REPO, 'tests', 'data'), str(tmp_path)]
    env = {**os.environ, 'PYTHONPATH': os.pathsep.join(paths), 'TMPDIR': str(tmp_path),
           'TAP3D_CPU_KERNELS': '0'}
    env.pop('TAP3D_DEBUG', None)
    env.update(extra)
    return env


def run_tool(tool, *args, tmp_path, **env):
    return subprocess.run([sys.executable, osp.join(REPO, 'tools', tool), *args], cwd=REPO,
                          capture_output=True, text=True, timeout=300,
                          env=_env(tmp_path, **env))


def one_line(proc, *needles):
    """The single stderr line of a failed run, checked to hold every needle."""
    assert proc.returncode == 1, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert 'Traceback' not in proc.stderr, proc.stderr[-3000:]
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr[-3000:]
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def tap_setup(tiny_root, tmp_path, workers=0, imports=('toy_backbone', ), extra=''):
    """A copy of the tiny root and a config that trains on it: (root, config path)."""
    root = str(tmp_path / 'data')
    shutil.copytree(tiny_root, root)
    cfg = str(tmp_path / 'tap_cfg.py')
    with open(cfg, 'w') as f:
        f.write(TAP_CFG.format(base=TOY_TAP_CFG, imports=list(imports), root=root, img=IMG,
                               obj=OBJ, workers=workers) + extra)
    return root, cfg


def write_ply(path, points):
    header = (f'ply\nformat binary_little_endian 1.0\nelement vertex {len(points)}\n'
              'property float x\nproperty float y\nproperty float z\nend_header\n')
    with open(path, 'wb') as f:
        f.write(header.encode() + np.asarray(points, '<f4').tobytes())


def _corrupt_ply(path):
    with open(path, 'wb') as f:
        f.write(b'\x8c\xca\x0fG' * 500)


def _nan_ply(path):
    points = np.random.default_rng(0).normal(size=(1024, 3))
    points[5] = np.nan
    write_ply(path, points)


def _empty_ply(path):
    open(path, 'wb').close()


def _one_point_ply(path):
    write_ply(path, [[0.1, 0.2, 0.3]])


def _corrupt_jpgs(path):
    for k in range(1, 13):  # every view, so that the random views always meet one
        with open(path.format(k), 'wb') as f:
            f.write(b'\xff\xd8\xff\xe0 not really a JPEG')


def _wrong_size_jpgs(path):
    from tap3d.datasets.io import write_image
    for k in range(1, 13):
        write_image(path.format(k), np.zeros((20, 20, 3), np.uint8))


def _missing_jpgs(path):
    for k in range(1, 13):
        os.remove(path.format(k))


@pytest.mark.parametrize('target, damage, problem', [
    (PLY, _corrupt_ply, 'not a PLY file'),
    (PLY, _nan_ply, '1 of 1024 points hold NaN or inf values'),
    (PLY, _empty_ply, 'empty file (0 bytes)'),
    (PLY, _one_point_ply, '1 points, expected 1024'),
    (JPG, _corrupt_jpgs, 'cannot decode image'),
    (JPG, _wrong_size_jpgs, 'image is 20x20 (HxW), expected 32x32'),
    (JPG, _missing_jpgs, 'image file not found'),
], ids=['corrupt-ply', 'nan-ply', 'empty-ply', '1-point-ply', 'corrupt-jpg', 'wrong-size-jpg',
        'missing-jpg'])
def test_bad_data_file_during_training(tiny_root, tmp_path, target, damage, problem):
    root, cfg = tap_setup(tiny_root, tmp_path)
    damage(osp.join(root, target))
    proc = run_tool('train.py', cfg, '--work-dir', str(tmp_path / 'work'), tmp_path=tmp_path)
    line = one_line(proc, 'train.py: error: ', problem, '(set TAP3D_DEBUG=1 for the traceback)')
    name = osp.join(root, target if target == PLY else JPG.format(1)[:-7])
    assert line.startswith(f'train.py: error: {name}'), line  # the file comes first


def test_bad_file_in_a_dataloader_worker(tiny_root, tmp_path):
    root, cfg = tap_setup(tiny_root, tmp_path, workers=2)
    _corrupt_ply(osp.join(root, PLY))
    proc = run_tool('train.py', cfg, '--work-dir', str(tmp_path / 'work'), tmp_path=tmp_path)
    # the worker's traceback is not shown: only its exception's own message
    line = one_line(proc, f'train.py: error: {osp.join(root, PLY)}: not a PLY file')
    assert 'DataLoader worker' not in line and 'Original Traceback' not in line


def test_browse_dataset_bad_file(tiny_root, tmp_path):
    root, cfg = tap_setup(tiny_root, tmp_path)
    _nan_ply(osp.join(root, PLY))
    proc = run_tool(osp.join('misc', 'browse_dataset.py'), cfg, '--output-dir',
                    str(tmp_path / 'sheets'), tmp_path=tmp_path)
    one_line(proc, f'browse_dataset.py: error: {osp.join(root, PLY)}: 1 of 1024 points hold NaN')


def test_config_syntax_error_names_file_and_line(tmp_path):
    cfg = str(tmp_path / 'broken.py')
    with open(cfg, 'w') as f:
        f.write("_base_ = ['../default_runtime.py']\nmodel = dict(type='X',\nx = 1\n")
    for tool in ('train.py', osp.join('misc', 'browse_dataset.py')):
        proc = run_tool(tool, cfg, tmp_path=tmp_path)
        one_line(proc, f'{cfg}:2: syntax error: ', 'never closed')


@pytest.fixture(scope='module')
def good_checkpoint(tmp_path_factory):
    path = str(tmp_path_factory.mktemp('ckpt') / 'good.pth')
    torch.save(dict(state_dict=dict(w=torch.zeros(100))), path)
    return path


def test_truncated_checkpoint(tmp_path, good_checkpoint):
    path = str(tmp_path / 'truncated.pth')
    with open(good_checkpoint, 'rb') as f:
        data = f.read()
    with open(path, 'wb') as f:
        f.write(data[:len(data) // 2])
    proc = run_tool('test.py', TOY_CLS_CFG, path, '--work-dir', str(tmp_path / 'work'),
                    tmp_path=tmp_path)
    # (the loader may say 'cannot load checkpoint P: ...' or 'P: ...')
    one_line(proc, 'test.py: error: ', f'{path}: truncated or corrupt checkpoint')


class _RunsCode:
    """Unpickling this runs a shell command."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}', ))


def test_malicious_checkpoint_is_refused(tmp_path):
    marker = str(tmp_path / 'pwned')
    path = str(tmp_path / 'evil.pth')
    torch.save(dict(state_dict={}, meta=_RunsCode(marker)), path)
    proc = run_tool('test.py', TOY_CLS_CFG, path, '--work-dir', str(tmp_path / 'work'),
                    tmp_path=tmp_path)
    one_line(proc, 'test.py: error: ', f'{path}: refused to unpickle: ', 'system')
    assert not osp.exists(marker)


def _buggy_config(tmp_path):
    with open(tmp_path / 'buggy_user_code.py', 'w') as f:
        f.write(BUGGY_MODULE)
    cfg = str(tmp_path / 'buggy_cls.py')
    with open(cfg, 'w') as f:
        f.write(f'_base_ = [{TOY_CLS_CFG!r}]\n'
                "custom_imports = dict(imports=['tests.fixtures.toy_components', "
                "'buggy_user_code'], allow_failed_imports=False)\n"
                "model = dict(type='BuggyPointNet')\n")
    return cfg


def test_a_bug_gives_one_line_and_keeps_the_traceback_in_the_run_log(tmp_path):
    cfg = _buggy_config(tmp_path)
    work = str(tmp_path / 'work')
    proc = run_tool('train.py', cfg, '--work-dir', work, tmp_path=tmp_path)
    (log, ) = glob.glob(osp.join(work, '*', '*.log'))
    line = one_line(proc, 'train.py: error: IndexError: index 1000000 is out of bounds',
                    'unexpected: probably a bug', f'traceback saved to {log};',
                    'set TAP3D_DEBUG=1 to print it')
    assert line.endswith(')')
    with open(log) as f:
        text = f.read()
    assert 'train.py stopped on this error:\nTraceback (most recent call last):' in text
    assert "inputs['coord'][:, [10 ** 6]]" in text  # the buggy line, in the log

    # TAP3D_DEBUG=1: Python's own traceback on stderr
    proc = run_tool('train.py', cfg, '--work-dir', work, tmp_path=tmp_path, TAP3D_DEBUG='1')
    assert proc.returncode == 1
    assert 'Traceback (most recent call last)' in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith('IndexError: index 1000000')


def test_a_bug_without_a_runner_saves_the_traceback_to_a_file(tiny_root, tmp_path):
    _buggy_config(tmp_path)  # writes the module
    root, cfg = tap_setup(
        tiny_root, tmp_path, imports=('toy_backbone', 'buggy_user_code'),
        extra="train_dataloader['dataset']['pipeline'] = [dict(type='BuggyTransform')]\n")
    proc = run_tool(osp.join('misc', 'browse_dataset.py'), cfg, '--output-dir',
                    str(tmp_path / 'sheets'), tmp_path=tmp_path)
    line = one_line(proc, 'browse_dataset.py: error: IndexError: ', 'unexpected')
    (saved, ) = glob.glob(str(tmp_path / 'tap3d-tracebacks' / 'browse_dataset-*.txt'))
    assert f'traceback saved to {saved};' in line
    with open(saved) as f:
        assert 'np.arange(10 ** 6)' in f.read()


TOOLS = sorted(
    glob.glob(osp.join(REPO, 'tools', '*.py')) + glob.glob(osp.join(REPO, 'tools', '*', '*.py')))
TOOLS = [t for t in TOOLS if not osp.basename(t).startswith('_')]


@pytest.mark.parametrize('path', TOOLS, ids=lambda p: osp.relpath(p, osp.join(REPO, 'tools')))
def test_every_tool_runs_inside_the_one_line_wrapper(path):
    with open(path) as f:
        text = f.read()
    main_block = text.split("if __name__ == '__main__':")[-1]
    if osp.basename(path) in ('train.py', 'test.py'):  # set-up and run wrapped apart
        assert text.count('with one_line_errors(') == 2
    else:
        assert 'sys.exit(run_tool(main))' in main_block, path


@pytest.mark.parametrize('tool, args, needle', [
    (osp.join('analysis', 'get_flops.py'), ['nope_cfg.py'], "'nope_cfg.py'"),
    (osp.join('misc', 'make_fewshot_folds.py'), ['nope_root', 'out'],
     'nope_root/modelnet40_shape_names.txt: file not found'),
])
def test_other_tools_end_in_one_line(tmp_path, tool, args, needle):
    proc = run_tool(tool, *args, tmp_path=tmp_path)
    one_line(proc, f'{osp.basename(tool)}: error: ', needle)
