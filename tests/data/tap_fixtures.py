"""Tiny ShapeNet55-layout data for TAP tests: one shape per split, small views."""
import numpy as np


def write_tiny_shapenet55(root, img_size=32, obj_size=28):
    """Write a box (train), a cone (val) and a cylinder (test) under ``root``.

    Returns:
        str: ``root``.
    """
    import trimesh
    from tap3d.datasets.synthetic import write_shapenet55_shape
    meshes = [('train', trimesh.creation.box((1.6, 0.8, 0.5))),
              ('val', trimesh.creation.cone(0.7, 1.2)),
              ('test', trimesh.creation.cylinder(0.4, 1.6))]
    for i, (split, mesh) in enumerate(meshes):
        write_shapenet55_shape(root, split, f'model_{i:06d}', np.asarray(mesh.vertices),
                               np.asarray(mesh.faces), np.random.default_rng(i),
                               img_size=img_size, obj_size=obj_size)
    return root
