"""ViewMetric: every view scored once, the same on one or two processes, and its baseline."""
import socket

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tap3d.evaluation.metrics import ViewMetric

NUM_SAMPLES, V, H = 5, 3, 8  # 5 samples: two ranks get padded shards of 3


def _samples(seed=0):
    """5 samples of 3 views: random grey squares on white, and the 12 mean views."""
    g = torch.Generator().manual_seed(seed)
    samples = []
    for i in range(NUM_SAMPLES):
        gt = torch.ones(V, 3, H, H)
        pred = torch.rand(V, 3, H, H, generator=g) * 0.3 + 0.7
        for v in range(V):
            r, c = torch.randint(0, 4, (2, ), generator=g).tolist()
            gt[v, :, r:r + 4, c:c + 4] = 0.2 + 0.1 * v
        samples.append(dict(pred_views=pred, gt_views=gt,
                            view_indices=np.array([0, 4, 8]) + i % 4))
    mean_views = torch.rand(12, 3, H, H, generator=g)
    return samples, mean_views


def _by_hand(samples, views_of):
    """Mean over every view of every sample, one plain loop per view."""
    rows = []
    for s in samples:
        for v in range(V):
            pred, gt = views_of(s, v).double(), s['gt_views'][v].double()
            sq = (pred - gt)**2
            fg = (gt < 1.0).any(0)
            fg3 = fg.expand(3, H, H)
            mse_fg = sq[fg3].mean().item() if fg3.any() else 0.0
            mse_bg = sq[~fg3].mean().item() if (~fg3).any() else 0.0
            pf = (pred < 0.95).any(0)
            union = (fg | pf).sum().item()
            rows.append(dict(loss=20 * mse_fg + mse_bg, mse=sq.mean().item(), mse_fg=mse_fg,
                             mse_bg=mse_bg,
                             fg_iou=(fg & pf).sum().item() / union if union else 1.0))
    return {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}


def _expected(samples, mean_views):
    model = _by_hand(samples, lambda s, v: s['pred_views'][v])
    base = _by_hand(samples, lambda s, v: mean_views[s['view_indices'][v]])
    return {**{f'view/{k}': x for k, x in model.items()},
            **{f'view/baseline_{k}': x for k, x in base.items()}}


def test_every_view_of_every_sample_is_scored():
    samples, mean_views = _samples()
    metric = ViewMetric(mean_views=mean_views)
    metric.process(None, samples)
    assert len(metric.results) == NUM_SAMPLES  # one result per sample, all views inside
    res = metric.evaluate(NUM_SAMPLES)
    assert list(res)[0] == 'view/loss'  # first key drives save_best='auto'
    assert res == pytest.approx(_expected(samples, mean_views), rel=1e-9)


def test_baseline_needs_mean_views_and_view_indices():
    samples, mean_views = _samples()
    metric = ViewMetric()
    metric.process(None, samples)
    assert not any(k.startswith('baseline') for k in metric.compute_metrics(metric.results))
    metric = ViewMetric(mean_views=mean_views)
    metric.process(None, [{k: v for k, v in s.items() if k != 'view_indices'} for s in samples])
    assert not any(k.startswith('baseline') for k in metric.compute_metrics(metric.results))


def test_mean_views_in_image_layout_are_resized_by_area():
    samples, _ = _samples()
    big = np.random.default_rng(0).uniform(0, 255, (12, 2 * H, 2 * H, 3))  # (P, H, W, 3)
    metric = ViewMetric(mean_views=big)
    metric.process(None, samples)
    small = F.avg_pool2d(torch.from_numpy(big).permute(0, 3, 1, 2) / 255.0, 2)
    expected = _expected(samples, small)
    res = metric.compute_metrics(metric.results)
    assert res['baseline_mse'] == pytest.approx(expected['view/baseline_mse'], rel=1e-9)
    with pytest.raises(ValueError, match='mean_views'):
        ViewMetric(mean_views=np.zeros((12, 8, 8)))


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _rank_main(rank, world_size, port, out):
    import torch.distributed as dist
    from mmengine.dataset import DefaultSampler
    torch.set_num_threads(1)
    dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}', rank=rank,
                            world_size=world_size)
    try:
        samples, mean_views = _samples()
        metric = ViewMetric(mean_views=mean_views)
        # the shard (padded to equal length) that mmengine's sampler gives this rank
        for i in DefaultSampler(samples, shuffle=False):
            metric.process(None, [samples[i]])
        res = metric.evaluate(NUM_SAMPLES)
        torch.save(res, f'{out}.rank{rank}')
    finally:
        dist.destroy_process_group()


def test_two_processes_match_one_and_the_hand_mean(tmp_path):
    samples, mean_views = _samples()
    one = ViewMetric(mean_views=mean_views)
    one.process(None, samples)
    res_one = one.evaluate(NUM_SAMPLES)
    out = str(tmp_path / 'metrics')
    torch.multiprocessing.spawn(_rank_main, args=(2, _free_port(), out), nprocs=2, join=True)
    res_two = [torch.load(f'{out}.rank{r}') for r in range(2)]
    expected = _expected(samples, mean_views)
    assert res_one == pytest.approx(expected, rel=1e-9)
    for res in res_two:  # every rank gets the broadcast result
        assert res == pytest.approx(res_one, rel=1e-12)
