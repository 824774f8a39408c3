"""TAP pre-training: any registered backbone + the TAP head + the view loss(es)."""
import copy

import torch
import torch.nn.functional as F
from mmengine.model import BaseModel
from mmengine.structures import BaseDataElement

from tap3d.registry import MODELS

from ..data_preprocessors import build_data_preprocessor
from ..losses.view_loss import ViewLoss, view_loss
from ..utils.build_backbone import build_backbone


@MODELS.register_module()
class TAPPretrainer(BaseModel):
    """Pre-train a point-cloud backbone by generating view images (TAP).

    Only ``backbone`` is kept for fine-tuning; its weights transfer with
    ``init_cfg=dict(type='CheckedPretrained', checkpoint=..., prefix='backbone.')``.

    Args:
        backbone (dict): config of any backbone that follows the backbone contract
            (``coords``, ``feats`` [+ ``mask`` | ``offset``]).
        head (dict): config of :class:`TAPHead`; ``in_channels`` defaults to the
            backbone's ``out_channels``.
        loss (dict): pixel loss, default :class:`ViewLoss` (w_fg 20, w_bg 1).
        perceptual_loss (dict, optional): e.g. ``dict(type='PerceptualLoss',
            weights='data/vgg16.pth', loss_weight=2.0)``; None disables it.
        resize_views (bool): area-resize ground-truth views to the head's
            ``img_size`` when they differ (CPU demos train on 224-pixel renders
            shrunk 4x; the framing of the small image then matches to within a
            pixel when ``obj_size`` is scaled by the same factor).
        shuffle_point_features (bool): ablation: give the head of each sample the
            backbone tokens (``coords``, ``feats``, ``mask``) of another sample of the
            batch (a cyclic shift by a random non-zero offset, in training and in
            prediction). The framing and the poses stay the sample's own, so the
            generated views can use everything except its geometry. Needs batches of
            at least 2 samples and padded (``stack``) backbone outputs.
        data_preprocessor (dict, optional): default ``PointDataPreprocessor``
            in ``stack`` mode.
    """

    def __init__(self, backbone, head, loss=dict(type='ViewLoss'), perceptual_loss=None,
                 resize_views=False, shuffle_point_features=False, data_preprocessor=None,
                 init_cfg=None):
        data_preprocessor = build_data_preprocessor(data_preprocessor, 'stack')
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = build_backbone(backbone)
        head = copy.deepcopy(head)
        if head.get('in_channels') is None:
            if not hasattr(self.backbone, 'out_channels'):
                raise ValueError('TAPPretrainer: head.in_channels is not set and the backbone '
                                 f'{type(self.backbone).__name__} has no out_channels attribute')
            head['in_channels'] = self.backbone.out_channels
        self.head = MODELS.build(head)
        self.loss_view = MODELS.build(loss)
        self.loss_perceptual = MODELS.build(perceptual_loss) if perceptual_loss else None
        self.resize_views = resize_views
        self.shuffle_point_features = shuffle_point_features

    @staticmethod
    def _framing_points(inputs):
        """The point set that frames the views, as keyword arguments of the head."""
        if 'coord' not in inputs:
            raise KeyError("TAPPretrainer needs inputs['coord']: (B, N, 3), or (ΣN, 3) with "
                           f"'offset' (B,); got keys {list(inputs)}")
        if 'offset' in inputs:
            return dict(points=inputs['coord'], point_offset=inputs['offset'])
        return dict(points=inputs['coord'], point_mask=inputs.get('point_mask'))

    def generate(self, inputs):
        """Backbone + head: inputs dict -> (views (B, V, 3, H, W), backbone output)."""
        if 'view_rotations' not in inputs:
            raise KeyError("TAPPretrainer needs inputs['view_rotations'] (B, V, 3, 3); got "
                           f'keys {list(inputs)}')
        feats = self.backbone(inputs)
        tokens = self._shuffled(feats) if self.shuffle_point_features else feats
        views = self.head(tokens, rotations=inputs['view_rotations'],
                          **self._framing_points(inputs))
        return views, feats

    @staticmethod
    def _shuffled(backbone_out):
        """The ablation's tokens: sample i gets those of sample (i + r) mod B, r in [1, B)."""
        if 'offset' in backbone_out:
            raise ValueError('TAPPretrainer(shuffle_point_features=True) needs padded '
                             "backbone outputs (batch_mode='stack'), not the offset form")
        B = backbone_out['coords'].shape[0]
        if B < 2:
            raise ValueError('TAPPretrainer(shuffle_point_features=True) needs batches of at '
                             f'least 2 samples, got {B}')
        shift = int(torch.randint(1, B, ()))
        return {k: v.roll(shift, dims=0) if k in ('coords', 'feats', 'mask') else v
                for k, v in backbone_out.items()}

    def _gt_views(self, inputs, pred):
        if 'views' not in inputs:
            raise KeyError("TAPPretrainer needs ground-truth inputs['views'] (B, V, 3, H, W)")
        gt = inputs['views']
        if gt.dtype == torch.uint8:
            gt = gt.float() / 255.0
        if self.resize_views and gt.dim() == 5 and gt.shape[-2:] != pred.shape[-2:]:
            B, V = gt.shape[:2]
            gt = F.interpolate(gt.flatten(0, 1).float(), size=pred.shape[-2:], mode='area')
            gt = gt.view(B, V, *gt.shape[1:])
        if gt.shape != pred.shape:
            raise ValueError(f'TAPPretrainer: ground-truth views {tuple(gt.shape)} do not match '
                             f'generated views {tuple(pred.shape)}; check that the dataset image '
                             "size equals the head's img_size (or set resize_views=True) and that "
                             'the numbers of views agree')
        return gt.to(pred.dtype)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        """Run in one of three modes.

        Args:
            inputs (dict): batch from the preprocessor: ``points`` (B, N, 3),
                ``feats`` (B, N, C), ``views`` (B, V, 3, H, W) in [0, 1],
                ``view_rotations`` (B, V, 3, 3) (scene batches: ``coord``/``feat``/``offset``).
            data_samples (list, optional): per-sample data elements.
            mode (str): ``'loss'`` -> dict of losses (``loss_view``,
                [``loss_perceptual``]) plus the logged ``mse_fg``/``mse_bg``;
                ``'predict'`` -> list of ``BaseDataElement`` with ``pred_views`` and
                ``gt_views`` (V, 3, H, W); ``'tensor'`` -> the backbone's output dict.
        """
        if mode == 'tensor':
            return self.backbone(inputs)
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        raise ValueError(f"TAPPretrainer: unknown mode {mode!r}; use 'loss', 'predict' or "
                         "'tensor'")

    def loss(self, inputs, data_samples=None):
        """inputs -> dict(loss_view, [loss_perceptual], mse_fg, mse_bg)."""
        pred, _ = self.generate(inputs)
        gt = self._gt_views(inputs, pred)
        if isinstance(self.loss_view, ViewLoss):
            loss, mse_fg, mse_bg = self.loss_view(pred, gt, return_parts=True)
        else:  # another loss: the logged MSEs need a pass of their own
            loss = self.loss_view(pred, gt)
            with torch.no_grad():
                thr = getattr(self.loss_view, 'white_threshold', 1.0)
                _, mse_fg, mse_bg = view_loss(pred.detach(), gt, white_threshold=thr)
        losses = dict(loss_view=loss)
        if self.loss_perceptual is not None:
            losses['loss_perceptual'] = self.loss_perceptual(pred, gt)
        losses.update(mse_fg=mse_fg, mse_bg=mse_bg)  # logged, not optimised
        return losses

    def predict(self, inputs, data_samples=None):
        """inputs -> list (length B) of data elements with ``pred_views``/``gt_views``."""
        pred, _ = self.generate(inputs)
        gt = self._gt_views(inputs, pred) if 'views' in inputs else None
        B = pred.shape[0]
        if data_samples is None:
            data_samples = [BaseDataElement() for _ in range(B)]
        for i, sample in enumerate(data_samples):
            sample.pred_views = pred[i].detach()
            if gt is not None:
                sample.gt_views = gt[i]
        return data_samples
