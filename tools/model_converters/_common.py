"""Machinery shared by the checkpoint converters in ``tools/model_converters/``.

A converter turns one upstream release format into a tap3d checkpoint::

    {'state_dict': {'backbone.…': Tensor, 'head.…': Tensor, ...}, 'meta': {...}}

Every converter follows the same steps:

1. :func:`read_checkpoint` loads the file with ``torch.load(weights_only=True)``.
   Upstream files keep Python objects next to their weights (3DETR saves its
   ``argparse.Namespace``, openpoints an ``EasyDict``). Those types are never
   imported: each becomes an inert :class:`collections.OrderedDict` (with the
   object's attributes), so that only tensors and plain data are read and no
   code from the file runs.
2. :func:`find_state_dict` takes the model entry (``model``, ``state_dict`` or
   ``base_model``) and strips a ``module.`` prefix (DataParallel / DDP).
3. :func:`build_target` builds the tap3d model from a config: its state dict
   gives every key and shape the converted tensors must match.
4. :func:`convert_state_dict` applies the converter's :class:`Rule` list. Every
   upstream tensor is renamed by one rule or dropped by one rule with a reason;
   an unknown key, a tap3d key left without a tensor or a shape mismatch is an
   error (:class:`ConversionError`).
5. :func:`save_checkpoint` writes plain tensors atomically and checks that the
   file loads with ``torch.load(weights_only=True)``.

:func:`run` wraps a converter's ``main`` in the command-line conventions of
``tools/``: one line on stderr and exit status 1 for bad input
(``TAP3D_DEBUG=1`` shows the traceback).
"""
import argparse
import collections
import io
import os.path as osp
import re
import sys
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

_TOOLS = osp.dirname(osp.dirname(osp.abspath(__file__)))
if _TOOLS not in sys.path:  # ``_cli`` lives in tools/
    sys.path.insert(0, _TOOLS)

import torch  # noqa: E402
from _cli import UserError, load_config  # noqa: E402
from mmengine.config import DictAction  # noqa: E402

from tap3d.utils.checkpoint import atomic_write_bytes, register_checkpoint_safe_globals  # noqa: E402

MODEL_ENTRIES = ('state_dict', 'model', 'base_model')


class ConversionError(UserError):
    """The input does not have the layout the converter expects."""


# ----------------------------------------------------------------------------- reading
def _not_loaded(type_name: str) -> type:
    """A stand-in for the pickled type ``type_name``.

    ``torch.load(weights_only=True)`` only builds allow-listed types. This one is
    allow-listed under ``type_name``; building it (by ``REDUCE`` or ``NEWOBJ``)
    returns an empty ``OrderedDict`` instead of running the original class, and
    the unpickler then fills it with the object's items and attributes, which
    are plain data. The original type is never imported.
    """

    def __new__(cls, *args, **kwargs):
        placeholder = collections.OrderedDict()
        placeholder.__dict__['not_loaded'] = type_name
        return placeholder

    return type('NotLoaded', (), {'__new__': __new__, '__module__': __name__})


