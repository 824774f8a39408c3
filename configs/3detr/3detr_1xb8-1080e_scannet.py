# Plain 3DETR (global self-attention encoder over 2048 points) on ScanNetV2.
# The public code gives its encoder-to-decoder projection two hidden layers; its
# plain-encoder script keeps the default encoder dropout 0.1 (3DETR-m uses 0.3).
_base_ = ['./3detr-m_1xb8-1080e_scannet.py']

model = dict(backbone=dict(encoder_type='vanilla', dropout=0.1),
             head=dict(proj_hidden_layers=2))
