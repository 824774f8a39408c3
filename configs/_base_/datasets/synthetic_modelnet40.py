# tap3d's synthetic ModelNet40 (both forms under data/synthetic/ModelNet40; the
# h5 form is read, as by the recipe): 256 points, small batches, no workers.
_base_ = ['./modelnet40.py']
data_root = 'data/synthetic/ModelNet40/modelnet40_ply_hdf5_2048'
train_dataloader = dict(batch_size=8, num_workers=0, persistent_workers=False,
                        dataset=dict(data_root=data_root, num_points=256))
val_dataloader = dict(batch_size=16, num_workers=0, persistent_workers=False,
                      dataset=dict(data_root=data_root, num_points=256))
test_dataloader = val_dataloader
