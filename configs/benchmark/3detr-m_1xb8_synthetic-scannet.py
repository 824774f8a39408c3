# Speed benchmark of 3DETR-m training on ScanNet, paper recipe
# (tools/analysis/benchmark.py): the full detector (masked encoder, 2048
# pre-encoder points, 256 queries, 8 decoder layers, 7.44M parameters), 40,000
# points per scene, batch 8 per GPU, AdamW + grad clip 0.1. Model inputs are
# synthetic rooms (tap3d.datasets.synthetic.scenes) with their boxes; the data
# pipeline is the ScanNet one pointed at tap3d's synthetic rooms.
_base_ = [
    '../_base_/datasets/synthetic_scannet_det.py', '../_base_/models/3detr-m.py',
    '../_base_/schedules/3detr_1080e.py', '../_base_/default_runtime.py'
]

train_dataloader = dict(batch_size=8)
benchmark = dict(num_points=40000)
