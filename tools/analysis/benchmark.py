"""Training and inference speed of a config's model, and of its data pipeline.

    python tools/analysis/benchmark.py CONFIG [--vs CONFIG2 | --vs-options k=v ...]
        [--device cpu|cuda] [--batch-size B] [--amp] [--compile] [--steps N]
        [--warmup W] [--threads T] [--timer cpu|wall] [--workers K] [--json out.json]
        [--allocator keep|system] [--vs-allocator keep|system]
        [--env K=V ...] [--vs-env K=V ...] [--repeat R]

What it measures, per variant (each in a fresh process, so peak memory is its own):

- **train**: one optimisation step (forward in ``'loss'`` mode, backward, the
  config's optimiser with its gradient clipping), samples/s = B / median time;
- **infer**: one forward pass under ``torch.no_grad`` in eval mode;
- **memory**: peak RSS (CPU) and ``torch.cuda.max_memory_allocated`` (CUDA);
- **FLOPs per sample** of the training step (forward + backward, counted by
  ``torch.utils.flop_counter.FlopCounterMode`` as in ``get_flops.py``: matmul,
  conv and attention ops, 1 multiply-add = 2 FLOPs) and the achieved GFLOP/s, as
  a fraction of a sgemm peak measured in the same run on the same threads.

Model timing uses synthetic random inputs shaped like the config's batch: B
clouds of ``--num-points`` points with the backbone's input channels and, for
TAP, the dataset's number of views at the head's image size (see
``get_flops.dummy_inputs``). A bare backbone config (``model = dict(type=
'PointMLP')``) is trained on the mean square of its output features.

The **pipeline** is timed with the config's real train dataloader (its dataset,
transforms, image decoding and collation) with ``--workers`` processes, and once
in the main process, whose CPU time gives the samples/s one worker sustains.

The tools run with :func:`tap3d.ops.cpu.allocator.configure_cpu_allocator`,
which makes glibc reuse freed memory instead of page-faulting every step's
activations back in; ``--allocator system`` (and ``--vs-allocator`` for B)
times a variant as a plain python process runs it. ``--env``/``--vs-env`` set
environment variables in a variant's process (``TAP3D_CPU_KERNELS=0`` times the
torch ops instead of the fused CPU kernels).

``--op-times ROWS`` times every aten op of one training step as it runs (no
profiler) and prints the slowest, with the GFLOP/s of each matmul shape.

``--count-ops`` times nothing: it counts the aten ops one training step
dispatches (each one a kernel launch on a GPU; views and allocations are not
counted), as the step runs on this CPU and as it would run on CUDA without
and with tap3d's Triton point ops, and with each point op as one CUDA
extension launch, the accounting of the authors' code (see ``_op_count.py``).

Scene models get scene inputs: 3DETR detectors ``points`` (B, N, 3) from
tap3d's synthetic rooms with their boxes, scene segmentors (PTv2) the same
rooms in offset form (xyz, colour, normal: 9 channels) with point labels.

``--repeat R`` times A, B, A, B, ... R rounds, each in fresh processes, and
reports the median of the rounds and each round's ratio: on a shared host the
step time of one process can move by 30 %, which one round cannot show.

On a shared CPU, use ``--threads 1 --timer cpu``: process CPU time ignores the
time other jobs take. Compare variants only by the ratio from ONE run.
"""
import argparse
import copy
import json
import multiprocessing as mp
import os
import os.path as osp
import platform
import statistics
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))

__all__ = [
    'build_variant', 'synthetic_batch', 'measure_model', 'count_ops', 'measure_pipeline', 'main'
]


