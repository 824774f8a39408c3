"""One clear line for every error that stops a command-line tool.

Every tool under ``tools/`` runs its work inside :func:`one_line_errors` (or
:func:`run_tool`). Whatever goes wrong then ends the process with exit code 1 and
one line on stderr::

    train.py: error: data/ShapeNet55/pointclouds/train/model_000003.ply: truncated PLY, ...

The line names the file when the error concerns one: tap3d's readers put the path
first in their messages, and an error raised while a library (torch, PIL, h5py,
numpy, mmengine's config and checkpoint loaders) reads a file is prefixed with
that file. Errors raised in a DataLoader worker reach the main process with the
worker's whole traceback inside their message; the line shows the original
exception's own message instead.

Errors fall in two kinds:

* bad input: a missing, unreadable or invalid file, argument or config value.
  These are :class:`UserError`, ``DataFileError``, ``OSError``, ``SyntaxError``
  and ``UnpicklingError``, a failure inside a library while it reads a file, and
  every exception raised by an explicit ``raise`` statement of tap3d, the tools,
  mmengine/mmcv or the user's own modules (a check that explains itself).
* unexpected errors, e.g. an ``IndexError`` from a tensor operation deep in model
  code, or an error raised inside torch. The line says so and names the file that
  holds the full traceback: the run's log file when a runner has opened one, else a
  file under ``$TMPDIR/tap3d-tracebacks/``.

``TAP3D_DEBUG=1`` re-raises instead, so that Python prints the traceback.
"""
import ast
import contextlib
import linecache
import os
import os.path as osp
import re
import sys
import sysconfig
import tempfile
import time
import traceback
from typing import Callable, Iterator, List, Optional, Tuple

__all__ = ['UserError', 'DEBUG_ENV', 'describe_error', 'one_line_errors', 'run_tool']

DEBUG_ENV = 'TAP3D_DEBUG'


class UserError(Exception):
    """An error caused by the user's input, reported in one line."""


# Exception classes (checked by name against the whole class hierarchy) that always
# mean bad input. Names, because a DataLoader worker's error may reach us as text.
_INPUT_ERRORS = frozenset({'UserError', 'DataFileError', 'OSError', 'SyntaxError',
                           'UnpicklingError'})
# Also bad input while a tool sets up (config, datasets, model): a mistyped key, a
# wrong value or type in the config, a module that does not import.
_SETUP_ERRORS = frozenset({'KeyError', 'ValueError', 'TypeError', 'ImportError',
                           'RuntimeError', 'AttributeError', 'IndexError'})
# Messages with nothing to add to their own text: no class name before them.
_PLAIN = frozenset({'UserError', 'DataFileError', 'FileNotFoundError', 'SyntaxError'})

# Libraries whose errors while reading a file are about that file, and the names
# their functions give the path.
_READER_DIRS = ('torch' + os.sep + 'serialization.py', 'PIL' + os.sep, 'h5py' + os.sep,
                'numpy' + os.sep, 'mmengine' + os.sep + 'config' + os.sep,
                'mmengine' + os.sep + 'fileio' + os.sep,
                'mmengine' + os.sep + 'runner' + os.sep + 'checkpoint.py')
_PATH_LOCALS = ('name_or_buffer', 'filename', 'filepath', 'fname', 'fp', 'f', 'file',
                'path', 'name')

_WORKER_MARK = 'Original Traceback (most recent call last):'
_FILE_LINE = re.compile(r'^\s*File "(?P<file>.+)", line (?P<line>\d+)')
_EXC_LINE = re.compile(r'^(?P<type>[A-Za-z_][\w.]*)(?::\s?(?P<msg>.*))?$')


def _library_dirs() -> Tuple[str, ...]:
    """Folders of installed packages and of the standard library."""
    paths = sysconfig.get_paths()
    dirs = {paths.get(k) for k in ('stdlib', 'platstdlib', 'purelib', 'platlib')}
    return tuple(osp.realpath(d) + os.sep for d in dirs if d)


def _is_deliberate(filename: str, source: str) -> bool:
    """Whether a ``raise`` statement at ``filename`` is a check that explains itself.

    Any ``raise`` outside installed packages and the standard library counts (tap3d,
    the tools, configs, the user's modules), and so do mmengine's and mmcv's;
    errors raised inside torch, numpy and friends do not.
    """
    if not source.lstrip().startswith('raise'):
        return False
    real = osp.realpath(filename)
    if not real.startswith(_library_dirs()):
        return True
    return any(f'{os.sep}{pkg}{os.sep}' in real for pkg in ('mmengine', 'mmcv'))


def _class_names(exc: BaseException) -> List[str]:
    return [c.__name__ for c in type(exc).__mro__]


