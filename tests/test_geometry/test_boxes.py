import pytest
import torch

from tap3d.geometry.boxes import (
    axis_aligned_giou_3d,
    axis_aligned_iou_3d,
    box3d_corners,
    class_aware_nms_3d,
    nms_3d,
)


def _grid_iou(a, b, n=60):
    """IoU by counting cells of a regular grid over both boxes' bounding region."""
    lo = torch.minimum(a[:3] - a[3:] / 2, b[:3] - b[3:] / 2)
    hi = torch.maximum(a[:3] + a[3:] / 2, b[:3] + b[3:] / 2)
    axes = [lo[i] + (torch.arange(n, dtype=torch.float64) + 0.5) * (hi[i] - lo[i]) / n
            for i in range(3)]
    p = torch.stack(torch.meshgrid(*axes, indexing='ij'), -1).reshape(-1, 3)

    def inside(box):
        return ((p - box[:3]).abs() <= box[3:] / 2).all(-1)

    ia, ib = inside(a), inside(b)
    return (ia & ib).sum().item() / max((ia | ib).sum().item(), 1)


def test_iou_matches_grid_count():
    g = torch.Generator().manual_seed(0)
    for _ in range(5):
        a = torch.cat([torch.rand(3, generator=g), 0.3 + torch.rand(3, generator=g)]).double()
        b = torch.cat([torch.rand(3, generator=g), 0.3 + torch.rand(3, generator=g)]).double()
        exact = axis_aligned_iou_3d(a[None], b[None])[0, 0].item()
        assert exact == pytest.approx(_grid_iou(a, b), abs=0.03)


def test_iou_known_values_and_giou():
    a = torch.tensor([[0., 0, 0, 2, 2, 2]])
    b = torch.tensor([[1., 0, 0, 2, 2, 2], [0, 0, 0, 2, 2, 2], [5, 0, 0, 2, 2, 2]])
    iou = axis_aligned_iou_3d(a, b)[0]
    # Half overlap: 4 / (8 + 8 - 4) = 1/3.
    assert iou.tolist() == pytest.approx([1 / 3, 1.0, 0.0])
    giou = axis_aligned_giou_3d(a, b)[0]
    # Disjoint: enclosing box 7x2x2 = 28, union 16 -> 0 - 12/28.
    assert giou.tolist() == pytest.approx([1 / 3, 1.0, -12 / 28])
    assert torch.all(giou <= iou + 1e-6)


def test_giou_has_gradient_for_disjoint_boxes():
    a = torch.tensor([[0., 0, 0, 1, 1, 1]], requires_grad=True)
    b = torch.tensor([[3., 0, 0, 1, 1, 1]])
    axis_aligned_giou_3d(a, b).sum().backward()
    # Moving a towards b increases GIoU even without overlap.
    assert a.grad[0, 0] > 0


def test_batched_shapes_and_corners():
    boxes = torch.rand(2, 5, 6) + 0.1
    assert axis_aligned_iou_3d(boxes, boxes[:, :3]).shape == (2, 5, 3)
    c = box3d_corners(torch.tensor([0., 0, 0, 2, 4, 6]))
    assert c.shape == (8, 3)
    assert c.min(0)[0].tolist() == [-1, -2, -3] and c.max(0)[0].tolist() == [1, 2, 3]
    with pytest.raises(ValueError, match='6 values'):
        axis_aligned_iou_3d(torch.zeros(2, 7), torch.zeros(2, 6))


def test_nms_and_class_aware_nms():
    boxes = torch.tensor([[0., 0, 0, 1, 1, 1], [0.05, 0, 0, 1, 1, 1], [3, 3, 3, 1, 1, 1]])
    scores = torch.tensor([0.5, 0.9, 0.7])
    assert nms_3d(boxes, scores, 0.25).tolist() == [1, 2]
    # The same overlapping pair with different labels survives class-aware NMS.
    keep = class_aware_nms_3d(boxes, scores, torch.tensor([0, 1, 0]), 0.25)
    assert sorted(keep.tolist()) == [0, 1, 2]
    keep = class_aware_nms_3d(boxes, scores, torch.tensor([1, 1, 0]), 0.25)
    assert keep.tolist() == [1, 2]
    assert nms_3d(boxes[:0], scores[:0], 0.25).numel() == 0
