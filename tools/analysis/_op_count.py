"""Kernel launches of one training step, counted on a CPU (``benchmark.py --count-ops``).

On a GPU every aten op a step dispatches launches (at least) one kernel,
except views and allocations; a ``TorchDispatchMode`` counts them while the
step runs on the CPU. The count is a proxy for the launch overhead that sets
the step time of small-kernel models on a fast GPU. Four accountings of the
same step:

An op counts one launch, except ``convolution_backward``: one per gradient it
computes (cuDNN runs separate kernels for the input, weight and bias
gradients), so 1x1 convolutions (the reference PointMLP) and the matmuls of
the equivalent linear layers (tap3d) count alike. Some ops launch more than
one kernel on a GPU (a cuDNN batch norm, a sort): the counts are lower bounds
for both sides of a comparison.

- ``cpu``: the step as it runs here (the torch point ops; AdamW loops over the
  parameters, as torch does on CPU). tap3d's fused CPU kernels are turned off
  (``TAP3D_CPU_KERNELS=0``): they are not aten ops, and CUDA runs the torch ops.
- ``cuda``: as it would run on CUDA without Triton: the same, with the
  optimizer's ``foreach`` kernels (torch's default on CUDA; each ``_foreach``
  op counts once, a lower bound: CUDA splits long tensor lists into a few
  launches) and dropout as CUDA runs it, one fused kernel forward and one
  backward (on CPU torch draws, compares and scales in separate ops, and
  tap3d's :class:`~tap3d.ops.cpu.dropout.Dropout` has a CPU-only path),
  and PointMLP's group std in its GPU form (``pointmlp._gathered_std_on``).
  (tap3d's fused CPU kernels are the other CPU-only paths; they are off.)
- ``cuda_triton``: ``cuda`` with tap3d's point ops (FPS, kNN, kNN in offset
  form, ball query) on their Triton kernels: the host side of
  :mod:`tap3d.ops.triton` runs (its aten ops count) and every kernel launch
  counts one.
- ``cuda_ext``: ``cuda`` with each point op as ONE launch of a CUDA extension
  (pointnet2_ops / pointops, as the authors' code uses), including the python
  FPS loop of ``PointMLPReference``: the reference variants' accounting. It is
  generous to the reference: those extensions also fill their buffers and
  callers cast their int32 indices, which is not counted.

The counts do not depend on the values, but some depend on sizes: the torch
FPS loop dispatches ~9 ops per sampled point, and the torch kNN / ball query
split the queries into chunks of about 2**25 distances.
"""
import collections
import contextlib
import copy
import os

__all__ = ['MODES', 'OpCounter', 'count_step_ops', 'cpu_kernels_off']

MODES = ('cpu', 'cuda', 'cuda_triton', 'cuda_ext')
POINT_OPS = ('furthest_point_sample', 'knn', 'knn_offset', 'ball_query')
# Ops that allocate, read metadata or move a host scalar: no kernel on a GPU.
_NO_LAUNCH = ('empty', 'empty_strided', 'empty_like', 'new_empty', 'new_empty_strided',
              '_local_scalar_dense', 'lift_fresh', 'lift_fresh_copy', '_unsafe_view',
              '_reshape_alias', 'resize_', 'set_', 'is_nonzero', 'sym_size', 'sym_numel',
              'sym_stride', 'sym_storage_offset', 'is_same_size',
              '_has_compatible_shallow_copy_type', 'promote_types', 'result_type',
              # in-place views: metadata only
              'squeeze_', 'unsqueeze_', 't_', 'transpose_', 'as_strided_', 'swapdims_')


def _torch_dispatch_mode():
    from torch.utils._python_dispatch import TorchDispatchMode
    return TorchDispatchMode


