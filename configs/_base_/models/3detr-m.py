# 3DETR-m (Misra et al., ICCV 2021): masked encoder + 8-layer decoder, ScanNet's 18
# classes. Defaults (layer widths, radii, dropout) live in the constructors; see
# docs/detection.md. The plain encoder is configs/3detr/3detr_1xb8-1080e_scannet.py.
model = dict(
    type='ThreeDETR',
    data_preprocessor=dict(type='PointDataPreprocessor', batch_mode='offset'),
    # The authors' 3DETR-m ScanNet script raises the encoder dropout to 0.3.
    backbone=dict(type='ThreeDETREncoder', encoder_type='masked', dropout=0.3),
    head=dict(
        type='ThreeDETRHead',
        num_classes=18,
        num_queries=256,
        proj_hidden_layers=1,
        loss=dict(
            type='SetCriterion3D',
            num_classes=18,
            matcher=dict(type='HungarianMatcher3D', cost_class=1.0, cost_giou=2.0,
                         cost_center=0.0, cost_objectness=0.0),
            loss_giou_weight=1.0,
            loss_cls_weight=1.0,
            loss_center_weight=5.0,
            loss_size_weight=1.0,
            no_object_weight=0.25),
        test_cfg=dict(nms_iou=0.25, score_thr=0.05, remove_empty_box=True,
                      per_class_proposal=True)))
