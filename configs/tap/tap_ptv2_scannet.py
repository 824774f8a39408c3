# Short name: scene-level TAP pre-training of PTv2 (m2) on ScanNetV2.
_base_ = ['./tap_ptv2_4xb3-cosine-100e_scannet.py']
