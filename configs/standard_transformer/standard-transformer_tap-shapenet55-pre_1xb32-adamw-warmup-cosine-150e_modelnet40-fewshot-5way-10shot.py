# The standard point Transformer fine-tuned from TAP on ModelNet40 few-shot,
# 5-way 10-shot (Point-BERT protocol: AdamW 5e-4, 10 warm-up epochs, cosine
# 150 epochs). This trains one fold; tools/run_fewshot.py runs all ten and prints
# mean +- std.
_base_ = [
    '../_base_/models/standard_transformer.py', '../_base_/datasets/fewshot_modelnet40.py',
    '../_base_/schedules/cls_adamw_warmup10_cosine_150e.py', '../_base_/default_runtime.py'
]
way = 5
shot = 10
pretrained = 'work_dirs/tap_standard-transformer_1xb32-cosine-100e_shapenet55/epoch_100.pth'
model = dict(
    backbone=dict(
        init_cfg=dict(type='CheckedPretrained', checkpoint=pretrained, prefix='backbone.')),
    head=dict(num_classes=way, loss=dict(smoothing=0.0)))
train_dataloader = dict(dataset=dict(way=way, shot=shot))
val_dataloader = dict(dataset=dict(way=way, shot=shot))
test_dataloader = val_dataloader