def _get_flops():
    """The sibling get_flops.py module (tools/ is not a package)."""
    import importlib.util
    path = osp.join(osp.dirname(osp.abspath(__file__)), 'get_flops.py')
    spec = importlib.util.spec_from_file_location('tap3d_get_flops', path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _op_count():
    """The sibling _op_count.py module."""
    import importlib.util
    path = osp.join(osp.dirname(osp.abspath(__file__)), '_op_count.py')
    spec = importlib.util.spec_from_file_location('tap3d_op_count', path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _load_cfg(config, options=None):
    from mmengine.config import Config
    cfg = Config.fromfile(config)
    if options:
        cfg.merge_from_dict(options)
    return cfg


def _parse_options(pairs):
    """['a.b=1', 'c=x'] -> {'a.b': 1, 'c': 'x'} with python literals where possible."""
    import ast
    out = {}
    for pair in pairs or []:
        if '=' not in pair:
            raise ValueError(f'benchmark: option {pair!r} is not of the form key=value')
        key, value = pair.split('=', 1)
        try:
            out[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            out[key] = value
    return out


def build_variant(cfg):
    """Model of ``cfg`` (pretrained init dropped), on CPU, in train mode."""
    from tap3d.registry import MODELS
    from tap3d.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    model_cfg = copy.deepcopy(cfg.model)
    if isinstance(model_cfg.get('backbone'), dict):
        model_cfg['backbone'].pop('init_cfg', None)
    model_cfg.pop('init_cfg', None)
    return MODELS.build(model_cfg).train()


def _num_points(spec, cfg):
    """``--num-points``, else the config's ``benchmark.num_points``, else 1024."""
    return spec.get('num_points') or cfg.get('benchmark', {}).get('num_points', 1024)


def _num_views(cfg):
    try:
        return int(cfg.train_dataloader.dataset.get('num_views', 6))
    except AttributeError:
        return 6


def _scene_batch(model, batch_size, num_points, seed):
    """Synthetic rooms as a 3DETR (stack form + boxes) or scene-segmentor batch

    (offset form, xyz + colour + normal, point labels).
    """
    import numpy as np
    import torch
    from mmengine.structures import BaseDataElement

    from tap3d.datasets.synthetic.scenes import DET_NYU40_IDS, make_synthetic_scene
    scenes = [make_synthetic_scene(num_points, seed, i) for i in range(batch_size)]
    if type(model).__name__ == 'ThreeDETR':
        points = torch.stack([torch.from_numpy(s['coord']) for s in scenes])
        samples = [BaseDataElement(
            gt_bboxes_3d=torch.from_numpy(s['bbox'][:, :6]),
            gt_labels_3d=torch.tensor([DET_NYU40_IDS.index(int(c)) for c in s['bbox'][:, 6]],
                                      dtype=torch.long)) for s in scenes]
        return dict(coord=points), samples
    feat = [np.concatenate([s['coord'], s['color'] / 127.5 - 1, s['normal']], 1) for s in scenes]
    inputs = dict(coord=torch.from_numpy(np.concatenate([s['coord'] for s in scenes])),
                  feat=torch.from_numpy(np.concatenate(feat)).float(),
                  offset=torch.tensor([num_points] * batch_size).cumsum(0))
    samples = [BaseDataElement(gt_sem_labels=torch.from_numpy(s['segment20'])) for s in scenes]
    return inputs, samples


def synthetic_batch(model, cfg, batch_size, num_points, device, seed=0):
    """Random inputs (and data samples) like one batch of ``cfg``.

    Returns:
        tuple: ``inputs`` dict (``points`` (B, N, 3), ``feats`` (B, N, C), for TAP
        ``views`` (B, V, 3, S, S) and ``view_rotations`` (B, V, 3, 3)), and a
        list of data samples (with ``gt_label`` for classifiers) or None. Scene
        models get synthetic rooms of N points each: ``points`` (B, N, 3) and
        box samples for 3DETR, ``coord`` (BN, 3), ``feat`` (BN, 9), ``offset``
        (B,) and point-label samples for scene segmentors.
    """
    import torch
    from mmengine.structures import BaseDataElement
    if type(model).__name__ in ('ThreeDETR', 'SceneSegmentor'):
        inputs, samples = _scene_batch(model, batch_size, num_points, seed)
        return {k: v.to(device) for k, v in inputs.items()}, samples

    from tap3d.geometry import fixed_view_rotations
    dummy_inputs = _get_flops().dummy_inputs
    is_tap = type(model).__name__ == 'TAPPretrainer'
    backbone = model.backbone if hasattr(model, 'backbone') else model
    img = getattr(model.head, 'img_size', 224) if is_tap else 224
    holder = model if hasattr(model, 'backbone') else type('Holder', (), dict(backbone=backbone))
    inputs = dummy_inputs(holder, batch_size, num_points, _num_views(cfg), img, seed)
    if is_tap:
        # real poses: 6 of the 12 fixed views (identity poses would frame degenerate images)
        V = inputs['view_rotations'].shape[1]
        idx = torch.arange(V) * 12 // V
        inputs['view_rotations'] = fixed_view_rotations(12)[idx].expand(batch_size, V, 3,
                                                                         3).clone()
    inputs = {k: v.to(device) for k, v in inputs.items()}
    samples = None
    head = getattr(model, 'head', None)
    if head is not None and hasattr(head, 'num_classes'):
        samples = [BaseDataElement(gt_label=torch.tensor(i % head.num_classes))
                   for i in range(batch_size)]
    return inputs, samples


def _loss_fn(model, inputs, samples):
    from mmengine.model import BaseModel
    if isinstance(model, BaseModel) or hasattr(model, 'data_preprocessor'):
        losses = model(inputs, samples, mode='loss')
        return sum(v for k, v in losses.items() if k.startswith('loss'))
    out = model(inputs)  # a bare backbone
    return out['feats'].float().square().mean()


def _count_flops(model, inputs, samples, train):
    """FLOPs of one training step's forward+backward (or one forward)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode
    counter = FlopCounterMode(display=False)
    with counter:
        if train:
            _loss_fn(model, inputs, samples).backward()
        else:
            with torch.no_grad():
                _loss_fn(model, inputs, samples)
    model.zero_grad(set_to_none=True)
    return int(counter.get_total_flops())


def measure_model(spec):
    """Time one variant; ``spec`` is a plain dict (it crosses a process boundary).

    Returns:
        dict: ``train_s``, ``train_samples_s``, ``infer_s``, ``infer_samples_s``,
        ``train_flops``/``infer_flops`` per batch, ``params``, ``memory`` and the
        raw step ``times``.
    """
    import torch
    from mmengine.optim import build_optim_wrapper

    from tap3d.ops.cpu.allocator import configure_cpu_allocator
    from tools.analysis._timing import peak_memory_mb, reset_peak_memory, time_fn
    os.environ.update(spec.get('env') or {})
    allocator = configure_cpu_allocator(spec.get('allocator', 'keep'))
    if spec.get('threads'):
        torch.set_num_threads(spec['threads'])
    torch.manual_seed(0)
    device = torch.device(spec['device'])
    cfg = _load_cfg(spec['config'], spec.get('options'))
    model = build_variant(cfg).to(device)
    B = spec['batch_size'] or cfg.train_dataloader.batch_size
    inputs, samples = synthetic_batch(model, cfg, B, _num_points(spec, cfg), device)
    result = dict(config=spec['config'], options=spec.get('options') or {}, batch_size=B,
                  params=sum(p.numel() for p in model.parameters()),
                  model=type(model).__name__, allocator=allocator, env=spec.get('env') or {})
    if spec['flops']:
        result['train_flops'] = _count_flops(model, inputs, samples, True)
        result['infer_flops'] = _count_flops(model, inputs, samples, False)
    optim_cfg = copy.deepcopy(cfg.get('optim_wrapper', dict(
        type='OptimWrapper', optimizer=dict(type='AdamW', lr=1e-3))))
    optim_cfg.pop('type', None)
    optim_cfg['type'] = 'OptimWrapper'
    optim = build_optim_wrapper(model, optim_cfg)
    amp_dtype = torch.bfloat16 if spec['amp'] else None
    step_model = torch.compile(model) if spec['compile'] else model

    def autocast():
        return torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None)

    def train_step():
        with autocast():
            loss = _loss_fn(step_model, inputs, samples)
        optim.update_params(loss)

    def infer_step():
        with torch.no_grad(), autocast():
            _loss_fn(step_model, inputs, samples)

    reset_peak_memory(device)
    timer = spec['timer']
    tr = time_fn(train_step, spec['steps'], spec['warmup'], device, timer)
    if spec.get('profile'):  # still in train mode (BN batch statistics, dropout)
        result['profile'] = _profile(train_step, spec['profile'])
    if spec.get('op_times'):
        result['op_times'] = _op_times(train_step, spec['op_times'])
    model.eval()
    inf = time_fn(infer_step, spec['steps'], spec['warmup'], device, timer)
    result.update(train_s=tr['median_s'], train_samples_s=B / tr['median_s'],
                  infer_s=inf['median_s'], infer_samples_s=B / inf['median_s'],
                  times=dict(train=tr['times_s'], infer=inf['times_s']),
                  memory=peak_memory_mb(device))
    return result


def count_ops(spec):
    """Kernel-launch counts of one training step of a variant (``spec`` as in

    :func:`measure_model`), in every accounting of ``op_count.MODES``.

    Returns:
        dict: ``config``, ``options``, ``batch_size``, ``num_points``, ``model``,
        ``params`` and ``counts`` (mode -> ``op_count.count_step_ops`` result).
    """
    import torch
    os.environ.update(spec.get('env') or {})
    if spec.get('threads'):
        torch.set_num_threads(spec['threads'])
    counting = _op_count()
    torch.manual_seed(0)
    cfg = _load_cfg(spec['config'], spec.get('options'))
    model = build_variant(cfg)
    B = spec['batch_size'] or cfg.train_dataloader.batch_size
    inputs, samples = synthetic_batch(model, cfg, B, _num_points(spec, cfg), 'cpu')
    optim_cfg = copy.deepcopy(cfg.get('optim_wrapper', dict(
        type='OptimWrapper', optimizer=dict(type='AdamW', lr=1e-3))))
    result = dict(config=spec['config'], options=spec.get('options') or {}, batch_size=B,
                  num_points=_num_points(spec, cfg), model=type(model).__name__,
                  params=sum(p.numel() for p in model.parameters()), counts={})
    with counting.cpu_kernels_off():  # first-call work is not counted
        _loss_fn(model, inputs, samples).backward()
    model.zero_grad(set_to_none=True)
    for mode in counting.MODES:
        result['counts'][mode] = counting.count_step_ops(
            model, lambda: _loss_fn(model, inputs, samples), optim_cfg, mode,
            top=spec.get('count_top', 0))
    return result


def _fmt_counts(results):
    """Table of launches per training step: one row per variant and accounting."""
    names = dict(cpu='CPU (as run here)', cuda='CUDA, torch point ops',
                 cuda_triton='CUDA, Triton point ops',
                 cuda_ext='CUDA, point ops as CUDA extensions')
    rows = [('variant', 'accounting', 'launches', 'forward', 'backward', 'optimizer',
             'in point ops')]
    for name, r in results:
        for mode, c in r['counts'].items():
            rows.append((name, names.get(mode, mode), str(c['total'])) + tuple(
                str(c['phases'].get(p, 0)) for p in ('forward', 'backward', 'optimizer'))
                        + (str(sum(c['point_ops'].values())), ))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ['  '.join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in
                       enumerate(zip(row, widths))) for row in rows]
    lines.insert(1, '-' * len(lines[0]))
    return '\n'.join(lines)


def _op_times(step, row_limit):
    """Time every aten op of one training step, grouped by op and input shapes.

    Each op is timed as it runs (a ``TorchDispatchMode``), without the
    profiler, whose per-op figures for large memory-bound ops came out 3-8x
    too high here. Custom autograd functions (the fused CPU kernels) are not
    aten ops and do not appear. Returns the table as text.
    """
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode

    totals = {}

    class Timer(TorchDispatchMode):

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            start = time.perf_counter()
            out = func(*args, **(kwargs or {}))
            key = (str(func.overloadpacket.__name__), tuple(
                tuple(a.shape) for a in args if isinstance(a, torch.Tensor)))
            entry = totals.setdefault(key, [0.0, 0])
            entry[0] += time.perf_counter() - start
            entry[1] += 1
            return out

    start = time.perf_counter()
    with Timer():
        step()
    step_s = time.perf_counter() - start
    rows = sorted(totals.items(), key=lambda kv: -kv[1][0])[:row_limit]
    lines = [f'one training step under the op timer: {step_s:.2f} s; '
             f'all ops: {sum(v[0] for v in totals.values()):.2f} s',
             f'{"ms":>9} {"calls":>6} {"GFLOP/s":>8}  op and input shapes']
    for (name, shapes), (sec, calls) in rows:
        gflops = ''
        if name == 'mm' and len(shapes) == 2 and len(shapes[0]) == 2:
            flops = 2 * shapes[0][0] * shapes[0][1] * shapes[1][1] * calls
            gflops = f'{flops / sec / 1e9:.0f}'
        lines.append(f'{sec * 1e3:9.1f} {calls:6d} {gflops:>8}  {name} {list(shapes)}')
    return '\n'.join(lines)


def _profile(step, row_limit):
    """Top ops of one training step by self CPU time (torch.profiler)."""
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        step()
    return prof.key_averages().table(sort_by='self_cpu_time_total', row_limit=row_limit)


def measure_pipeline(config, options, workers, batches, batch_size=None, seed=0):
    """Samples/s of the config's train dataloader.

    Runs ``batches`` batches once with ``workers`` worker processes (wall time,
    after the first batch, which pays the worker start-up) and once in the main
    process (CPU time: the rate one worker sustains on a free core).

    Returns:
        dict: ``workers``, ``samples_s`` (with the workers), ``per_worker_samples_s``
        (main process, CPU time) and ``batch_size``.
    """
    import torch
    from mmengine.runner import Runner

    from tap3d.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    torch.manual_seed(seed)
    out = dict(workers=workers)
    for nw, key, clock in ((workers, 'samples_s', time.perf_counter),
                           (0, 'per_worker_samples_s', time.process_time)):
        if nw == 0 and key == 'samples_s':
            continue
        cfg = _load_cfg(config, options)
        dl_cfg = copy.deepcopy(cfg.train_dataloader)
        dl_cfg.update(num_workers=nw, persistent_workers=False)
        if batch_size:
            dl_cfg['batch_size'] = batch_size
        loader = Runner.build_dataloader(dl_cfg, seed=seed)
        it = iter(loader)
        first = next(it)  # worker start-up and the first fetch are not counted
        B = len(first['inputs']) if isinstance(first['inputs'], list) else loader.batch_size
        n, t0 = 0, clock()
        for _ in range(batches):
            try:
                batch = next(it)
            except StopIteration:
                break
            n += len(batch['inputs']) if isinstance(batch['inputs'], list) else B
        dt = clock() - t0
        out[key] = n / dt if dt > 0 else float('inf')
        out['batch_size'] = B
        del it, loader
    if workers == 0:
        out['samples_s'] = out['per_worker_samples_s']
    return out


def _parse_env(pairs):
    env = {}
    for pair in pairs or []:
        key, sep, value = pair.partition('=')
        if not sep or not key:
            raise ValueError(f'environment variables are given as KEY=VALUE, got {pair!r}')
        env[key] = value
    return env


def _median_round(results):
    """One result for several rounds of a variant: the round of median train time,

    with every round's ``train_s``/``infer_s`` in ``rounds``.
    """
    if len(results) == 1:
        return results[0]
    order = sorted(results, key=lambda r: r['train_s'])
    res = dict(order[(len(order) - 1) // 2])
    res['train_s'] = statistics.median(r['train_s'] for r in results)
    res['infer_s'] = statistics.median(r['infer_s'] for r in results)
    res['train_samples_s'] = res['batch_size'] / res['train_s']
    res['infer_samples_s'] = res['batch_size'] / res['infer_s']
    res['memory'] = {k: max(r['memory'][k] for r in results) for k in results[0]['memory']}
    res['rounds'] = [dict(train_s=r['train_s'], infer_s=r['infer_s'], times=r['times'])
                     for r in results]
    return res


def _run(spec, isolate, fn=None):
    fn = fn or measure_model
    if not isolate:
        return fn(spec)
    ctx = mp.get_context('spawn')
    with ctx.Pool(1) as pool:
        return pool.apply(fn, (spec, ))


def _fmt_table(results, peak):
    rows = [('variant', 'train s/step', 'train samp/s', 'infer samp/s', 'GFLOP/sample',
             'GFLOP/s', '% peak', 'peak MiB')]
    for name, r in results:
        flops = r.get('train_flops')
        gfs = flops / r['train_s'] / 1e9 if flops else None
        mem = r['memory'].get('cuda_max_allocated_mb', r['memory']['rss_mb'])
        rows.append((name, f"{r['train_s']:.3f}", f"{r['train_samples_s']:.2f}",
                     f"{r['infer_samples_s']:.2f}",
                     f"{flops / r['batch_size'] / 1e9:.2f}" if flops else '-',
                     f'{gfs:.1f}' if gfs else '-',
                     f"{100 * gfs / peak['gflops']:.0f}%" if gfs else '-', f'{mem:.0f}'))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ['  '.join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in
                       enumerate(zip(row, widths))) for row in rows]
    lines.insert(1, '-' * len(lines[0]))
    return '\n'.join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('--cfg-options', nargs='+', default=[], metavar='K=V',
                        help='overrides for both variants, e.g. model.head.depth=2')
    parser.add_argument('--vs', metavar='CONFIG2', help='second variant to compare with')
    parser.add_argument('--vs-options', nargs='+', default=None, metavar='K=V',
                        help='second variant = the (--vs or first) config with these options')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--batch-size', type=int, default=None,
                        help="default: the config's train batch size")
    parser.add_argument('--num-points', type=int, default=None,
                        help="points per cloud (default: the config's benchmark.num_points, "
                        'else 1024)')
    parser.add_argument('--amp', action='store_true', help='bf16 autocast')
    parser.add_argument('--compile', action='store_true', help='torch.compile the model')
    parser.add_argument('--steps', type=int, default=5)
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--threads', type=int, default=None, help='torch.set_num_threads')
    parser.add_argument('--timer', choices=('auto', 'wall', 'cpu'), default='auto',
                        help="'auto': CPU time on CPU, wall time on CUDA")
    parser.add_argument('--workers', type=int, default=2, help='dataloader workers')
    parser.add_argument('--pipeline-batches', type=int, default=8)
    parser.add_argument('--no-pipeline', action='store_true')
    parser.add_argument('--no-flops', action='store_true')
    parser.add_argument('--profile', type=int, default=0, metavar='ROWS',
                        help='print the top ROWS ops of one training step')
    parser.add_argument('--op-times', type=int, default=0, metavar='ROWS',
                        help='print the ROWS aten ops (by input shapes) that take longest '
                        'in one training step, timed without the profiler')
    parser.add_argument('--allocator', choices=('keep', 'system'), default='keep',
                        help="CPU malloc policy of A (see tap3d/ops/cpu/allocator.py): "
                        "'keep' reuses freed memory as the tools do, 'system' is glibc's "
                        'default, as in a plain python process')
    parser.add_argument('--vs-allocator', choices=('keep', 'system'), default=None,
                        help='malloc policy of B (default: the same as A)')
    parser.add_argument('--env', nargs='+', metavar='K=V', default=[],
                        help="environment of A's process, e.g. TAP3D_CPU_KERNELS=0")
    parser.add_argument('--vs-env', nargs='+', metavar='K=V', default=None,
                        help="environment of B's process (default: the same as A)")
    parser.add_argument('--count-ops', action='store_true',
                        help='count the kernel launches of one training step (on CPU, as on '
                        'CUDA without/with the Triton point ops, and with CUDA-extension point '
                        'ops) instead of timing')
    parser.add_argument('--count-top', type=int, default=0, metavar='ROWS',
                        help='with --count-ops: also list the ROWS most frequent ops')
    parser.add_argument('--repeat', type=int, default=1, metavar='R',
                        help='time the variants R times, alternating, and report medians')
    parser.add_argument('--in-process', action='store_true',
                        help='run the variants in this process (peak RSS is then shared)')
    parser.add_argument('--json', metavar='OUT', help='write all results as JSON')
    args = parser.parse_args(argv)

    import torch

    from tools.analysis._timing import sgemm_peak
    started = time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())
    if args.threads:
        torch.set_num_threads(args.threads)
    timer = args.timer if args.timer != 'auto' else (
        'wall' if args.device.startswith('cuda') else 'cpu')
    base = dict(device=args.device, batch_size=args.batch_size, num_points=args.num_points,
                amp=args.amp, compile=args.compile, steps=args.steps, warmup=args.warmup,
                threads=args.threads, timer=timer, flops=not args.no_flops,
                profile=args.profile, op_times=args.op_times)
    env_a = _parse_env(args.env)
    variants = [('A', dict(base, config=args.config, allocator=args.allocator,
                           options=_parse_options(args.cfg_options), env=env_a))]
    if args.vs or args.vs_options is not None:
        # --cfg-options apply to both variants, --vs-options to B only
        opts = _parse_options(args.cfg_options)
        opts.update(_parse_options(args.vs_options))
        variants.append(('B', dict(base, config=args.vs or args.config, options=opts,
                                   allocator=args.vs_allocator or args.allocator,
                                   env=_parse_env(args.vs_env) if args.vs_env is not None
                                   else env_a)))
    if args.repeat < 1:
        parser.error('--repeat must be at least 1')
    if args.count_ops:
        return _main_count_ops(args, variants)

    peak = sgemm_peak(args.device, timer=timer,
                      dtype=torch.bfloat16 if args.amp and args.device != 'cpu'
                      else torch.float32)
    if args.in_process and (len({spec['allocator'] for _, spec in variants}) > 1
                            or any(spec['env'] for _, spec in variants)):
        parser.error('--vs-allocator and --env/--vs-env need each variant in its own '
                     'process (drop --in-process)')
    rounds = {name: [] for name, _ in variants}
    for r in range(args.repeat):
        for name, spec in variants:
            first = r == 0
            res = _run(dict(spec, profile=spec['profile'] if first else 0,
                            op_times=spec['op_times'] if first else 0),
                       isolate=not args.in_process)
            for key in ('profile', 'op_times'):
                if res.get(key):
                    print(f'--- {key} of {name} ({spec["config"]}) ---\n{res.pop(key)}')
            rounds[name].append(res)
    results = [(name, _median_round(rounds[name])) for name, _ in variants]
    for name, spec in variants:
        env = ' '.join(f'{k}={v}' for k, v in spec['env'].items())
        print(f'{name}: {spec["config"]} {spec["options"] or ""} '
              f'(allocator: {spec["allocator"]}{", " + env if env else ""})')
    print(f'device {args.device}, threads {torch.get_num_threads()}, timer {timer}, '
          f'sgemm peak {peak["gflops"]:.1f} GFLOP/s (n={peak["size"]}), '
          f'batch {results[0][1]["batch_size"]}, median of {args.steps} after '
          f'{args.warmup} warm-up' + (f', median of {args.repeat} rounds' if args.repeat > 1
                                      else ''))
    print(_fmt_table(results, peak))
    report = dict(device=args.device, threads=torch.get_num_threads(), timer=timer,
                  torch=torch.__version__, machine=platform.processor() or platform.machine(),
                  amp=args.amp, compile=args.compile, date=started,
                  sgemm_peak=peak, variants={n: r for n, r in results})
    if len(results) == 2:
        a, b = results[0][1], results[1][1]
        report['ratio_A_over_B'] = dict(train=b['train_s'] / a['train_s'],
                                        infer=b['infer_s'] / a['infer_s'])
        print(f"speed-up A vs B: train {report['ratio_A_over_B']['train']:.2f}x, "
              f"infer {report['ratio_A_over_B']['infer']:.2f}x")
        if args.repeat > 1:
            per_round = [rb['train_s'] / ra['train_s']
                         for ra, rb in zip(rounds['A'], rounds['B'])]
            report['ratio_A_over_B']['train_rounds'] = per_round
            print('train speed-up per round: ' + ', '.join(f'{x:.2f}x' for x in per_round))
    if not args.no_pipeline:
        pipe = measure_pipeline(args.config, variants[0][1]['options'], args.workers,
                                args.pipeline_batches, args.batch_size)
        report['pipeline'] = pipe
        train_rate = results[0][1]['train_samples_s']
        pipe['vs_train_step'] = pipe['samples_s'] / train_rate
        print(f"pipeline: {pipe['samples_s']:.1f} samples/s with {args.workers} workers "
              f"(wall), {pipe['per_worker_samples_s']:.1f} samples/s per worker (CPU "
              f"time); {pipe['vs_train_step']:.1f}x the training step of A")
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(report, f, indent=1)
    return report


def _main_count_ops(args, variants):
    """``--count-ops``: print the launch table and write the JSON."""
    import torch
    if args.device != 'cpu':
        raise SystemExit('benchmark: --count-ops counts on the CPU (it projects the CUDA '
                         'launches); drop --device')
    results = []
    for name, spec in variants:
        res = _run(dict(spec, count_top=args.count_top), isolate=not args.in_process,
                   fn=count_ops)
        results.append((name, res))
        print(f'{name}: {spec["config"]} {spec["options"] or ""} ({res["model"]}, batch '
              f'{res["batch_size"]}, {res["num_points"]} points)')
    print(_fmt_counts(results))
    for name, res in results:
        for mode, c in res['counts'].items():
            if c.get('top_ops'):
                print(f'--- most frequent ops of {name}, {mode} ---')
                print('\n'.join(f'{n:8d}  {op}' for op, n in c['top_ops'].items()))
    report = dict(device='cpu', torch=torch.__version__, count_ops=True,
                  date=time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime()),
                  variants={n: r for n, r in results})
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(report, f, indent=1)
    return report


if __name__ == '__main__':
    from tap3d.utils.errors import run_tool  # any error: one line, exit code 1
    sys.exit(run_tool(main))
