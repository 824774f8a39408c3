"""docs/new_backbone.md works verbatim: its files are written and its commands run.

Every ```python block whose first line is ``# <path>`` is written to that path, and
every ```bash block marked ``<!-- doc-test -->`` is run as written, in a sandbox
that links the repository's ``tools/``, ``configs/`` and ``tap3d/`` (so the
synthetic data, ``projects/`` and ``work_dirs/`` it writes stay out of the checkout).
"""
import glob
import os
import os.path as osp
import re
import subprocess
import sys

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DOC = osp.join(REPO, 'docs', 'new_backbone.md')
_BLOCK = re.compile(r'(<!-- doc-test -->\n)?```(\w+)\n(.*?)```', re.S)


def doc_blocks():
    """``(language, text, marked)`` of every fenced block of the page."""
    with open(DOC) as f:
        text = f.read()
    return [(m.group(2), m.group(3), bool(m.group(1))) for m in _BLOCK.finditer(text)]


def _sandbox(tmp_path):
    root = tmp_path / 'repo'
    root.mkdir()
    for name in ('tools', 'configs', 'tap3d'):
        os.symlink(osp.join(REPO, name), root / name)
    for lang, text, _ in doc_blocks():
        first = text.splitlines()[0]
        if lang == 'python' and first.startswith('# ') and first.endswith('.py'):
            path = root / first[2:].strip()
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    return root


def _bash(root, script, check=True):
    # `python` is this interpreter; the sandbox stands for the repository root, which
    # the tools put on the import path (their links resolve to the real checkout)
    env = {**os.environ, 'PATH': osp.dirname(sys.executable) + os.pathsep + os.environ['PATH'],
           'PYTHONPATH': os.pathsep.join([str(root), os.environ.get('PYTHONPATH', '')])}
    proc = subprocess.run(['bash', '-e', '-c', script], cwd=root, capture_output=True,
                          text=True, timeout=900, env=env)
    if check:
        assert proc.returncode == 0, f'{script}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}'
    return proc


def test_the_page_declares_its_files_and_commands():
    blocks = doc_blocks()
    files = [t.splitlines()[0] for lang, t, _ in blocks if lang == 'python']
    assert files == ['# projects/my_backbone/my_backbone.py',
                     '# projects/my_backbone/configs/tap_my-backbone_synthetic-cpu.py',
                     '# projects/my_backbone/configs/my-backbone_tap-pre_synthetic-scanobjectnn.py']
    assert sum(marked for lang, _, marked in blocks if lang == 'bash') == 2


@pytest.mark.slow
def test_new_backbone_doc_runs_verbatim(tmp_path):
    root = _sandbox(tmp_path)
    outputs = [_bash(root, text) for lang, text, marked in doc_blocks()
               if lang == 'bash' and marked]
    pre = root / 'work_dirs' / 'tap_my-backbone_synthetic-cpu'
    fine = root / 'work_dirs' / 'my-backbone_tap-pre_synthetic-scanobjectnn'
    assert (pre / 'epoch_1.pth').is_file() and (fine / 'epoch_1.pth').is_file()
    assert glob.glob(str(pre / 'vis_views' / 'iter_*.png')), 'no view grid was drawn'
    log = outputs[1].stdout + outputs[1].stderr
    # what the page promises the fine-tuning log says
    assert ('loaded 4/4 keys of MyBackbone from '
            "work_dirs/tap_my-backbone_synthetic-cpu/epoch_1.pth (prefix 'backbone.')") in log
    assert 'cls/overall_acc' in log

    # a plain nn.Module backbone never fine-tunes silently from random weights
    fine_cfg = 'projects/my_backbone/configs/my-backbone_tap-pre_synthetic-scanobjectnn.py'
    proc = _bash(root, f'python tools/train.py {fine_cfg} --work-dir work_dirs/missing '
                 '--cfg-options model.backbone.init_cfg.checkpoint=work_dirs/nope.pth '
                 'train_cfg.max_epochs=1', check=False)
    assert proc.returncode != 0 and 'work_dirs/nope.pth' in proc.stderr
    assert not glob.glob(str(root / 'work_dirs' / 'missing' / '*.pth'))