class OpCounter:
    """Counts the launching aten ops dispatched while active, by phase and point op.

    Use ``with counter.active():``; ``counter.phase`` names the part of the step
    being counted; :meth:`paused` hides ops (e.g. a result computed only to
    keep the step going); :meth:`add` counts launches that did not run here.
    """

    def __init__(self):
        self.launches = collections.Counter()  # phase -> launches
        self.by_point_op = collections.Counter()  # point op -> launches inside it
        self.by_name = collections.Counter()  # aten op name -> launches
        self.views = 0
        self.phase = 'forward'
        self._paused = 0
        self._point_op = None

    def add(self, name, launches=1):
        """Count ``launches`` of ``name`` (a kernel that is not an aten op)."""
        if self._paused:
            return
        self.launches[self.phase] += launches
        self.by_name[name] += launches
        if self._point_op:
            self.by_point_op[self._point_op] += launches

    def record(self, func, args):
        if self._paused or func.namespace == 'profiler':
            return
        name = func.overloadpacket.__name__
        if func.is_view or name in _NO_LAUNCH:
            self.views += 1
            return
        launches = 1
        if name == 'convolution_backward':  # a kernel per gradient asked for: input, weight, bias
            launches = max(1, sum(bool(m) for m in args[-1]))
        self.add(f'{func.namespace}.{name}', launches)

    @contextlib.contextmanager
    def paused(self):
        self._paused += 1
        try:
            yield
        finally:
            self._paused -= 1

    @contextlib.contextmanager
    def point_op(self, name):
        outer, self._point_op = self._point_op, self._point_op or name
        try:
            yield
        finally:
            self._point_op = outer

    @contextlib.contextmanager
    def active(self):
        counter = self

        class _Mode(_torch_dispatch_mode()):

            def __torch_dispatch__(self, func, types, args=(), kwargs=None):
                out = func(*args, **(kwargs or {}))
                counter.record(func, args)
                return out

        with _Mode():
            yield self

    def summary(self, top=0):
        out = dict(total=sum(self.launches.values()), phases=dict(self.launches),
                   point_ops=dict(self.by_point_op), views_and_allocations=self.views)
        if top:
            out['top_ops'] = dict(self.by_name.most_common(top))
        return out


@contextlib.contextmanager
def cpu_kernels_off():
    """``TAP3D_CPU_KERNELS=0`` while active (the fused CPU kernels are not aten ops)."""
    old = os.environ.get('TAP3D_CPU_KERNELS')
    os.environ['TAP3D_CPU_KERNELS'] = '0'
    try:
        yield
    finally:
        if old is None:
            del os.environ['TAP3D_CPU_KERNELS']
        else:
            os.environ['TAP3D_CPU_KERNELS'] = old


@contextlib.contextmanager
def _patched(obj, name, value):
    old = getattr(obj, name)
    setattr(obj, name, value)
    try:
        yield
    finally:
        setattr(obj, name, old)


@contextlib.contextmanager
def accounting(mode, counter):
    """Route tap3d's point ops as ``mode`` says (see the module doc) while counting.

    Every public point op is sent down its Triton branch (``use_triton`` says
    yes on CPU tensors too) into a function that counts the op as ``mode``
    says, under :meth:`OpCounter.point_op`, and returns the torch op's result.
    """
    from tap3d import ops
    from tap3d.ops import triton as tt
    from tap3d.ops.triton import ops as triton_host
    from tools.analysis.reference_models import pointmlp as reference
    inside = dict(torch=False)

    def use_triton(op, x, k=0):
        if inside['torch']:
            return False
        return mode != 'cuda_triton' or k <= tt.MAX_K

    def torch_result(fn, args, kwargs, counted):
        inside['torch'] = True
        try:
            with contextlib.nullcontext() if counted else counter.paused():
                return fn(*args, **kwargs)
        finally:
            inside['torch'] = False

    def route(name, public, host):

        def routed(*args, **kwargs):
            with counter.point_op(name):
                if mode == 'cuda_triton':
                    host(*args, **kwargs)  # its aten ops, and one count per kernel launch
                elif mode == 'cuda_ext':
                    counter.add(f'ext.{name}')
                return torch_result(public, args, kwargs, counted=mode in ('cpu', 'cuda'))

        return routed

    with contextlib.ExitStack() as stack:
        if mode != 'cpu':  # tap3d's and torch's device-dependent paths, as on CUDA
            from torch.nn import functional

            import tap3d.ops.cpu.dropout as tap3d_dropout
            from tap3d.models.backbones import pointmlp
            cuda_dropout = _cuda_dropout(counter)
            stack.enter_context(_patched(functional, 'dropout', cuda_dropout))
            stack.enter_context(_patched(tap3d_dropout, 'dropout', cuda_dropout))
            stack.enter_context(_patched(pointmlp, '_gathered_std_on', lambda x: True))
        stack.enter_context(_patched(tt, 'use_triton', use_triton))
        stack.enter_context(_patched(
            triton_host, '_launch', lambda x, name, grid, *a, **kw: counter.add(f'triton.{name}')))
        for name in POINT_OPS:
            stack.enter_context(_patched(
                tt, name, route(name, getattr(ops, name), getattr(triton_host, name))))
        # PointMLPReference calls the python FPS loop directly: the authors' code
        # runs pointnet2_ops' FPS there.
        naive = reference.naive_furthest_point_sample
        stack.enter_context(_patched(reference, 'naive_furthest_point_sample', route(
            'furthest_point_sample', naive, None) if mode == 'cuda_ext' else _attributed(
                counter, 'furthest_point_sample', naive)))
        yield


