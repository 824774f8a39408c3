"""Hungarian matching and the 3DETR set loss for axis-aligned 3D boxes.

Matching (per scene, per decoder layer): the cost of assigning query i to ground
truth j is ``cost_giou * -GIoU(i, j) + cost_class * -p_i(class_j)
+ cost_center * L1(centre_i, centre_j) + cost_objectness * -p_i(object)``,
solved by ``scipy.optimize.linear_sum_assignment``. The 3DETR ScanNet recipe
uses GIoU 2, class 1, centre 0, objectness 0.

Losses (normalised by the number of ground-truth boxes, averaged over workers):

- ``loss_giou``: ``1 - GIoU`` of the matched pairs (weight 1),
- ``loss_cls``: cross entropy over the K+1 classes for every query; unmatched
  queries target "no object", whose class weight is ``no_object_weight`` (0.25),
  the weighted mean of PyTorch's ``cross_entropy`` (weight 1),
- ``loss_center``: L1 between centres normalised by the scene bounds (weight 5),
- ``loss_size``: L1 between sizes normalised by the scene extent (weight 1),
- ``loss_angle_cls`` / ``loss_angle_reg`` only when the head predicts angles;
  ScanNet boxes have angle 0, so their targets are bin 0 and residual 0.
"""
from typing import Dict, List, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from tap3d.geometry.boxes import axis_aligned_giou_3d
from tap3d.registry import MODELS

__all__ = ['HungarianMatcher3D', 'SetCriterion3D']


@MODELS.register_module()
class HungarianMatcher3D(nn.Module):
    """One-to-one assignment of queries to ground-truth boxes.

    Args:
        cost_class, cost_giou, cost_center, cost_objectness: cost weights.
    """

    def __init__(self, cost_class: float = 1.0, cost_giou: float = 2.0,
                 cost_center: float = 0.0, cost_objectness: float = 0.0):
        super().__init__()
        self.cost_class = cost_class
        self.cost_giou = cost_giou
        self.cost_center = cost_center
        self.cost_objectness = cost_objectness

    @torch.no_grad()
    def forward(self, cls_prob: Tensor, giou: Tensor, center_dist: Tensor,
                gt_labels: List[Tensor]) -> List[tuple]:
        """
        Args:
            cls_prob: ``(B, Q, K+1)`` softmax probabilities (last = no object).
            giou: B tensors ``(Q, G_b)`` or a ``(B, Q, G)`` padded tensor.
            center_dist: the same layout as ``giou``: normalised L1 centre distances.
            gt_labels: B tensors ``(G_b,)``.

        Returns:
            B pairs ``(query_idx (G_b,), gt_idx (G_b,))`` of long tensors on the
            input device (empty when a scene has no box).
        """
        from scipy.optimize import linear_sum_assignment
        out = []
        for b, labels in enumerate(gt_labels):
            g = labels.numel()
            dev = cls_prob.device
            if g == 0:
                empty = torch.zeros(0, dtype=torch.long, device=dev)
                out.append((empty, empty))
                continue
            cost = (-self.cost_class * cls_prob[b][:, labels]
                    - self.cost_giou * giou[b][:, :g]
                    + self.cost_center * center_dist[b][:, :g]
                    - self.cost_objectness * (1 - cls_prob[b][:, -1:]))
            rows, cols = linear_sum_assignment(cost.float().cpu().numpy())
            out.append((torch.as_tensor(rows, dtype=torch.long, device=dev),
                        torch.as_tensor(cols, dtype=torch.long, device=dev)))
        return out