def read_checkpoint(path: str) -> Tuple[dict, List[str]]:
    """Load an upstream checkpoint with ``weights_only=True``.

    Args:
        path: the ``.pth`` file.

    Returns:
        The loaded object and the sorted names of the types that were read as
        inert placeholders (empty when the file needed none).
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'checkpoint not found: {path}')
    register_checkpoint_safe_globals()  # numpy scalars/arrays load as themselves
    try:
        unknown = sorted(torch.serialization.get_unsafe_globals_in_checkpoint(path))
    except Exception as err:  # noqa: BLE001 - not a zip checkpoint, or corrupt
        raise ConversionError(
            f'cannot read {path} as a torch checkpoint (zip format, torch >= 1.6): '
            f'{str(err).splitlines()[0] if str(err) else type(err).__name__}') from err
    stand_ins = [(_not_loaded(name), name) for name in unknown]
    try:
        with torch.serialization.safe_globals(stand_ins):
            ckpt = torch.load(path, map_location='cpu', weights_only=True)
    except Exception as err:  # noqa: BLE001 - re-raised with the file name
        first = str(err).strip().splitlines()
        raise ConversionError(f'cannot load {path} with weights_only=True: '
                              f'{first[-1] if first else type(err).__name__}') from err
    return ckpt, unknown


def find_state_dict(ckpt, path: str, entries: Sequence[str] = MODEL_ENTRIES,
                    strip: str = 'module.') -> Tuple[Dict[str, torch.Tensor], str]:
    """The model's state dict inside a loaded checkpoint.

    Args:
        ckpt: what :func:`read_checkpoint` returned.
        path: file name, for messages.
        entries: keys that may hold the state dict, tried in order; a dict of
            tensors at the top level is accepted too.
        strip: a prefix removed when every key has it (``module.`` of
            DataParallel / DistributedDataParallel).

    Returns:
        ``(state_dict, entry)`` where entry names where it was found ('' = top level).
    """
    if not isinstance(ckpt, dict):
        raise ConversionError(f'{path} holds a {type(ckpt).__name__}, not a checkpoint dict')
    state_dict, where = None, None
    for entry in entries:
        if isinstance(ckpt.get(entry), dict) and ckpt[entry]:
            state_dict, where = ckpt[entry], entry
            break
    if state_dict is None:
        if ckpt and all(isinstance(v, torch.Tensor) for v in ckpt.values()):
            state_dict, where = ckpt, ''
        else:
            raise ConversionError(
                f'{path} has no model weights under {list(entries)}; its top-level keys '
                f'are {sorted(map(str, ckpt))[:10]}')
    bad = [k for k, v in state_dict.items() if not isinstance(v, torch.Tensor)]
    if bad:
        raise ConversionError(f"{path}: entry '{where}' holds non-tensor values, e.g. {bad[:3]}")
    if strip and all(k.startswith(strip) for k in state_dict):
        state_dict = {k[len(strip):]: v for k, v in state_dict.items()}
    return dict(state_dict), where


def other_entries(ckpt: dict, entry: str) -> List[str]:
    """Top-level entries besides the model (optimizer, epoch, ...), not converted."""
    return sorted(str(k) for k in ckpt if k != entry) if entry else []


# ----------------------------------------------------------------------------- target
def repo_path(path: str) -> str:
    """A repository-relative path (a default config) made absolute, so the
    converters run from any working directory."""
    return osp.join(osp.dirname(_TOOLS), path)


def build_target(config: str, cfg_options: Optional[dict] = None):
    """Build the tap3d model of ``config`` (no weights are loaded).

    Args:
        config: a tap3d config file.
        cfg_options: overrides merged into the config (``--cfg-options`` form).

    Returns:
        ``(model, cfg)``: the ``nn.Module`` and the merged config.
    """
    from tap3d.registry import MODELS
    from tap3d.utils import register_all_modules

    register_all_modules(init_default_scope=True)
    cfg = load_config(config, cfg_options)
    if 'model' not in cfg:
        raise UserError(f'{config} defines no model')
    return MODELS.build(cfg.model), cfg


# ----------------------------------------------------------------------------- mapping
@dataclass
class Rule:
    """Rename (``target`` set) or drop (``target`` None) upstream keys.

    Args:
        pattern: regular expression that must match the whole upstream key.
        target: replacement template (``re`` syntax, ``\\1`` ...) or a function of
            the match returning the new key, or None to drop.
        reason: why tensors are dropped (required for drop rules).
        when: optional ``(target_keys) -> bool``; the rule applies only when it
            returns True (e.g. map angle heads only if the tap3d model has them).
        squeeze: allow ``(out, in, 1)`` 1x1-conv weights to become ``(out, in)``
            Linear weights.
    """
    pattern: str
    target: Optional[Union[str, Callable[[re.Match], str]]] = None
    reason: str = ''
    when: Optional[Callable[[set], bool]] = None
    squeeze: bool = False
    _regex: re.Pattern = field(init=False, repr=False)

    def __post_init__(self):
        self._regex = re.compile(self.pattern)
        if self.target is None and not self.reason:
            raise ValueError(f'drop rule {self.pattern!r} needs a reason')


def rename(pattern: str, target: str, **kwargs) -> Rule:
    return Rule(pattern, target, **kwargs)


def drop(pattern: str, reason: str, **kwargs) -> Rule:
    return Rule(pattern, None, reason, **kwargs)


@dataclass
class Conversion:
    """Result of :func:`convert_state_dict`.

    Attributes:
        state_dict: tap3d key -> tensor.
        dropped: reason -> upstream keys dropped for it (in input order).
        squeezed: upstream keys whose (out, in, 1) weight became (out, in).
        source_of: tap3d key -> the upstream key it came from.
    """
    state_dict: Dict[str, torch.Tensor]
    dropped: Dict[str, List[str]]
    squeezed: List[str]
    source_of: Dict[str, str]

    @property
    def num_dropped(self) -> int:
        return sum(len(v) for v in self.dropped.values())

    def summary(self) -> str:
        """The one-line result: ``converted N tensors, dropped M (reasons), unmatched 0``."""
        # the label of a reason is its part before ':' (the report lines give the rest)
        reasons = ', '.join(f'{len(keys)} {reason.split(":")[0]}'
                            for reason, keys in self.dropped.items())
        return (f'converted {len(self.state_dict)} tensors, dropped {self.num_dropped} '
                f'({reasons or "none"}), unmatched 0')


def _keys_preview(keys: Sequence[str], n: int = 3) -> str:
    keys = list(keys)
    more = f' and {len(keys) - n} more' if len(keys) > n else ''
    return ', '.join(keys[:n]) + more


def convert_state_dict(source: Dict[str, torch.Tensor], rules: Sequence[Rule],
                       target: Dict[str, torch.Tensor], source_name: str = 'input',
                       allow_missing: Optional[Dict[str, str]] = None) -> Conversion:
    """Map an upstream state dict onto a tap3d model's keys.

    Each upstream key takes the first rule (in order) whose pattern matches it
    entirely and whose ``when`` holds.

    Args:
        source: upstream key -> tensor.
        rules: the converter's rename and drop rules.
        target: the tap3d model's state dict (keys and shapes to match).
        source_name: the input file, for messages.
        allow_missing: tap3d keys (regular expressions) that the upstream file
            cannot provide -> why (they are left out of the output).

    Returns:
        The :class:`Conversion`.

    Raises:
        ConversionError: an upstream key no rule covers (unknown layout), a rename
            onto a key the tap3d model lacks, two keys onto one, a shape mismatch,
            or a tap3d key left without a tensor.
    """
    target_keys = set(target)
    active = [r for r in rules if r.when is None or r.when(target_keys)]
    converted, origin, squeezed = {}, {}, []
    dropped: Dict[str, List[str]] = collections.OrderedDict()
    unmatched = []
    for key, value in source.items():
        rule = next((r for r in active if r._regex.fullmatch(key)), None)
        if rule is None:
            unmatched.append(key)
            continue
        if rule.target is None:
            dropped.setdefault(rule.reason, []).append(key)
            continue
        new = rule._regex.sub(rule.target, key)
        if new not in target_keys:
            raise ConversionError(f'{source_name}: upstream {key} maps to {new}, which the '
                                  'tap3d model does not have (unknown layout or wrong --config)')
        if new in converted:
            raise ConversionError(f'{source_name}: upstream {origin[new]} and {key} both map '
                                  f'to {new}')
        want = tuple(target[new].shape)
        if (rule.squeeze and value.dim() == 3 and value.shape[-1] == 1
                and tuple(value.shape[:2]) == want):
            value = value[..., 0]
            squeezed.append(key)
        if tuple(value.shape) != want:
            raise ConversionError(f'{source_name}: shape mismatch: upstream {key} '
                                  f'{tuple(value.shape)} vs tap3d {new} {want}')
        if value.is_floating_point() != target[new].is_floating_point():
            raise ConversionError(f'{source_name}: dtype mismatch: upstream {key} {value.dtype} '
                                  f'vs tap3d {new} {target[new].dtype}')
        converted[new] = value.detach().to(target[new].dtype).clone().contiguous()
        origin[new] = key
    if unmatched:
        raise ConversionError(
            f'{source_name}: {len(unmatched)} upstream tensors match no rule of this converter '
            f'(unknown layout): {_keys_preview(unmatched)}')
    allowed = [re.compile(p) for p in (allow_missing or {})]
    missing = [k for k in target if k not in converted
               and not any(p.fullmatch(k) for p in allowed)]
    if missing:
        raise ConversionError(
            f'{source_name}: {len(missing)} tensors of the tap3d model are missing from the '
            f'input: {_keys_preview(missing)}')
    return Conversion(converted, dropped, squeezed, origin)


def sub_state_dict(state_dict: Dict[str, torch.Tensor], prefixes: Sequence[str]
                   ) -> Dict[str, torch.Tensor]:
    """The entries of ``state_dict`` whose keys start with one of ``prefixes``."""
    return {k: v for k, v in state_dict.items() if k.startswith(tuple(prefixes))}


# ----------------------------------------------------------------------------- writing
def save_checkpoint(path: str, state_dict: Dict[str, torch.Tensor], meta: dict) -> None:
    """Write ``{'state_dict': ..., 'meta': ...}`` atomically, then check it loads with
    ``torch.load(weights_only=True)`` and holds the same tensors.

    Args:
        path: output ``.pth`` file (its folder is created).
        state_dict: tap3d key -> tensor.
        meta: plain data only (str, int, float, bool, None, lists and dicts of them).
    """
    buffer = io.BytesIO()
    torch.save({'state_dict': state_dict, 'meta': meta}, buffer)
    atomic_write_bytes(buffer.getvalue(), path)
    back = torch.load(path, map_location='cpu', weights_only=True)
    if set(back['state_dict']) != set(state_dict) or any(
            not torch.equal(back['state_dict'][k], v) for k, v in state_dict.items()):
        raise RuntimeError(f'{path} does not read back as written')


def relative(path: str) -> str:
    """``path`` relative to the repository when inside it (stable names in meta)."""
    root = osp.dirname(_TOOLS)
    full = osp.abspath(path)
    return osp.relpath(full, root) if full.startswith(root + osp.sep) else path


def make_meta(upstream: str, input_path: str, entry: str, kind: str, config: str,
              cfg_options: Optional[dict], conversion: Conversion, **extra) -> dict:
    """The ``meta`` entry of a converted checkpoint (plain data only)."""
    meta = dict(
        converted_from=osp.basename(input_path), upstream=upstream, entry=entry, kind=kind,
        config=relative(config), cfg_options=dict(cfg_options or {}),
        dropped={reason: list(keys) for reason, keys in conversion.dropped.items()})
    meta.update(extra)
    return meta


# ----------------------------------------------------------------------------- CLI
def make_parser(description: str, kinds: Sequence[str] = ('pretrain', 'finetune')
                ) -> argparse.ArgumentParser:
    """The converters' common arguments: IN OUT [--kind] [--config] [--cfg-options]."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('input', help='upstream checkpoint (.pth)')
    parser.add_argument('output', help='tap3d checkpoint to write (.pth)')
    parser.add_argument('--kind', choices=list(kinds), default=None,
                        help='what the input is; detected from its keys when omitted')
    parser.add_argument('--config', default=None,
                        help='tap3d config whose model the weights must fit '
                        '(default: the one named in docs/model_conversion.md)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default=None,
                        help='override settings of --config, e.g. model.head.num_classes=40')
    return parser


def check_paths(args) -> None:
    if osp.abspath(args.input) == osp.abspath(args.output):
        raise UserError(f'refusing to overwrite the input {args.input}')
    if not args.output.endswith('.pth'):
        raise UserError(f'output must be a .pth file, got {args.output}')


def print_report(lines: Sequence[str], conversion: Conversion, output: str) -> None:
    """The human-readable report; the summary line comes last but one."""
    for line in lines:
        print(line)
    for reason, keys in conversion.dropped.items():
        print(f'  dropped {len(keys)} ({reason}): {_keys_preview(keys)}')
    if conversion.squeezed:
        print(f'  reshaped {len(conversion.squeezed)} 1x1-conv weights (out, in, 1) to '
              'Linear (out, in)')
    print(conversion.summary())
    print(f'wrote {output}')


__all__ = [
    'ConversionError', 'Conversion', 'Rule', 'rename', 'drop', 'read_checkpoint',
    'find_state_dict', 'other_entries', 'repo_path', 'build_target', 'convert_state_dict',
    'sub_state_dict', 'save_checkpoint', 'make_meta', 'make_parser', 'check_paths',
    'print_report', 'relative'
]
