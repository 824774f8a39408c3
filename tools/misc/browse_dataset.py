"""Write PNG contact sheets of a config's training samples: what the model sees.

For each sample, the top row shows the input points projected with TAP's
framing (docs/tap.md §5) into each selected view, shaded by depth (darker =
nearer); the bottom row shows the ground-truth photographs of the same
views. The two rows must line up: that is the contract the TAP head relies
on. Samples without views get three projections of their points.

    python tools/misc/browse_dataset.py configs/tap/tap_pointmlp_shapenet.py \
        --output-dir work_dirs/browse --num 8
"""
import argparse
import os
import os.path as osp
import sys

import numpy as np

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


def project_points_image(points: np.ndarray, rotation: np.ndarray, img_size: int = 224,
                         obj_size: int = 200, radius: int = 1) -> np.ndarray:
    """Draw points as seen from one pose, with TAP's framing.

    Args:
        points: (N, 3) float.
        rotation: (3, 3) world-to-camera rotation.
        img_size, obj_size: as in :func:`tap3d.geometry.compute_framing`.
        radius: splat half-width in pixels.

    Returns:
        (img_size, img_size, 3) uint8: white background, points shaded from
        dark (near the camera) to light grey (far), drawn far to near.
    """
    import torch

    from tap3d.geometry import camera_points, compute_framing, pixel_indices
    p = torch.as_tensor(points, dtype=torch.float32)[None]
    r = torch.as_tensor(rotation, dtype=torch.float32)[None, None]
    s, b = compute_framing(p, r, img_size, obj_size)
    pix = pixel_indices(p, r, s, b)[0, 0].numpy()
    depth = camera_points(p, r)[0, 0, :, 2].numpy()  # larger = nearer the camera
    near = (depth - depth.min()) / max(np.ptp(depth), 1e-12)
    grey = (200 - 170 * near).astype(np.uint8)
    img = np.full((img_size, img_size, 3), 255, np.uint8)
    for i in np.argsort(near):  # far first, so near points stay on top
        r0, c0 = pix[i]
        img[max(r0 - radius, 0):r0 + radius + 1, max(c0 - radius, 0):c0 + radius + 1] = grey[i]
    return img


def _label_text(sample, names) -> str:
    meta = sample['data_samples'].metainfo
    parts = [osp.basename(str(meta.get('file', '')))]
    stem = osp.splitext(parts[0])[0]
    if stem in names:
        parts.append(names[stem])
    if 'gt_label' in sample['data_samples']:
        parts.append(f"label {int(sample['data_samples'].gt_label.reshape(-1)[0])}")
    return '  '.join(p for p in parts if p)


def _synthetic_names(data_root) -> dict:
    # tap3d's synthetic ShapeNet55 keeps a stem -> category list for inspection
    path = osp.join(str(data_root or ''), 'synthetic_labels.txt')
    if not osp.isfile(path):
        return {}
    names = {}
    for line in open(path):
        words = line.split()
        if len(words) == 3:
            names[words[0]] = words[2]
    return names


def make_sheet(sample: dict, title: str, thumb: int = 224) -> np.ndarray:
    """Contact sheet of one packed sample: (H, W, 3) uint8."""
    from PIL import Image, ImageDraw
    inputs = sample['inputs']
    points = inputs['coord'].numpy()
    if 'views' in inputs:
        views = inputs['views'].permute(0, 2, 3, 1).numpy()
        rots = inputs['view_rotations'].numpy()
        size = views.shape[1]
        top = [project_points_image(points, r, size) for r in rots]
        rows = [top, list(views)]
    else:
        from tap3d.geometry import fixed_view_rotations
        rots = fixed_view_rotations(12)[[0, 3, 6]].numpy()
        rows = [[project_points_image(points, r) for r in rots]]

    def resize(img):
        return np.asarray(Image.fromarray(img).resize((thumb, thumb), Image.BILINEAR))

    grid = np.concatenate([np.concatenate([resize(im) for im in row], axis=1) for row in rows])
    bar = Image.new('RGB', (grid.shape[1], 18), (235, 235, 235))
    ImageDraw.Draw(bar).text((4, 3), title, fill=(0, 0, 0))
    sheet = np.concatenate([np.asarray(bar), grid])
    # a thin separator under every sheet when they are stacked
    return np.concatenate([sheet, np.full((3, sheet.shape[1], 3), 120, np.uint8)])


def parse_args(argv=None):
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(description='Write contact sheets of a dataset.')
    parser.add_argument('config')
    parser.add_argument('--output-dir', default='work_dirs/browse_dataset')
    parser.add_argument('--num', type=int, default=8, help='number of samples')
    parser.add_argument('--split', choices=('train', 'val', 'test'), default='train')
    parser.add_argument('--thumb-size', type=int, default=224, help='side of each tile')
    parser.add_argument('--stride', type=int, default=1, help='take every k-th sample')
    parser.add_argument('--indices', type=int, nargs='+', help='exact sample indices')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='key=value overrides of the config')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from PIL import Image

    from tap3d.registry import DATASETS
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'tap3d'))
    np.random.seed(args.seed)
    dataset_cfg = cfg[f'{args.split}_dataloader']['dataset']
    dataset = DATASETS.build(dataset_cfg)
    names = _synthetic_names(getattr(dataset, 'data_root', None))
    os.makedirs(args.output_dir, exist_ok=True)
    sheets = []
    indices = args.indices or list(range(0, len(dataset), args.stride))[:args.num]
    for k, idx in enumerate(indices):
        sample = dataset[idx]
        sheet = make_sheet(sample, f'#{idx}  {_label_text(sample, names)}', args.thumb_size)
        Image.fromarray(sheet).save(osp.join(args.output_dir, f'sample_{idx:05d}.png'))
        sheets.append(sheet)
    width = max(s.shape[1] for s in sheets)
    padded = [np.pad(s, ((0, 0), (0, width - s.shape[1]), (0, 0)), constant_values=255)
              for s in sheets]
    overview = osp.join(args.output_dir, 'overview.png')
    Image.fromarray(np.concatenate(padded)).save(overview, optimize=True)
    print(f'{len(sheets)} contact sheets and {overview} written to {args.output_dir}')
    return 0


if __name__ == '__main__':
    from tap3d.utils.errors import run_tool  # any error: one line, exit code 1
    sys.exit(run_tool(main))
