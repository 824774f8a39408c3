# Ablation H2 (paper Table 7b): pixel loss (20 : 1) plus perceptual loss, weight 2.
# VGG16 weights come from a local torchvision state dict; nothing is downloaded.
_base_ = ['./baseline.py']
vgg16_weights = 'data/pretrained/vgg16.pth'
model = dict(perceptual_loss=dict(type='PerceptualLoss', weights=vgg16_weights,
                                  loss_weight=2.0))
