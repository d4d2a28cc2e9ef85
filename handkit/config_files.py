"""Where config files are: the configs shipped with handkit and the names
that point into them (``handkit::REL``, ``configs/REL``). A ground-level
module, so that any layer may name a config (``handkit.engine.config``
loads them; ``KeypointMapInput`` reads its 2D model's).
"""
import os.path as osp

#: How a config is named by the package's configs, wherever handkit is
#: installed: ``handkit::nsrm/lpm_g1g6_panoptic.py``.
PACKAGE_PREFIX = 'handkit::'


def package_configs_dir() -> str:
    """The configs shipped with handkit: ``handkit/configs`` of the installed
    package (a wheel holds them as files; in a clone it is a link to the
    repository's ``configs/``, which is used directly where links are not
    checked out)."""
    package = osp.dirname(osp.abspath(__file__))
    shipped = osp.join(package, 'configs')
    if osp.isdir(shipped):
        return osp.realpath(shipped)  # a clone: its configs/
    return osp.join(osp.dirname(package), 'configs')


def resolve_config_path(path: str) -> str:
    """The file a config name means, tried in this order:

    1. ``handkit::REL``: ``REL`` inside :func:`package_configs_dir`;
    2. a path to an existing file, as given (absolute or relative to the
       current folder), as before;
    3. a relative path inside the package's configs
       (``nsrm/lpm_g1g6_panoptic.py``), with or without a leading
       ``configs/`` (``configs/nsrm/lpm_g1g6_panoptic.py`` from any folder).

    Anything else is returned unchanged (the caller's not-found error names
    it).
    """
    path = osp.expanduser(str(path))
    if path.startswith(PACKAGE_PREFIX):
        return osp.join(package_configs_dir(), path[len(PACKAGE_PREFIX):])
    if osp.isfile(path) or osp.isabs(path):
        return path
    relative = path[len('configs/'):] if path.replace(
        '\\', '/').startswith('configs/') else path
    packaged = osp.join(package_configs_dir(), relative)
    return packaged if osp.isfile(packaged) else path
