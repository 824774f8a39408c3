# Short name: Point Transformer V2 (m2) on ScanNetV2 semantic segmentation.
_base_ = ['./ptv2m2_4xb3-cosine-900e_scannet.py']
