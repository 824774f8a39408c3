"""Process-wide set-up shared by the tools and the tests."""
import datetime
import warnings

from mmengine import DefaultScope


def register_all_modules(init_default_scope: bool = True) -> None:
    """Import every tap3d component so that its registry entries exist.

    Also allow-lists mmengine's checkpoint types for ``weights_only=True`` loading
    and makes local file writes atomic (see :mod:`tap3d.utils.checkpoint`).

    Args:
        init_default_scope: make ``'tap3d'`` the current default scope, so that
            ``dict(type=...)`` resolves in tap3d's registries first.
    """
    import tap3d.datasets  # noqa: F401
    import tap3d.engine  # noqa: F401
    import tap3d.evaluation  # noqa: F401
    import tap3d.models  # noqa: F401
    import tap3d.utils.pretrained  # noqa: F401
    import tap3d.visualization  # noqa: F401
    from tap3d.utils.checkpoint import (
        register_atomic_local_backend,
        register_checkpoint_safe_globals,
    )

    register_checkpoint_safe_globals()
    register_atomic_local_backend()
    if init_default_scope:
        never_created = (DefaultScope.get_current_instance() is None
                         or not DefaultScope.check_instance_created('tap3d'))
        if never_created:
            DefaultScope.get_instance('tap3d', scope_name='tap3d')
            return
        current_scope = DefaultScope.get_current_instance()
        if current_scope.scope_name != 'tap3d':
            warnings.warn('The current default scope '
                          f'"{current_scope.scope_name}" is not "tap3d", '
                          '`register_all_modules` will force the current'
                          'default scope to be "tap3d". If this is not '
                          'expected, please set `init_default_scope=False`.')
            # avoid name conflict
            new_instance_name = f'tap3d-{datetime.datetime.now()}'
            DefaultScope.get_instance(new_instance_name, scope_name='tap3d')


__all__ = ['register_all_modules']
