import importlib.util
import os.path as osp

import numpy as np
import pytest
import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
_spec = importlib.util.spec_from_file_location(
    'visualize_det', osp.join(ROOT, 'tools', 'misc', 'visualize_det.py'))
vis = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(vis)


def _has_render_points():
    import tap3d.rendering as r
    return hasattr(r, 'render_points')


def test_box_edges_land_on_the_box_corners_points():
    from tap3d.geometry import compute_framing, pixel_indices
    box = torch.tensor([[1.0, 2.0, 0.5, 2.0, 1.0, 1.0]])
    from tap3d.geometry.boxes import box3d_corners
    corners = box3d_corners(box)[0]
    # A scene whose points include the box corners, so the framing covers the box.
    points = torch.cat([corners, torch.rand(50, 3) * torch.tensor([3.0, 3.0, 1.0])])
    rot = vis.view_rotations()
    s, b = compute_framing(points[None], rot[None], img_size=128, obj_size=110)
    px = vis.project_boxes(box, rot, s[0], b[0])
    assert px.shape == (2, 1, 8, 2)
    corner_px = pixel_indices(corners[None], rot[None], s, b)[0]  # (V, 8, 2)
    for v in range(2):
        img = vis.draw_boxes(np.full((128, 128, 3), 255, np.uint8), px[v], vis.GT_COLOR,
                             width=1)
        for r, c in corner_px[v].tolist():
            patch = img[max(r - 1, 0):r + 2, max(c - 1, 0):c + 2].reshape(-1, 3)
            assert (patch == np.array(vis.GT_COLOR)).all(-1).any(), (v, r, c)
    # The top view sees the box as a rectangle: its 8 corners give 4 distinct pixels.
    assert len({tuple(p) for p in corner_px[0].tolist()}) == 4


def test_edges_are_the_twelve_box_edges():
    assert len(vis.EDGES) == 12
    assert all(bin(i ^ j).count('1') == 1 for i, j in vis.EDGES)


@pytest.mark.skipif(not _has_render_points(), reason='tap3d.rendering.render_points missing')
def test_render_scene_with_boxes_writes_two_views():
    pts = torch.rand(400, 3) * torch.tensor([4.0, 3.0, 2.0])
    gt = torch.tensor([[1.0, 1.0, 1.0, 1.0, 1.0, 1.0]])
    pred = torch.tensor([[3.0, 2.0, 1.0, 0.5, 0.5, 0.5]])
    images = vis.render_scene_with_boxes(pts, None, gt, pred, img_size=96)
    assert len(images) == 2
    for img in images:
        assert img.shape == (96, 96, 3) and img.dtype == np.uint8
        colours = img.reshape(-1, 3)
        assert (colours == np.array(vis.GT_COLOR)).all(-1).any()
        assert (colours == np.array(vis.PRED_COLOR)).all(-1).any()
