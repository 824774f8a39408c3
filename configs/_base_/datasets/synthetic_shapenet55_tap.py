# The ShapeNet55 TAP recipe on tap3d's synthetic shapes
# (python tools/create_data.py synthetic): the same pipeline, pointed at
# data/synthetic/ShapeNet55, with small CPU-friendly batches and no workers.
# Model configs may shrink the images or the number of views further.
_base_ = ['./shapenet55_tap.py']

data_root = 'data/synthetic/ShapeNet55'

train_dataloader = dict(
    batch_size=8, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root))
val_dataloader = dict(
    batch_size=8, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
