# Short name: 3DETR-m on ScanNetV2.
_base_ = ['./3detr-m_8xb8-1080e_scannet.py']
