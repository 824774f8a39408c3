# Short name: the sparse-conv U-Net on ScanNetV2 semantic segmentation.
_base_ = ['./spunet_4xb3-cosine-800e_scannet.py']
