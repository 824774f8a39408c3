"""get_flops.py counts the TAP head too, says what it counted, and takes the feature
width from the config's data pipeline."""
import importlib.util
import os.path as osp
import sys

import pytest
from mmengine.config import Config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CPU_TAP = osp.join(REPO, 'configs', 'tap', 'synthetic', 'tap_pointmlp_synthetic-cpu.py')

pytestmark = pytest.mark.usefixtures('one_thread')  # see conftest.py


@pytest.fixture(scope='module')
def flops():
    path = osp.join(REPO, 'tools', 'analysis', 'get_flops.py')
    spec = importlib.util.spec_from_file_location('get_flops', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    from tap3d.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    return module


def _tiny_tap():
    from tap3d.registry import MODELS
    sys.path.insert(0, osp.join(REPO, 'tests', 'data'))
    import toy_backbone  # noqa: F401  (registers ToyPointBackbone)
    return MODELS.build(dict(
        type='TAPPretrainer',
        backbone=dict(type='ToyPointBackbone', in_channels=4, channels=16, num_centers=8, k=4),
        head=dict(type='TAPHead', embed_dims=16, depth=1, num_heads=2, head_dims=8,
                  img_size=32, obj_size=28, downsample=8))).eval()


def test_tap_head_is_counted_for_every_view(flops):
    model = _tiny_tap()
    counts = {}
    for views in (2, 4):
        # ToyPointBackbone keeps no in_channels attribute: the width is given
        inputs = flops.dummy_inputs(model, batch_size=1, num_points=64, num_views=views,
                                    in_channels=4)
        assert inputs['feat'].shape == (1, 64, 4)
        assert inputs['views'].shape == (1, views, 3, 32, 32)
        total, per_module = flops.count_flops(model, inputs)
        assert set(per_module) == {'backbone', 'head'}  # the losses do not run
        assert per_module['head'] > 0 and total == per_module['backbone'] + per_module['head']
        counts[views] = per_module
    assert counts[2]['backbone'] == counts[4]['backbone']
    # the Photograph module + generator run once per view: twice the views, twice the FLOPs
    assert counts[4]['head'] == pytest.approx(2 * counts[2]['head'], rel=0.05)


def test_feature_width_comes_from_the_pipeline(flops):
    cfg = Config(dict(
        model=dict(type='PointClassifier'),
        train_dataloader=dict(dataset=dict(type='X', num_points=512, pipeline=[
            dict(type='PointSample', num_points=300),
            dict(type='BuildFeat', keys=('coord', 'height', 'normal')),
            dict(type='PackPointInputs')])),
        val_dataloader=dict(dataset=dict(type='X', pipeline=[dict(type='BuildFeat')]))))
    assert flops.pipeline_feature_width(cfg) == (
        7, "train_dataloader's BuildFeat(keys=('coord', 'height', 'normal'))")
    assert flops.config_num_points(cfg) == (300, "train_dataloader's PointSample")
    del cfg.train_dataloader.dataset.pipeline[0]
    assert flops.config_num_points(cfg) == (512, 'train_dataloader.dataset.num_points')
    assert flops.pipeline_feature_width(Config(dict(model=dict()))) == (None, '')


def test_main_reports_what_it_counted(flops, capsys):
    flops.main([CPU_TAP, '--depth', '1'])
    out = capsys.readouterr().out
    assert ("1024 points (train_dataloader.dataset.num_points); feat of 4 channels "
            "(train_dataloader's BuildFeat(keys=('coord', 'height')))") in out
    assert 'and 6 views of 56x56 per shape (train_dataloader.dataset.num_views)' in out
    rows = {line.split()[0]: float(line.split()[1]) for line in out.splitlines()
            if line.startswith('  ') and line.split()[-1] in ('G', 'views)')}
    assert rows['head'] > 0 and rows['total'] == pytest.approx(rows['backbone'] + rows['head'],
                                                               abs=2e-3)
    assert 'counted: backbone, head (TAPPretrainer.generate' in out
    assert 'not counted: data_preprocessor, loss_view' in out


def test_scene_models_are_refused_clearly(flops):
    from tap3d.utils.errors import UserError
    cfg = osp.join(REPO, 'configs', '3detr', 'synthetic', '3detr-m_1xb2-4e_synthetic-scannet.py')
    with pytest.raises(UserError, match='offset batches'):
        flops.main([cfg])