@MODELS.register_module()
class SetCriterion3D(nn.Module):
    """The 3DETR set loss for one decoder layer (see the module docstring).

    Args:
        num_classes: semantic classes K (the no-object class is K).
        matcher: :class:`HungarianMatcher3D` config.
        loss_giou_weight, loss_cls_weight, loss_center_weight, loss_size_weight,
        loss_angle_cls_weight, loss_angle_reg_weight: loss weights
            (1, 1, 5, 1, 0.1, 0.5 as in 3DETR).
        no_object_weight: cross-entropy weight of the no-object class (0.25).
    """

    def __init__(self, num_classes: int = 18, matcher: Optional[dict] = None,
                 loss_giou_weight: float = 1.0, loss_cls_weight: float = 1.0,
                 loss_center_weight: float = 5.0, loss_size_weight: float = 1.0,
                 loss_angle_cls_weight: float = 0.1, loss_angle_reg_weight: float = 0.5,
                 no_object_weight: float = 0.25):
        super().__init__()
        self.num_classes = num_classes
        self.matcher = MODELS.build(matcher or dict(type='HungarianMatcher3D'))
        self.weights = dict(loss_giou=loss_giou_weight, loss_cls=loss_cls_weight,
                            loss_center=loss_center_weight, loss_size=loss_size_weight,
                            loss_angle_cls=loss_angle_cls_weight,
                            loss_angle_reg=loss_angle_reg_weight)
        cls_weight = torch.ones(num_classes + 1)
        cls_weight[-1] = no_object_weight
        self.register_buffer('cls_weight', cls_weight, persistent=False)

    @staticmethod
    def num_boxes(gt_labels: List[Tensor], device) -> float:
        """Ground-truth boxes in the batch, averaged over workers, at least 1."""
        n = torch.tensor(float(sum(x.numel() for x in gt_labels)), device=device)
        from mmengine.dist import all_reduce, get_world_size
        if get_world_size() > 1:
            all_reduce(n, op='mean')
        return max(float(n), 1.0)

    def forward(self, out: Dict[str, Tensor], gt_bboxes: List[Tensor], gt_labels: List[Tensor],
                dims_min: Tensor, dims_max: Tensor,
                num_boxes: Optional[float] = None) -> Dict[str, Tensor]:
        """
        Args:
            out: one decoder layer's predictions (``cls_logits (B, Q, K+1)``,
                ``bboxes (B, Q, 6)``, ``center_normalized (B, Q, 3)``,
                ``size_normalized (B, Q, 3)``, optional angle outputs).
            gt_bboxes: B tensors ``(G_b, 6)`` centre-size in metres.
            gt_labels: B tensors ``(G_b,)`` in ``[0, K)``.
            dims_min, dims_max: ``(B, 3)`` scene bounds used for normalisation.
            num_boxes: the loss normaliser; by default the number of ground-truth
                boxes averaged over workers (at least 1).

        Returns:
            dict of weighted scalar losses.
        """
        # Matching and losses run in float32, also under AMP (volumes, softmax).
        out = {k: v.float() if torch.is_tensor(v) and v.is_floating_point() else v
               for k, v in out.items()}
        dims_min, dims_max = dims_min.float(), dims_max.float()
        logits = out['cls_logits']
        b, q, _ = logits.shape
        if len(gt_bboxes) != b or len(gt_labels) != b:
            raise ValueError(f'set_criterion: {b} predictions but {len(gt_bboxes)} box sets '
                             f'and {len(gt_labels)} label sets')
        dev = logits.device
        gt_bboxes = [g.to(dev, torch.float32).reshape(-1, 6) for g in gt_bboxes]
        gt_labels = [g.to(dev).long().reshape(-1) for g in gt_labels]
        for labels in gt_labels:
            if labels.numel() and (labels.min() < 0 or labels.max() >= self.num_classes):
                raise ValueError(f'set_criterion: labels must lie in [0, {self.num_classes}), '
                                 f'got {labels.tolist()}')
        extent = (dims_max - dims_min)
        gious, cdists = [], []
        for i in range(b):
            gious.append(axis_aligned_giou_3d(out['bboxes'][i], gt_bboxes[i]))
            gt_center_n = (gt_bboxes[i][:, :3] - dims_min[i]) / extent[i]
            cdists.append(torch.cdist(out['center_normalized'][i], gt_center_n, p=1))
        match = self.matcher(logits.softmax(-1), [g.detach() for g in gious],
                             [c.detach() for c in cdists], gt_labels)
        if num_boxes is None:
            num_boxes = self.num_boxes(gt_labels, dev)

        target_cls = torch.full((b, q), self.num_classes, dtype=torch.long, device=dev)
        giou_sum = logits.new_zeros(())
        center_sum = logits.new_zeros(())
        size_sum = logits.new_zeros(())
        matched_q = []
        for i, (qi, gi) in enumerate(match):
            matched_q.append(qi)
            if qi.numel() == 0:
                continue
            target_cls[i, qi] = gt_labels[i][gi]
            giou_sum = giou_sum + (1 - gious[i][qi, gi]).sum()
            center_sum = center_sum + cdists[i][qi, gi].sum()
            gt_size_n = gt_bboxes[i][gi, 3:6] / extent[i]
            size_sum = size_sum + F.l1_loss(out['size_normalized'][i, qi], gt_size_n,
                                            reduction='sum')
        losses = dict(
            loss_giou=giou_sum / num_boxes,
            loss_cls=F.cross_entropy(logits.transpose(1, 2), target_cls, self.cls_weight),
            loss_center=center_sum / num_boxes,
            loss_size=size_sum / num_boxes)
        if 'angle_logits' in out:
            ang_cls = logits.new_zeros(())
            ang_reg = logits.new_zeros(())
            for i, qi in enumerate(matched_q):
                if qi.numel() == 0:
                    continue
                al = out['angle_logits'][i, qi]
                # Axis-aligned ground truth: angle bin 0, residual 0.
                zero = torch.zeros(qi.numel(), dtype=torch.long, device=dev)
                ang_cls = ang_cls + F.cross_entropy(al, zero, reduction='sum')
                res = out['angle_residual_normalized'][i, qi, 0]
                ang_reg = ang_reg + F.huber_loss(res, torch.zeros_like(res), delta=1.0,
                                                 reduction='sum')
            losses['loss_angle_cls'] = ang_cls / num_boxes
            losses['loss_angle_reg'] = ang_reg / num_boxes
        return {k: v * self.weights[k] for k, v in losses.items() if self.weights[k] > 0}