def _cuda_dropout(counter):
    """``F.dropout`` counted as CUDA runs it: one fused kernel forward, one backward."""
    import torch

    class _Dropout(torch.autograd.Function):

        @staticmethod
        def forward(ctx, x, p):
            counter.add('aten.native_dropout')
            with counter.paused():
                ctx.scale = 1.0 / (1.0 - p)
                ctx.keep = torch.rand_like(x, dtype=torch.float32) >= p
                return x * ctx.keep * ctx.scale

        @staticmethod
        def backward(ctx, grad):
            counter.add('aten.native_dropout_backward')
            with counter.paused():
                return grad * ctx.keep * ctx.scale, None

    def dropout(x, p=0.5, training=True, inplace=False):
        if not training or p == 0.0:
            return x
        if p >= 1.0:
            return x * 0.0
        return _Dropout.apply(x, p)

    return dropout


def _attributed(counter, name, fn):

    def wrapped(*args, **kwargs):
        with counter.point_op(name):
            return fn(*args, **kwargs)

    return wrapped


def count_step_ops(model, loss_fn, optim_cfg, mode, top=0):
    """Launches of one training step of ``model`` with a fresh optimizer.

    The optimizer's state is created beforehand (one uncounted step on zero
    gradients), so the count is that of a steady-state step; run one
    uncounted forward and backward before the first count to leave out the
    model's own first-call work.

    Args:
        model: the model, on CPU, in train mode.
        loss_fn: ``() -> loss`` of one forward pass.
        optim_cfg: mmengine ``optim_wrapper`` config (its optimizer, gradient clipping).
        mode: one of :data:`MODES`.
        top: also list the ``top`` most frequent ops.

    Returns:
        dict: ``total``, ``phases`` (forward / backward / optimizer),
        ``point_ops`` (launches inside each point op), ``views_and_allocations``.
    """
    from mmengine.optim import build_optim_wrapper
    if mode not in MODES:
        raise ValueError(f'count_step_ops: mode must be one of {MODES}, got {mode!r}')
    optim_cfg = copy.deepcopy(optim_cfg)
    optim_cfg['type'] = 'OptimWrapper'
    if mode != 'cpu':
        optim_cfg['optimizer'] = dict(optim_cfg['optimizer'], foreach=True)
    optim = build_optim_wrapper(model, optim_cfg)
    counter = OpCounter()

    import torch
    for p in model.parameters():  # the optimizer creates its state on its first step
        if p.requires_grad:
            p.grad = torch.zeros_like(p)
    optim.step()
    optim.zero_grad()
    with cpu_kernels_off(), accounting(mode, counter), counter.active():
        counter.phase = 'forward'
        loss = loss_fn()
        counter.phase = 'backward'
        optim.backward(loss)
        counter.phase = 'optimizer'
        optim.step()
        optim.zero_grad()
    return counter.summary(top)
