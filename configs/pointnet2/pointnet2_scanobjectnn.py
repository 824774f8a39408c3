# Short name for pointnet2-ssg_1xb32-adamw-cosine-300e_scanobjectnn-hardest.py.
_base_ = ['./pointnet2-ssg_1xb32-adamw-cosine-300e_scanobjectnn-hardest.py']
