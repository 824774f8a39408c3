# ScanObjectNN OBJ_BG: objects with background, same recipe as PB_T50_RS.
_base_ = ['./scanobjectnn_pb_t50_rs.py']
variant = 'obj_bg'
train_dataloader = dict(dataset=dict(variant=variant))
val_dataloader = dict(dataset=dict(variant=variant))
test_dataloader = val_dataloader
