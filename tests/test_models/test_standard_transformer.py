"""Standard point Transformer: Point-BERT's parameter count, grouping, contract."""
import pytest
import torch

from tap3d.models.backbones.standard_transformer import StandardPointTransformer
from tap3d.models.heads.cls_head import ClsHead
from tap3d.testing import count_parameters as _count

pytestmark = pytest.mark.usefixtures('one_thread')  # see conftest.py



def test_parameter_count_matches_point_bert_and_tap():
    with torch.device('meta'):  # shapes only: skips 22M random initialisations
        backbone = StandardPointTransformer()
        head = ClsHead(in_channels=backbone.global_channels, num_classes=15)
    assert _count(backbone) == 21_858_816
    assert _count(head) == 529_679
    assert _count(backbone) + _count(head) == 22_388_495


def test_point_bert_key_names():
    keys = StandardPointTransformer(depth=1).state_dict().keys()
    for key in ('encoder.first_conv.0.weight', 'encoder.second_conv.3.weight',
                'reduce_dim.weight', 'cls_token', 'cls_pos', 'pos_embed.2.weight',
                'blocks.0.attn.qkv.weight', 'blocks.0.mlp.fc2.bias', 'norm.weight'):
        assert key in keys


@pytest.mark.parametrize('grouping', ['knn', 'ball'])
def test_forward_backward_contract(grouping):
    torch.manual_seed(0)
    model = StandardPointTransformer(num_groups=8, group_size=8, grouping=grouping,
                                     radius=0.5, encoder_dims=32, embed_dims=24, depth=2,
                                     num_heads=3)
    points = torch.rand(2, 64, 3)
    out = model(dict(coord=points, feat=torch.rand(2, 64, 4)))
    assert out['coords'].shape == (2, 8, 3)
    assert out['feats'].shape == (2, 8, 24)
    assert out['global_feat'].shape == (2, 48)
    out['global_feat'].sum().backward()
    assert model.encoder.first_conv[0].weight.grad.abs().sum() > 0
    assert model.cls_token.grad.abs().sum() > 0


def test_patches_are_centred_neighbourhoods():
    torch.manual_seed(0)
    model = StandardPointTransformer(num_groups=4, group_size=5, depth=1)
    points = torch.rand(1, 50, 3)
    patches, centres = model.group(points)
    assert patches.shape == (1, 4, 5, 3)
    # kNN includes the centre itself, at offset zero.
    assert torch.allclose(patches.norm(dim=-1).amin(dim=-1), torch.zeros(1, 4), atol=1e-6)
    # The neighbours are the 5 nearest points of each centre.
    d = torch.cdist(centres, points).topk(5, largest=False).values
    assert torch.allclose(patches.norm(dim=-1).sort(-1).values, d, atol=1e-5)


def test_eval_mode_is_deterministic():
    model = StandardPointTransformer(num_groups=4, group_size=4, depth=2, embed_dims=12,
                                     num_heads=2, encoder_dims=16).eval()
    x = dict(coord=torch.rand(2, 32, 3))
    assert torch.equal(model(x)['global_feat'], model(x)['global_feat'])


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match='reads only xyz'):
        StandardPointTransformer(in_channels=4, depth=1)
    with pytest.raises(ValueError, match="'knn' or 'ball'"):
        StandardPointTransformer(grouping='radius', depth=1)
    model = StandardPointTransformer(num_groups=16, group_size=8, depth=1, embed_dims=12,
                                     num_heads=2, encoder_dims=16)
    with pytest.raises(ValueError, match='need more than 10 points'):
        model(dict(coord=torch.rand(1, 10, 3)))


def test_point_mae_layout_has_no_token_projection():
    """Point-MAE embeds patches at the Transformer width: no ``reduce_dim``."""
    with torch.device('meta'):
        mae = StandardPointTransformer(encoder_dims=384, project_tokens=False)
        bert = StandardPointTransformer(encoder_dims=384)
    assert not any(k.startswith('reduce_dim.') for k in mae.state_dict())
    assert _count(bert) - _count(mae) == 384 * 384 + 384
    model = StandardPointTransformer(num_groups=4, group_size=4, depth=1, embed_dims=12,
                                     num_heads=2, encoder_dims=12, project_tokens=False)
    assert model(dict(coord=torch.rand(2, 32, 3)))['global_feat'].shape == (2, 24)
    with pytest.raises(ValueError, match='project_tokens=False needs encoder_dims == '):
        StandardPointTransformer(encoder_dims=256, project_tokens=False, depth=1)
