"""Point Transformer V2 (m2): attention against the paper's equations, pooling
round trips, forward/backward in both output modes, and the parameter count."""
import math

import pytest
import torch

from tap3d.models.backbones.ptv2 import (
    GridPool,
    GroupedVectorAttention,
    PointTransformerV2,
    UnpoolWithSkip,
    knn_self,
)
from tap3d.models.heads.seg_head import SegHead


def _randomise_bn(module, gen):
    for m in module.modules():
        if isinstance(m, torch.nn.BatchNorm1d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=gen) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
            m.bias.data.copy_(torch.randn(m.num_features, generator=gen) * 0.1)


def _reference_gva(attn, feat, coord, ref_idx):
    """Grouped vector attention straight from PTv2's equations, one point, one
    neighbour and one group at a time (the module must be in eval mode)."""
    n, c = feat.shape
    groups = attn.groups
    width = c // groups

    def vec(seq, x):  # apply a sub-network to one vector
        return seq(x.unsqueeze(0)).squeeze(0)

    out = torch.zeros(n, c)
    for i in range(n):
        q_i = vec(attn.linear_q, feat[i])
        logits, values = [], []
        for j in ref_idx[i].tolist():
            if j < 0:
                continue  # a padded slot is not a neighbour
            rel_pos = coord[j] - coord[i]
            k_j = vec(attn.linear_k, feat[j])
            v_j = vec(attn.linear_v, feat[j])
            relation = k_j - q_i
            if attn.pe_multiplier:
                relation = relation * vec(attn.linear_p_multiplier, rel_pos)
            if attn.pe_bias:
                delta = vec(attn.linear_p_bias, rel_pos)
                relation = relation + delta
                v_j = v_j + delta
            logits.append(vec(attn.weight_encoding, relation))
            values.append(v_j)
        for g in range(groups):
            scores = [float(w[g]) for w in logits]
            top = max(scores)
            exps = [math.exp(s - top) for s in scores]
            total = sum(exps)
            for e, v in zip(exps, values):
                out[i, g * width:(g + 1) * width] += (e / total) * v[g * width:(g + 1) * width]
    return out


@pytest.mark.parametrize('pe_multiplier,padded', [(False, True), (True, True), (False, False)])
def test_grouped_vector_attention_matches_loop_reference(pe_multiplier, padded):
    gen = torch.Generator().manual_seed(0)
    attn = GroupedVectorAttention(8, groups=2, pe_multiplier=pe_multiplier, pe_bias=True)
    _randomise_bn(attn, gen)
    attn.eval()
    n, k = 7, 4
    feat = torch.randn(n, 8, generator=gen)
    coord = torch.rand(n, 3, generator=gen)
    ref_idx = torch.randint(0, n, (n, k), generator=gen)
    if padded:
        ref_idx[0, 2:] = -1  # padded neighbours
        ref_idx[3, 1] = -1
        ref_idx[5, 3] = -1
    with torch.no_grad():
        got = attn(feat, coord, ref_idx)
        want = _reference_gva(attn, feat, coord, ref_idx)
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)


def test_grouped_vector_attention_ignores_what_padded_slots_point_at():
    gen = torch.Generator().manual_seed(1)
    attn = GroupedVectorAttention(6, groups=3).eval()
    feat, coord = torch.randn(5, 6, generator=gen), torch.rand(5, 3, generator=gen)
    idx = torch.tensor([[0, 1, -1], [1, 2, -1], [2, 3, 4], [3, 4, -1], [4, 0, -1]])
    with torch.no_grad():
        base = attn(feat, coord, idx)
        # changing a point that only padded slots could reach must change nothing
        feat2 = feat.clone()
        feat2[0] += 100.0
        idx2 = idx.clone()
        idx2[1, 2] = -1
        out = attn(feat2, coord, idx2)
    torch.testing.assert_close(out[1:4], base[1:4])


def _tiny_backbone(out='decoder'):
    return PointTransformerV2(
        in_channels=6, patch_embed_channels=8, patch_embed_groups=2,
        patch_embed_neighbours=4, enc_depths=(1, 1), enc_channels=(16, 16),
        enc_groups=(2, 4), enc_neighbours=(4, 4), dec_depths=(1, 1),
        dec_channels=(8, 16), dec_groups=(2, 2), dec_neighbours=(4, 4),
        grid_sizes=(0.2, 0.5), drop_path_rate=0.1, out=out)


def _batch(sizes=(40, 25), channels=6, seed=0):
    gen = torch.Generator().manual_seed(seed)
    coord = torch.rand(sum(sizes), 3, generator=gen)
    feat = torch.randn(sum(sizes), channels, generator=gen)
    offset = torch.cumsum(torch.tensor(sizes), 0)
    return dict(coord=coord, feat=feat, offset=offset)


