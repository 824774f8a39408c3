# Speed benchmark of PTv2 (m2) training on ScanNet semantic segmentation, paper
# recipe (tools/analysis/benchmark.py): the full model (11.32M parameters), 3
# scenes per GPU of 100,000 points each (the pipeline's sphere-crop limit after
# 2 cm grid sampling), AdamW. Model inputs are synthetic rooms
# (tap3d.datasets.synthetic.scenes: xyz, colour, normal) with point labels; the
# data pipeline is the ScanNet one pointed at tap3d's synthetic rooms.
_base_ = [
    '../_base_/models/ptv2m2.py', '../_base_/datasets/synthetic_scannet_seg.py',
    '../_base_/schedules/ptv2_900e.py', '../_base_/default_runtime.py'
]

train_dataloader = dict(batch_size=3)
benchmark = dict(num_points=100000)