def _names_of(type_name: str) -> List[str]:
    """Class names of the hierarchy of an exception class known only by name."""
    import builtins
    import importlib
    module, _, name = type_name.rpartition('.')
    cls = getattr(builtins, name, None)
    if cls is None and module:
        try:
            cls = getattr(importlib.import_module(module), name, None)
        except Exception:  # noqa: BLE001 - an unimportable name is just a name
            cls = None
    if isinstance(cls, type) and issubclass(cls, BaseException):
        return [c.__name__ for c in cls.__mro__]
    return [name]


def _frames(tb) -> List:
    """Frames of a traceback, innermost first."""
    frames = []
    while tb is not None:
        frames.append((tb.tb_frame, tb.tb_lineno))
        tb = tb.tb_next
    return frames[::-1]


def _file_being_read(exc: BaseException) -> Optional[str]:
    """The file a reading library was working on when ``exc`` was raised, if any."""
    for frame, _ in _frames(exc.__traceback__):
        code_file = frame.f_code.co_filename
        if not any(d in code_file for d in _READER_DIRS):
            continue
        for name in _PATH_LOCALS:
            value = frame.f_locals.get(name)
            if isinstance(value, (str, os.PathLike)) and osp.isfile(value):
                return os.fspath(value)
    return None


def _unquote_key_error(msg: str) -> str:
    """``KeyError('x')`` prints as ``'x'``; show the text itself."""
    try:
        value = ast.literal_eval(msg)
    except (ValueError, SyntaxError):
        return msg
    return value if isinstance(value, str) else msg


_DIST_TIMEOUT = re.compile(r'Timed out waiting (\d+)ms|collective operation timeout|'
                           r'Watchdog caught collective operation timeout')


def _one_line(msg: str) -> str:
    """A message shortened to its informative first line."""
    timeout = _DIST_TIMEOUT.search(msg)
    if timeout:
        waited = f' after {int(timeout.group(1)) / 1000:g} s' if timeout.group(1) else ''
        return (f'a distributed collective timed out{waited}: another rank stalled or died '
                '(its own error, if any, is above); if a step legitimately takes longer, '
                'raise env_cfg.dist_cfg.timeout (seconds)')
    if 'Weights only load failed' in msg:
        # torch.load(weights_only=True) refused a pickle that would run code
        head = msg[:msg.index('Weights only load failed')]
        detail = [ln.strip() for ln in msg.splitlines()
                  if 'GLOBAL' in ln or 'WeightsUnpickler error' in ln]
        why = detail[0] if detail else 'it holds objects other than tensors and containers'
        return (f'{head}refused to unpickle: {why} (tap3d loads checkpoints with '
                'weights_only=True; only a file from a trusted source may be loaded '
                'otherwise)')
    if 'PytorchStreamReader failed' in msg:
        head, _, rest = msg.partition('PytorchStreamReader failed')
        reason = rest.split('. ')[0].strip().rstrip('.')
        return f'{head}truncated or corrupt checkpoint (PytorchStreamReader failed {reason})'
    lines = [ln.strip() for ln in msg.strip().splitlines() if ln.strip()]
    return ' '.join(lines[0].split()) if lines else ''


def _parse_traceback_text(text: str) -> Optional[dict]:
    """Type, message and innermost raise of the traceback text after a worker's mark."""
    body = text.split(_WORKER_MARK, 1)[1].splitlines()
    last = max((i for i, ln in enumerate(body) if _FILE_LINE.match(ln)), default=None)
    if last is None:
        return None
    origin = _FILE_LINE.match(body[last])
    i, source = last + 1, ''
    if i < len(body) and body[i].startswith(' ') and not _FILE_LINE.match(body[i]):
        source = body[i].strip()
        i += 1
    while i < len(body) and (not body[i].strip() or set(body[i].strip()) <= set('^~ ')):
        i += 1
    rest = body[i:]
    if not rest:
        return None
    match = _EXC_LINE.match(rest[0])
    if match is None:
        return None
    msg = '\n'.join([match.group('msg') or ''] + rest[1:])
    return dict(type=match.group('type'), msg=msg, file=origin.group('file'),
                source=source)


