import os
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SCRIPT = osp.join(REPO, 'tools', 'create_data.py')


def _run(*args):
    env = dict(os.environ, OMP_NUM_THREADS='1')
    return subprocess.run([sys.executable, SCRIPT, *args], capture_output=True, text=True,
                          env=env, cwd=REPO, timeout=300)


def _main(capsys, *args):
    """Run create_data.py in this process (no interpreter start-up): (rc, stdout)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location('create_data', SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    capsys.readouterr()
    rc = module.main(list(args))
    return rc, capsys.readouterr().out


@pytest.fixture(scope='module')
def world(tmp_path_factory):
    out = str(tmp_path_factory.mktemp('synthetic'))
    proc = _run('synthetic', '--tiny', '--out', out, '--workers', '1')
    assert proc.returncode == 0, proc.stderr[-2000:]
    return out, proc.stdout


def test_synthetic_tiny_writes_every_layout(world):
    out, stdout = world
    expected = [
        'ShapeNet55/pointclouds/train/model_000000.ply',
        'ShapeNet55/pointclouds_p2048/test/model_000001.ply',
        'ShapeNet55/shapenet55v1/test/model_000001_012.jpg',
        'ScanObjectNN/main_split/training_objectdataset_augmentedrot_scale75.h5',
        'ScanObjectNN/main_split_nobg/test_objectdataset.h5',
        'ModelNet40/modelnet40_normal_resampled/modelnet40_shape_names.txt',
        'ModelNet40/modelnet40_ply_hdf5_2048/ply_data_train0.h5',
        'ShapeNetPart/shapenetcore_partanno_segmentation_benchmark_v0_normal/'
        'train_test_split/shuffled_train_file_list.json',
        'scannet/meta_data/scannetv2_train.txt',
    ]
    for rel in expected:
        assert osp.isfile(osp.join(out, rel)), rel
    assert 'scannet: 2 train' in stdout
    # no temporary files anywhere
    leftovers = [f for _, _, fs in os.walk(out) for f in fs if f.endswith('.tmp')]
    assert leftovers == []


def test_synthetic_resume_skips_complete_files(world, capsys):
    out, _ = world
    ply = osp.join(out, 'ShapeNet55', 'pointclouds', 'train', 'model_000000.ply')
    view = osp.join(out, 'ShapeNet55', 'shapenet55v1', 'train', 'model_000002_003.jpg')
    mtime = os.path.getmtime(ply)
    os.remove(view)  # an item with a missing view is rewritten, complete ones are kept
    rc, _ = _main(capsys, 'synthetic', '--tiny', '--out', out, '--workers', '1',
                  '--only', 'shapenet55')
    assert rc == 0
    assert os.path.getmtime(ply) == mtime and osp.isfile(view)


def test_check_lists_bad_items(world, tmp_path, capsys):
    import shutil
    out, _ = world
    rc, stdout = _main(capsys, 'check', osp.join(out, 'ShapeNet55'))
    assert rc == 0 and '4 shapes checked, 0 bad files' in stdout
    root = str(tmp_path / 'ShapeNet55')
    shutil.copytree(osp.join(out, 'ShapeNet55'), root)
    os.remove(osp.join(root, 'shapenet55v1', 'test', 'model_000001_007.jpg'))
    with open(osp.join(root, 'pointclouds', 'train', 'model_000000.ply'), 'r+b') as f:
        f.truncate(200)
    rc, stdout = _main(capsys, 'check', root)
    assert rc == 1
    assert 'model_000001_007.jpg: view image missing' in stdout
    assert 'model_000000.ply: truncated PLY' in stdout
    assert '2 bad files' in stdout


def test_shapenet55_views_from_meshes(tmp_path, capsys):
    import trimesh
    meshes = tmp_path / 'meshes' / 'chairs'
    meshes.mkdir(parents=True)
    # a y-up box taller along y: after loading it must be tallest along z
    trimesh.creation.box(extents=(1, 2, .5)).export(str(meshes / 'tall.off'))
    trimesh.creation.icosphere(2).export(str(meshes / 'ball.obj'))
    (tmp_path / 'meshes' / 'notes.txt').write_text('not a mesh')
    splits = tmp_path / 'splits.txt'
    splits.write_text('chairs/ball.obj test\nchairs/tall.off train\n')
    out = str(tmp_path / 'out')
    rc, stdout = _main(capsys, 'shapenet55-views', '--meshes', str(tmp_path / 'meshes'),
                       '--out', out, '--splits-file', str(splits), '--workers', '1')
    assert rc == 0 and '2 written' in stdout
    from tap3d.datasets import ShapeNet55Dataset
    item = ShapeNet55Dataset(data_root=out, splits=('train',), num_views=12, test_mode=True)[0]
    assert np.ptp(item['coord'][:, 2]) > np.ptp(item['coord'][:, 0])
    assert item['views'].shape == (12, 224, 224, 3)
    assert (item['views'] < 250).any()
    rc, stdout = _main(capsys, 'shapenet55-views', '--meshes', str(tmp_path / 'meshes'),
                       '--out', out, '--splits-file', str(splits), '--workers', '1')
    assert rc == 0 and '2 already complete' in stdout


def test_browse_dataset_writes_aligned_sheets(world, tmp_path):
    from PIL import Image
    sys.path.insert(0, osp.join(REPO, 'tools', 'misc'))
    import browse_dataset
    out, _ = world
    cfg = osp.join(REPO, 'configs', '_base_', 'datasets', 'synthetic_shapenet55_tap.py')
    dst = str(tmp_path / 'browse')
    assert browse_dataset.main([cfg, '--output-dir', dst, '--num', '2', '--cfg-options',
                                f'train_dataloader.dataset.data_root={out}/ShapeNet55']) == 0
    assert sorted(os.listdir(dst)) == ['overview.png', 'sample_00000.png', 'sample_00001.png']
    sheet = np.asarray(Image.open(osp.join(dst, 'sample_00001.png')).convert('RGB'))
    # title bar 18 px, then 224 px of projected points over 224 px of views, 6 columns
    assert sheet.shape == (18 + 2 * 224 + 3, 6 * 224, 3)
    points_row = (sheet[18:242] < 250).any(-1)
    views_row = (sheet[242:466] < 250).any(-1)
    for col in range(6):
        a = points_row[:, col * 224:(col + 1) * 224]
        b = views_row[:, col * 224:(col + 1) * 224]
        rows_a, rows_b = np.nonzero(a.any(1))[0], np.nonzero(b.any(1))[0]
        # same vertical extent of the object in both rows, within the 10% scaling
        assert abs(rows_a.min() - rows_b.min()) < 25 and abs(rows_a.max() - rows_b.max()) < 25
