# Ablation H1 (paper Table 7b): perceptual loss only (weight 2), no pixel loss.
# VGG16 weights come from a local torchvision state dict; nothing is downloaded.
_base_ = ['./baseline.py']
vgg16_weights = 'data/pretrained/vgg16.pth'
model = dict(
    loss=dict(loss_weight=0.0),
    perceptual_loss=dict(type='PerceptualLoss', weights=vgg16_weights, loss_weight=2.0))