def describe_error(exc: BaseException, setup: bool = False) -> Tuple[str, bool]:
    """Describe an exception in one line.

    Args:
        exc: the exception that stopped the tool.
        setup: the tool was still setting up (config, datasets, model), where a
            ``KeyError``/``ValueError``/``TypeError``/... also means bad input.

    Returns:
        (message, is_input): the one-line message (without the tool's name), and
        whether it is bad input (True) or an unexpected error (False).
    """
    text = str(exc)
    if _WORKER_MARK in text and (origin := _parse_traceback_text(text)) is not None:
        names = _names_of(origin['type'])
        name, msg = names[0], origin['msg']
        if name == 'KeyError':
            msg = _unquote_key_error(msg.strip())
        deliberate = _is_deliberate(origin['file'], origin['source'])
        path = None
    else:
        names, name = _class_names(exc), type(exc).__name__
        if isinstance(exc, KeyError) and len(exc.args) == 1 and isinstance(exc.args[0], str):
            msg = exc.args[0]
        else:
            msg = text
        frames = _frames(exc.__traceback__)
        deliberate = bool(frames) and _is_deliberate(
            frames[0][0].f_code.co_filename,
            linecache.getline(frames[0][0].f_code.co_filename, frames[0][1]))
        path = _file_being_read(exc)
        if isinstance(exc, SyntaxError) and exc.lineno and exc.msg:
            where = exc.filename if exc.filename not in (None, '<unknown>', '<string>') \
                else path
            if where:
                msg = f'{where}:{exc.lineno}: syntax error: {exc.msg}'
    msg = _one_line(msg) or name
    if path and path not in msg and osp.basename(path) not in msg:
        msg = f'{path}: {msg}'
    dist_timeout = _DIST_TIMEOUT.search(text) is not None
    is_input = (bool(_INPUT_ERRORS.intersection(names)) or deliberate or path is not None
                or (setup and bool(_SETUP_ERRORS.intersection(names))) or dist_timeout)
    if name not in _PLAIN and path is None and not dist_timeout:  # the text says enough
        msg = f'{name}: {msg}'
    return msg, is_input


def _run_log_file() -> Optional[str]:
    """The log file of the current mmengine run, if a runner opened one."""
    logger_mod = sys.modules.get('mmengine.logging.logger')
    if logger_mod is None:
        return None
    import logging
    for logger in reversed(list(logger_mod.MMLogger._instance_dict.values())):
        for handler in logger.handlers:
            if isinstance(handler, logging.FileHandler):
                handler.flush()
                return handler.baseFilename
    return None


def _save_traceback(tool: str, exc: BaseException, new_file: bool) -> Optional[str]:
    """Append the traceback to the run's log; return its path.

    Without a run log, ``new_file`` writes it to a new file under
    ``$TMPDIR/tap3d-tracebacks/`` instead; otherwise nothing is saved (None).
    """
    text = ''.join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    stamp = time.strftime('%Y-%m-%d %H:%M:%S')
    record = f'\n{stamp} {tool} stopped on this error:\n{text}'
    path = _run_log_file()
    try:
        if path is None:
            if not new_file:
                return None
            folder = osp.join(tempfile.gettempdir(), 'tap3d-tracebacks')
            os.makedirs(folder, exist_ok=True)
            name = f"{osp.splitext(tool)[0]}-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}.txt"
            path = osp.join(folder, name)
        with open(path, 'a') as f:
            f.write(record)
    except OSError:
        return None
    return path


@contextlib.contextmanager
def one_line_errors(tool: str, setup: bool = False) -> Iterator[None]:
    """Turn any exception of the block into one line on stderr and exit code 1.

    Args:
        tool: the tool's name, which starts the line (``'train.py'``).
        setup: the block only sets up (see :func:`describe_error`).

    ``SystemExit`` and ``KeyboardInterrupt`` pass through; with ``TAP3D_DEBUG=1``
    every exception does (Python then prints its traceback).
    """
    try:
        yield
    except Exception as err:  # noqa: BLE001 - every error ends in one line
        if os.environ.get(DEBUG_ENV, '') not in ('', '0'):
            raise
        msg, is_input = describe_error(err, setup)
        saved = _save_traceback(tool, err, new_file=not is_input)
        if is_input:
            line = f'{tool}: error: {msg} (set {DEBUG_ENV}=1 for the traceback)'
        else:
            where = f'traceback saved to {saved}' if saved else 'traceback not saved'
            line = (f'{tool}: error: {msg} (unexpected: probably a bug, please report it; '
                    f'{where}; set {DEBUG_ENV}=1 to print it)')
        sys.stdout.flush()
        print(line, file=sys.stderr, flush=True)
        sys.exit(1)


def run_tool(main: Callable[[], object], tool: Optional[str] = None) -> int:
    """Run a tool's ``main()`` inside :func:`one_line_errors`; return its exit code.

    Args:
        main: the tool's entry point; an int it returns is the exit code, any
            other return value means success (0).
        tool: the name that starts an error line; the script's name by default.

    Use as ``sys.exit(run_tool(main))`` under ``if __name__ == '__main__':``.
    """
    tool = tool or osp.basename(sys.argv[0])
    with one_line_errors(tool):
        result = main()
    return result if isinstance(result, int) else 0
