# The standard point Transformer trained from scratch on ScanObjectNN PB_T50_RS with TAP's recipe
# (AdamW 5e-4, wd 0.05, cosine 300 epochs, batch 32, label smoothing 0.3).
_base_ = [
    '../_base_/models/standard_transformer.py', '../_base_/datasets/scanobjectnn_pb_t50_rs.py',
    '../_base_/schedules/cls_adamw_cosine_300e.py', '../_base_/default_runtime.py'
]
