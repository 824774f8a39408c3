"""The model zoo tells the truth about the configs: metafiles, folder READMEs, docs.

- Every recipe config (``configs/<family>/*.py`` outside ``synthetic/`` and
  ``ablations/``) is in exactly one ``metafile.yml``, as an entry's ``Config`` or its
  ``Short Name``, and every entry names a recipe config.
- Each metafile parses and has the required fields; weights are a URL or "not
  published", and a published checkpoint comes with a converter command.
- Every path a metafile names (config, short name, converter, the paths in the convert
  and test commands, fine-tunes, pre-training) exists; former names do not.
- A TAP pre-training entry lists its fine-tunes, and each of them loads its backbone
  from that pre-training's output (``work_dirs/<tap config>/``), and no other config
  does so without being listed.
- Every config path quoted in the docs (``docs/*.md``, the READMEs, CONTRIBUTING.md)
  exists. Former names may appear only where they are translated: docs/model_zoo.md and
  the folder READMEs; anywhere else they are stale.
"""
import glob
import itertools
import os.path as osp
import re

import pytest
import yaml
from mmengine.config import Config

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
FAMILIES = ('3detr', 'dgcnn', 'pointmlp', 'pointnet2', 'ptv2', 'standard_transformer', 'tap')
METAFILES = {f: osp.join(REPO, 'configs', f, 'metafile.yml') for f in FAMILIES}
NOT_PUBLISHED = 'not published'
NOT_MEASURED = '—'
MODEL_FIELDS = ('Name', 'In Collection', 'Metadata', 'Results', 'Paper Metric', 'Config',
                'Weights', 'Converter', 'Convert', 'Test', 'Reproduced with tap3d')
METADATA_FIELDS = ('Training Data', 'Epochs', 'Batch Size', 'Parameters')
# Paths quoted in the docs that are not tap3d's: Pointcept's config of the PTv2 recipe,
# and the missing config of an error message example.
UPSTREAM_OR_EXAMPLE = {'configs/scannet/semseg-pt-v2m2-0-base.py', 'configs/x.py'}


def _load(path):
    with open(path, encoding='utf-8') as f:
        return yaml.safe_load(f)


def _recipes():
    out = set()
    for family in FAMILIES:
        out.update(osp.relpath(p, REPO) for p in glob.glob(osp.join(REPO, 'configs', family,
                                                                     '*.py')))
    return out


METAS = {f: _load(p) for f, p in METAFILES.items() if osp.isfile(p)}
MODELS = [(f, m) for f, d in METAS.items() for m in d['Models']]
FORMER = {old for _, m in MODELS for old in m.get('Former Names') or ()}


def _ids(item):
    return item[1]['Name']


def test_every_family_has_a_metafile_and_a_readme():
    for family in FAMILIES:
        assert osp.isfile(METAFILES[family]), f'configs/{family}/metafile.yml is missing'
        assert osp.isfile(osp.join(REPO, 'configs', family, 'README.md')), family


def test_every_recipe_config_is_in_exactly_one_metafile():
    listed = {}
    for family, m in MODELS:
        for path in [m['Config']] + ([m['Short Name']] if m.get('Short Name') else []):
            assert path not in listed, f'{path} is listed twice ({listed[path]}, {family})'
            listed[path] = family
    recipes = _recipes()
    assert recipes - set(listed) == set(), 'recipe configs missing from the metafiles'
    assert set(listed) - recipes == set(), 'metafile entries that are not recipe configs'
    for path, family in listed.items():
        assert path.startswith(f'configs/{family}/'), f'{path} is in configs/{family}/metafile'


@pytest.mark.parametrize('family', FAMILIES)
def test_collections(family):
    data = METAS[family]
    assert set(data) == {'Collections', 'Models'}, family
    for coll in data['Collections']:
        assert coll['Name'] and coll['Paper']['Title'] and coll['Paper']['URL'].startswith(
            'https://')
        assert coll['Code']['URL'].startswith('https://github.com/')
        assert osp.isfile(osp.join(REPO, coll['README'])), coll['README']


