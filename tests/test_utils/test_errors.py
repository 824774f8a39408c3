"""describe_error: one line per exception, bad input told apart from bugs."""
import os.path as osp
import sys

import numpy as np
import pytest
import torch
from torch._utils import ExceptionWrapper

from tap3d.datasets.io import DataFileError
from tap3d.utils.errors import describe_error, one_line_errors


def _raised(fn):
    try:
        fn()
    except Exception as err:  # noqa: BLE001
        return err
    raise AssertionError('no exception')


def _from_worker(fn):
    """``fn``'s exception as the DataLoader re-raises it in the main process."""
    try:
        fn()
    except Exception:  # noqa: BLE001
        wrapper = ExceptionWrapper(sys.exc_info(), where='in DataLoader worker process 0')
    return _raised(wrapper.reraise)


def _bad_key():
    raise KeyError("unknown ModelNet40 class 'dragon'")


def _bad_file():
    raise DataFileError("data/x.ply: truncated PLY, header promises 1024 vertices")


def _index_bug():
    return torch.zeros(3)[[7]]


def test_key_error_keeps_both_quotes():
    assert describe_error(_raised(_bad_key)) == (
        "KeyError: unknown ModelNet40 class 'dragon'", True)
    assert describe_error(_raised(lambda: {}['x'])) == ('KeyError: x', False)


def test_worker_errors_show_the_original_message():
    err = _from_worker(_bad_file)
    assert 'Original Traceback' in str(err)  # what torch hands over
    assert describe_error(err) == (
        'data/x.ply: truncated PLY, header promises 1024 vertices', True)
    assert describe_error(_from_worker(_bad_key)) == (
        "KeyError: unknown ModelNet40 class 'dragon'", True)
    msg, is_input = describe_error(_from_worker(_index_bug))
    assert msg.startswith('IndexError: index 7 is out of bounds') and not is_input


def test_deliberate_checks_are_input_errors_and_library_failures_are_not():
    assert describe_error(_raised(lambda: np.zeros(2).reshape(3))) == (
        'ValueError: cannot reshape array of size 2 into shape (3,)', False)
    # the same type from a tap3d check that explains itself
    from tap3d.models.heads.tap_head import TAPHead
    msg, is_input = describe_error(_raised(lambda: TAPHead(4, img_size=30, downsample=8)))
    assert is_input and msg == 'ValueError: TAPHead: img_size 30 is not a multiple of downsample 8'
    # at set-up, a ValueError/KeyError/... is a config mistake whatever raised it
    assert describe_error(_raised(lambda: np.zeros(2).reshape(3)), setup=True)[1]


def test_file_being_read_is_named(tmp_path):
    path = str(tmp_path / 'half.pth')
    torch.save(dict(w=torch.zeros(1000)), path)
    with open(path, 'r+b') as f:
        f.truncate(500)
    msg, is_input = describe_error(_raised(lambda: torch.load(path)))
    assert is_input and msg == (f'{path}: truncated or corrupt checkpoint (PytorchStreamReader '
                                'failed reading zip archive: failed finding central directory)')


def test_config_syntax_error_names_file_and_line(tmp_path):
    from mmengine.config import Config
    cfg = str(tmp_path / 'c.py')
    with open(cfg, 'w') as f:
        f.write('a = 1\nb = (2\n')
    assert describe_error(_raised(lambda: Config.fromfile(cfg))) == (
        f"{cfg}:2: syntax error: '(' was never closed", True)


def test_one_line_errors_exits_1_with_one_line(capsys, monkeypatch, tmp_path):
    monkeypatch.delenv('TAP3D_DEBUG', raising=False)
    monkeypatch.setenv('TMPDIR', str(tmp_path))
    monkeypatch.setattr('tempfile.tempdir', None)
    # no run log: runners of earlier tests in this process must not receive it
    from collections import OrderedDict

    from mmengine.logging import MMLogger
    monkeypatch.setattr(MMLogger, '_instance_dict', OrderedDict())
    with pytest.raises(SystemExit) as exit_:
        with one_line_errors('tool.py'):
            _bad_file()
    assert exit_.value.code == 1
    assert capsys.readouterr().err == (
        'tool.py: error: data/x.ply: truncated PLY, header promises 1024 vertices '
        '(set TAP3D_DEBUG=1 for the traceback)\n')
    assert not osp.exists(tmp_path / 'tap3d-tracebacks')  # bad input: nothing saved
    with pytest.raises(SystemExit):
        with one_line_errors('tool.py'):
            _index_bug()
    line = capsys.readouterr().err
    saved = line.split('traceback saved to ')[1].split(';')[0]
    assert saved.startswith(str(tmp_path / 'tap3d-tracebacks' / 'tool-'))
    with open(saved) as f:
        assert 'torch.zeros(3)[[7]]' in f.read()
    monkeypatch.setenv('TAP3D_DEBUG', '1')
    with pytest.raises(IndexError):
        with one_line_errors('tool.py'):
            _index_bug()
