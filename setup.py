"""tap3d: TAP ("Take-A-Photo") pre-training for any point-cloud backbone."""
import os.path as osp

from setuptools import find_packages, setup


def read_version():
    scope = {}
    with open(osp.join(osp.dirname(__file__), 'tap3d', '__init__.py')) as f:
        exec(f.read(), scope)
    return scope['__version__']


# torch is deliberately unpinned: `pip install -e .` must keep whatever torch build a
# machine already has (CUDA or CPU). torch-scatter needs torch at build time, so it is
# an extra, installed by tools/install.sh with --no-build-isolation.
install_requires = [
    'torch>=2.1',
    'mmengine>=0.10.4,<0.11',
    'mmcv-lite>=2.1',
    'numpy>=1.24',
    'scipy>=1.10',
    'h5py>=3.8',
    'pillow>=9.5',
    'trimesh>=4.0',
    'tqdm>=4.60',
]

setup(
    name='tap3d',
    version=read_version(),
    description='Pre-train any point-cloud backbone by teaching it to take photos (TAP)',
    long_description=open('README.md').read() if osp.exists('README.md') else '',
    long_description_content_type='text/markdown',
    packages=find_packages(include=['tap3d', 'tap3d.*']),
    # C++ sources of the fused CPU kernels (compiled by python -m tap3d.ops.cpu.build)
    package_data={'tap3d.ops.cpu': ['csrc/*.cpp']},
    python_requires='>=3.10',
    install_requires=install_requires,
    extras_require={
        'scene': ['torch-scatter>=2.1', 'spconv-cu120>=2.3'],
        'analysis': ['scikit-learn>=1.3', 'tensorboard>=2.14'],
        'tests': ['pytest>=7.4', 'pytest-xdist>=3.3'],
    },
    license='Apache-2.0',
    license_files=['LICENSE', 'NOTICE'],
    zip_safe=False,
)