@pytest.mark.parametrize('item', MODELS, ids=_ids)
def test_model_entry_fields(item):
    family, m = item
    missing = [k for k in MODEL_FIELDS if k not in m]
    assert not missing, f"{m.get('Name')}: missing {missing}"
    names = [c['Name'] for c in METAS[family]['Collections']]
    assert m['In Collection'] in names
    assert m['Name'] == osp.splitext(osp.basename(m['Config']))[0]
    for key in METADATA_FIELDS:
        assert key in m['Metadata'], f"{m['Name']}: Metadata.{key}"
    assert isinstance(m['Metadata']['Parameters'], int)
    assert isinstance(m['Paper Metric'], str) and m['Paper Metric']
    assert m['Reproduced with tap3d'] == NOT_MEASURED, 'a measured number needs its record'
    # a metric value is the number the paper metric quotes
    for result in m['Results'] or ():
        assert set(result) == {'Task', 'Dataset', 'Metrics'}
        for value in result['Metrics'].values():
            assert isinstance(value, (int, float))
            assert f'{value}' in m['Paper Metric'] or f'{value:.2f}' in m['Paper Metric']
    weights = m['Weights']
    assert weights == NOT_PUBLISHED or weights.startswith('https://'), weights
    if weights != NOT_PUBLISHED:
        assert m['Converter'] and m['Convert'], f"{m['Name']}: published but no converter"
    if m['Convert']:
        assert m['Convert'].startswith(f"python {m['Converter']} ")
        out = m['Convert'].split()[3]
        assert out == f"work_dirs/converted/{m['Name']}.pth"
    assert m['Test'].startswith(f"python tools/test.py {m['Config']} "), m['Test']


def test_model_names_are_unique():
    names = [m['Name'] for _, m in MODELS]
    assert len(names) == len(set(names))


def _paths_in(text):
    """Repository paths (configs/..., tools/...) in a command or a line of text."""
    return re.findall(r'(?<![\w/.-])((?:configs|tools)/[\w./-]+\.py)\b', text)


@pytest.mark.parametrize('item', MODELS, ids=_ids)
def test_paths_named_by_the_metafiles_exist(item):
    _, m = item
    paths = [m['Config'], m.get('Short Name'), m['Converter'],
             m['Metadata'].get('Pre-trained')] + list(m['Metadata'].get('Fine-tunes', []))
    paths += _paths_in(m['Convert'] or '') + _paths_in(m['Test'])
    for path in filter(None, paths):
        assert osp.isfile(osp.join(REPO, path)), f"{m['Name']}: {path} does not exist"
    for old in m.get('Former Names') or ():
        assert not osp.exists(osp.join(REPO, old)), f'former name {old} still exists'


def test_short_names_are_one_line_aliases():
    for _, m in MODELS:
        if not m.get('Short Name'):
            continue
        assert osp.dirname(m['Short Name']) == osp.dirname(m['Config'])
        lines = [line for line in open(osp.join(REPO, m['Short Name']), encoding='utf-8')
                 if line.strip() and not line.lstrip().startswith('#')]
        target = osp.basename(m['Config'])
        assert lines == [f"_base_ = ['./{target}']\n"], (m['Short Name'], lines)


def _backbone_checkpoint(path):
    cfg = Config.fromfile(osp.join(REPO, path))
    init = cfg.model.backbone.get('init_cfg') or {}
    return init.get('checkpoint')


TAP = [(f, m) for f, m in MODELS if f == 'tap']


@pytest.mark.parametrize('item', TAP, ids=_ids)
def test_tap_fine_tunes_load_its_backbone(item):
    _, m = item
    tunes = m['Metadata'].get('Fine-tunes') or []
    assert tunes, f"{m['Name']} lists no fine-tunes"
    for path in tunes:
        ckpt = _backbone_checkpoint(path)
        assert ckpt and ckpt.startswith(f"work_dirs/{m['Name']}/"), (path, ckpt)
        entry = next(e for _, e in MODELS if e['Config'] == path)
        assert entry['Metadata'].get('Pre-trained') == m['Config'], path


def test_every_config_loading_a_tap_backbone_is_a_listed_fine_tune():
    listed = {p for _, m in TAP for p in m['Metadata']['Fine-tunes']}
    for _, m in MODELS:
        ckpt = _backbone_checkpoint(m['Config'])
        if ckpt and ckpt.startswith('work_dirs/tap_'):
            assert m['Config'] in listed, f"{m['Config']} loads {ckpt} but no TAP entry lists it"