def test_grid_pool_clusters_stay_within_their_sample():
    pool = GridPool(6, 8, grid_size=0.3)
    inputs = _batch((30, 20))
    (p_coord, p_feat, p_offset), cluster = pool(
        [inputs['coord'], inputs['feat'], inputs['offset']])
    assert p_feat.shape == (p_coord.shape[0], 8)
    assert int(p_offset[-1]) == p_coord.shape[0]
    batch = torch.repeat_interleave(torch.arange(2), torch.tensor([30, 20]))
    p_sizes = torch.diff(p_offset, prepend=p_offset.new_zeros(1))
    p_batch = torch.repeat_interleave(torch.arange(2), p_sizes)
    # every point maps to a voxel of its own sample, and every voxel is used
    assert torch.equal(p_batch[cluster], batch)
    assert torch.equal(torch.unique(cluster), torch.arange(p_coord.shape[0]))
    # a voxel's coordinate is the mean of its points and they share one grid cell
    for v in range(p_coord.shape[0]):
        members = inputs['coord'][cluster == v]
        torch.testing.assert_close(p_coord[v], members.mean(0))
        start = inputs['coord'][batch == p_batch[v]].min(0).values
        cells = torch.floor((members - start) / 0.3)
        assert (cells == cells[0]).all()


def test_map_unpool_gives_every_point_its_voxel_feature():
    pool = GridPool(6, 8, grid_size=0.3)
    unpool = UnpoolWithSkip(8, 6, 4, skip=False).eval()
    inputs = _batch((30, 20))
    fine = [inputs['coord'], inputs['feat'], inputs['offset']]
    coarse, cluster = pool(fine)
    with torch.no_grad():
        coord, feat, offset = unpool(coarse, fine, cluster)
        want = unpool.proj(coarse[1])[cluster]
    assert torch.equal(coord, inputs['coord']) and torch.equal(offset, inputs['offset'])
    torch.testing.assert_close(feat, want)


def test_knn_marks_slots_a_small_sample_cannot_fill():
    coord = torch.rand(8, 3)
    offset = torch.tensor([3, 8])  # sample 0 has 3 points, sample 1 has 5
    idx = knn_self(coord, offset, 4)
    assert (idx[:3, 3] == -1).all() and (idx[:3, :3] >= 0).all()
    assert (idx[:3, :3] < 3).all() and (idx[3:] >= 3).all()
    # each point is its own nearest neighbour
    assert torch.equal(idx[:, 0], torch.arange(8))


def test_backbone_decoder_and_encoder_outputs():
    torch.manual_seed(0)
    inputs = _batch()
    dec = _tiny_backbone('decoder')
    out = dec(inputs)
    assert out['feats'].shape == (65, 8) and dec.out_channels == 8
    assert torch.equal(out['coords'], inputs['coord'])
    assert torch.equal(out['offset'], inputs['offset'])
    out['feats'].sum().backward()
    assert dec.patch_embed.proj[0].weight.grad is not None

    enc = _tiny_backbone('encoder')
    assert enc.dec_stages is None and enc.out_channels == 16
    out = enc(inputs)
    m = out['coords'].shape[0]
    assert out['feats'].shape == (m, 16) and m < 65
    assert out['offset'].shape == (2, ) and int(out['offset'][-1]) == m
    # the encoder-only model's weights are a subset of the full model's
    assert set(enc.state_dict()) <= set(dec.state_dict())


def test_backbone_rejects_wrong_feature_width():
    with pytest.raises(ValueError, match='in_channels'):
        _tiny_backbone()(_batch(channels=5))


def test_scannet_parameter_count_matches_reference():
    # the reference PT-v2m2 (ScanNet config, 20 classes) counts its seg head too
    backbone = PointTransformerV2(in_channels=9)
    head = SegHead(backbone.out_channels, 20, hidden_channels=48)
    total = sum(p.numel() for p in backbone.parameters()) + sum(
        p.numel() for p in head.parameters())
    assert abs(total - 11_323_948) / 11_323_948 < 0.01
    assert total == 11_323_948


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA device')
def test_backbone_gives_the_same_features_on_cuda():
    torch.manual_seed(0)
    model = _tiny_backbone('decoder').eval()
    inputs = _batch()
    with torch.no_grad():
        want = model(inputs)['feats']
        got = model.to('cuda')({k: v.to('cuda') for k, v in inputs.items()})['feats']
    torch.testing.assert_close(got.cpu(), want, rtol=1e-3, atol=1e-4)
