"""tools/install.sh asks pip for the CPU build of torch, never PyPI's CUDA build."""
import os
import os.path as osp
import subprocess

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _pip_calls(tmp_path, fail_first: bool, machine: str):
    """Run install_cpu_torch with a recording `pip` and a faked `uname`."""
    log = tmp_path / 'pip.log'
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir(exist_ok=True)
    uname = bin_dir / 'uname'
    kernel, arch = machine.split('-')
    uname.write_text(f'#!/bin/sh\n[ "$1" = -s ] && echo {kernel} || echo {arch}\n')
    uname.chmod(0o755)
    fail = 'n=$(wc -l < "$LOG"); [ "$n" -gt 1 ] || return 1' if fail_first else 'true'
    script = (f'LOG={log}; : > "$LOG"\n'
              f'fake_pip() {{ echo "$*" >> "$LOG"; {fail}; }}\n'
              'PIP=fake_pip\n'
              f'. {osp.join(REPO, "tools", "_torch_cpu.sh")}\n'
              'install_cpu_torch\n')
    env = {**os.environ, 'PATH': f'{bin_dir}:{os.environ["PATH"]}'}
    subprocess.run(['bash', '-c', script], check=True, env=env)
    return log.read_text().splitlines()


def test_x86_64_pins_the_cpu_wheel(tmp_path):
    calls = _pip_calls(tmp_path, fail_first=False, machine='Linux-x86_64')
    assert calls == ['torch==2.13.0+cpu']


def test_x86_64_falls_back_to_pytorchs_cpu_index(tmp_path):
    calls = _pip_calls(tmp_path, fail_first=True, machine='Linux-x86_64')
    assert calls[0] == 'torch==2.13.0+cpu'
    assert calls[1].startswith('torch==2.13.0+cpu --index-url https://download.pytorch.org/whl/cpu')


@pytest.mark.parametrize('machine', ['Linux-aarch64', 'Darwin-arm64'])
def test_other_machines_take_pypis_cpu_wheel(tmp_path, machine):
    assert _pip_calls(tmp_path, fail_first=False, machine=machine) == ['torch==2.13.0']


def test_install_sh_uses_the_cpu_torch_helper():
    with open(osp.join(REPO, 'tools', 'install.sh')) as f:
        text = f.read()
    assert 'install_cpu_torch' in text
    assert '"torch==2.13.0"' not in text  # no bare pin that PyPI answers with CUDA