def _expand_braces(token):
    """``a{b,c}d{e,f}`` -> abde, abdf, acde, acdf (no nesting)."""
    parts = re.split(r'\{([^{}]*)\}', token)
    choices = [[p] if i % 2 == 0 else p.split(',') for i, p in enumerate(parts)]
    return [''.join(c) for c in itertools.product(*choices)]


CONFIG_LIKE = re.compile(r'\d+xb\d+|synthetic|scanobjectnn|modelnet40|shapenet|scannet|fewshot')
DOCS = sorted(glob.glob(osp.join(REPO, 'docs', '*.md'))) + [
    osp.join(REPO, 'README.md'), osp.join(REPO, 'CONTRIBUTING.md')
] + sorted(glob.glob(osp.join(REPO, 'configs', '*', 'README.md')))


def _config_basenames():
    return {osp.basename(p) for p in glob.glob(osp.join(REPO, 'configs', '**', '*.py'),
                                               recursive=True)}


def _translates_former_names(doc):
    rel = osp.relpath(doc, REPO)
    return rel == osp.join('docs', 'model_zoo.md') or (
        rel.startswith('configs' + osp.sep) and rel.endswith('README.md'))


@pytest.mark.parametrize('doc', DOCS, ids=lambda p: osp.relpath(p, REPO))
def test_config_paths_quoted_in_the_docs_exist(doc):
    text = open(doc, encoding='utf-8').read()
    basenames = _config_basenames()
    allowed = FORMER if _translates_former_names(doc) else set()
    former_basenames = {osp.basename(p) for p in allowed}
    bad = []
    for token in re.findall(r'(?<![\w/.{},*-])([\w/.{},*-]+\.py)\b', text):
        if '*' in token or '...' in token:
            continue  # a pattern, not a path
        for path in _expand_braces(token):
            path = path[2:] if path.startswith('./') else path
            if path in allowed or path in UPSTREAM_OR_EXAMPLE:
                continue
            if path.startswith('configs/'):
                if not osp.isfile(osp.join(REPO, path)):
                    bad.append(path)
            elif '/' not in path and CONFIG_LIKE.search(path):
                if path not in basenames and path not in former_basenames:
                    bad.append(path)
    assert not bad, f'{osp.relpath(doc, REPO)} names configs that do not exist: {bad}'


def test_model_zoo_and_folder_readmes_list_every_entry():
    zoo = open(osp.join(REPO, 'docs', 'model_zoo.md'), encoding='utf-8').read()
    for family, m in MODELS:
        readme = open(osp.join(REPO, 'configs', family, 'README.md'), encoding='utf-8').read()
        assert m['Config'] in zoo, f"{m['Config']} has no row in docs/model_zoo.md"
        assert osp.basename(m['Config']) in readme, f"{m['Config']} not in its README"
        if m['Weights'] != NOT_PUBLISHED:
            assert m['Weights'] in zoo and m['Weights'] in readme, m['Weights']
        if m['Convert']:
            assert m['Convert'] in zoo and m['Convert'] in readme, m['Convert']
        assert m['Test'] in zoo and m['Test'] in readme, m['Test']
    for path in set(_paths_in(zoo)) - FORMER - UPSTREAM_OR_EXAMPLE:
        assert osp.isfile(osp.join(REPO, path)), f'docs/model_zoo.md names {path}'


@pytest.mark.slow
@pytest.mark.parametrize('item', MODELS, ids=_ids)
def test_parameter_counts(item):
    from tap3d.registry import MODELS as REGISTRY
    from tap3d.utils import register_all_modules
    register_all_modules()
    _, m = item
    cfg = Config.fromfile(osp.join(REPO, m['Config']))
    model = REGISTRY.build(cfg.model)
    assert sum(p.numel() for p in model.parameters()) == m['Metadata']['Parameters']


@pytest.mark.parametrize('family', FAMILIES)
def test_folder_readme_links_resolve(family):
    readme = osp.join(REPO, 'configs', family, 'README.md')
    text = open(readme, encoding='utf-8').read()
    for target in re.findall(r'\]\(([^)\s]+)\)', text):
        if target.startswith(('http://', 'https://')):
            continue
        path = osp.normpath(osp.join(osp.dirname(readme), target.split('#')[0]))
        assert osp.exists(path), f'configs/{family}/README.md links to missing {target}'
