# tap3d's synthetic part-labelled shapes (python tools/create_data.py synthetic)
# in the ShapeNetPart layout: 512 points, batch 8, no worker processes.
_base_ = ['./shapenetpart.py']
data_root = 'data/synthetic/ShapeNetPart/shapenetcore_partanno_segmentation_benchmark_v0_normal'
train_dataloader = dict(batch_size=8, num_workers=0, persistent_workers=False,
                        dataset=dict(data_root=data_root, num_points=512))
val_dataloader = dict(batch_size=8, num_workers=0, persistent_workers=False,
                      dataset=dict(data_root=data_root, num_points=512))
test_dataloader = val_dataloader
