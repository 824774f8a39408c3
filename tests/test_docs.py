"""The documentation stands on its own: citations resolve, links work, the project files exist.

- No file cites the method notes by a file name that is not in the repository: the
  formulas live in ``docs/tap.md`` and are cited as ``docs/tap.md §N``.
- Every ``docs/tap.md §N`` citation (code, configs, tools, tests, docs) names an
  existing numbered section of ``docs/tap.md``.
- ``LICENSE``, ``NOTICE``, ``CITATION.cff``, ``CHANGELOG.md`` and ``CONTRIBUTING.md``
  exist, and ``CITATION.cff`` is CFF 1.2.0 with its required keys.
- Relative links and images in the Markdown pages point to existing files and headings.
"""
import os
import os.path as osp
import re

import pytest
import yaml

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
TAP_DOC = osp.join(REPO, 'docs', 'tap.md')

# Folders that hold no source of the repository (environments, outputs, caches), at
# any depth, and the top-level ones of datasets and outputs.
SKIP_DIRS = {'.git', '.venv', 'venv', '__pycache__', 'build', 'dist', 'node_modules',
             '.pytest_cache', '.eggs'}
SKIP_TOP_DIRS = {'data', 'work_dirs'}
TEXT_SUFFIXES = {'.py', '.md', '.txt', '.sh', '.cff', '.cfg', '.ini', '.toml', '.yml', '.yaml',
                 '.cpp', '.h', '.json', ''}

# Built from pieces so that this file does not match itself.
UPPER_CASE_NOTES = re.compile(r'\b' + 'TAP' + r'\.md\b')
CITATION = re.compile(r'docs/tap\.md\s+(§\d+(?:\s*(?:,|-|–|and)\s*§?\d+)*)')
NUMBERED_HEADING = re.compile(r'^#{2,4}\s+(\d+)\.\s+\S')
MD_LINK = re.compile(r'!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)')


def _repo_text_files():
    """(relative path, text) of every source and documentation file of the repository."""
    for root, dirs, files in os.walk(REPO):
        rel_root = osp.relpath(root, REPO)
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.endswith('.egg-info')
                         and not (rel_root == '.' and d in SKIP_TOP_DIRS))
        for name in sorted(files):
            if osp.splitext(name)[1] not in TEXT_SUFFIXES:
                continue
            path = osp.join(root, name)
            try:
                with open(path, encoding='utf-8') as f:
                    text = f.read()
            except (UnicodeDecodeError, OSError):
                continue
            yield osp.normpath(osp.join(rel_root, name)), text
    data_readme = osp.join(REPO, 'data', 'README.md')
    if osp.isfile(data_readme):
        with open(data_readme, encoding='utf-8') as f:
            yield osp.join('data', 'README.md'), f.read()


def _without_code_blocks(lines):
    """Lines of a Markdown file outside fenced code blocks."""
    fenced = False
    for line in lines:
        if line.lstrip().startswith('```'):
            fenced = not fenced
            continue
        if not fenced:
            yield line


def _tap_sections():
    with open(TAP_DOC, encoding='utf-8') as f:
        lines = f.read().splitlines()
    return [int(m.group(1)) for m in map(NUMBERED_HEADING.match, _without_code_blocks(lines)) if m]


def _slug(heading):
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r'[^\w\- ]', '', heading.strip().lower()).replace(' ', '-')


def _anchors(md_path):
    with open(md_path, encoding='utf-8') as f:
        lines = f.read().splitlines()
    return {_slug(line.lstrip('#')) for line in _without_code_blocks(lines) if line.startswith('#')}


FILES = list(_repo_text_files())


def test_the_walk_sees_the_sources():
    names = {path for path, _ in FILES}
    assert 'README.md' in names and osp.join('docs', 'tap.md') in names
    assert osp.join('tap3d', 'geometry', 'framing.py') in names
    assert osp.join('tests', 'data', 'toy_tap_config.py') in names
    assert not any(p.startswith('work_dirs' + os.sep) for p in names)


def test_no_citation_of_notes_outside_the_repository():
    bad = [f'{path}:{text[:m.start()].count(chr(10)) + 1}' for path, text in FILES
           for m in UPPER_CASE_NOTES.finditer(text)]
    assert not bad, f'cite docs/tap.md §N instead, in: {bad}'


def test_tap_doc_sections_are_numbered_one_to_n():
    sections = _tap_sections()
    assert sections, 'docs/tap.md has no numbered sections'
    assert sections == list(range(1, len(sections) + 1)), sections


def test_every_tap_doc_citation_names_an_existing_section():
    sections = set(_tap_sections())
    cited, bad = 0, []
    for path, text in FILES:
        for m in CITATION.finditer(text):
            numbers = [int(n) for n in re.findall(r'\d+', m.group(1))]
            cited += len(numbers)
            missing = [n for n in numbers if n not in sections]
            if missing:
                line = text[:m.start()].count('\n') + 1
                bad.append(f'{path}:{line}: {m.group(0)!r} (no section {missing})')
    assert cited > 10, 'expected the code and docs to cite docs/tap.md sections'
    assert not bad, 'citations of missing docs/tap.md sections:\n' + '\n'.join(bad)


def test_tap_doc_internal_references_exist():
    """Bare ``§N`` in docs/tap.md refers to its own sections (``paper §4.1`` excepted)."""
    sections = set(_tap_sections())
    with open(TAP_DOC, encoding='utf-8') as f:
        text = f.read()
    bad = [m.group(0) for m in re.finditer(r'§(\d+)(?!\.\d)', text)
           if int(m.group(1)) not in sections
           and 'paper' not in text[max(0, m.start() - 8):m.start()]]
    assert not bad, bad


@pytest.mark.parametrize('name', ['LICENSE', 'NOTICE', 'CITATION.cff', 'CHANGELOG.md',
                                  'CONTRIBUTING.md', osp.join('docs', 'get_started.md')])
def test_project_file_exists(name):
    path = osp.join(REPO, name)
    assert osp.isfile(path) and os.path.getsize(path) > 0, f'{name} is missing or empty'


def test_license_is_the_apache_license_setup_py_declares():
    with open(osp.join(REPO, 'LICENSE'), encoding='utf-8') as f:
        text = f.read()
    assert 'Apache License' in text and 'Version 2.0, January 2004' in text
    assert 'END OF TERMS AND CONDITIONS' in text
    with open(osp.join(REPO, 'setup.py'), encoding='utf-8') as f:
        setup_py = f.read()
    assert "license='Apache-2.0'" in setup_py
    assert 'LICENSE' in setup_py and 'NOTICE' in setup_py  # shipped via license_files


def test_citation_cff_is_valid_cff_1_2_0():
    with open(osp.join(REPO, 'CITATION.cff'), encoding='utf-8') as f:
        cff = yaml.safe_load(f)
    assert isinstance(cff, dict)
    for key in ('cff-version', 'message', 'title', 'authors'):
        assert key in cff, f'CITATION.cff lacks the required key {key!r}'
    assert str(cff['cff-version']) == '1.2.0'
    assert cff['authors'] and all(
        isinstance(a, dict) and ('name' in a or 'family-names' in a) for a in cff['authors'])
    assert cff.get('license') == 'Apache-2.0'
    import tap3d
    assert str(cff.get('version')) == tap3d.__version__
    refs = cff.get('references', []) + ([cff['preferred-citation']]
                                        if 'preferred-citation' in cff else [])
    tap = [r for r in refs if 'Take-A-Photo' in r.get('title', '')]
    assert tap, 'CITATION.cff should reference the TAP paper'
    for ref in refs:
        assert {'type', 'title', 'authors'} <= set(ref), ref.get('title')
    families = [a.get('family-names') for a in tap[0]['authors']]
    assert families == ['Wang', 'Yu', 'Rao', 'Zhou', 'Lu']
    assert tap[0].get('year') == 2023


def test_changelog_has_unreleased_and_current_version():
    import tap3d
    with open(osp.join(REPO, 'CHANGELOG.md'), encoding='utf-8') as f:
        text = f.read()
    assert '## [Unreleased]' in text
    assert f'## [{tap3d.__version__}]' in text


def _markdown_pages():
    pages = ['README.md', 'CONTRIBUTING.md', 'CHANGELOG.md', osp.join('data', 'README.md')]
    docs = osp.join(REPO, 'docs')
    pages += [osp.join('docs', n) for n in sorted(os.listdir(docs)) if n.endswith('.md')]
    projects = osp.join(REPO, 'projects')
    pages += [osp.join('projects', p, 'README.md') for p in sorted(os.listdir(projects))
              if osp.isfile(osp.join(projects, p, 'README.md'))]
    return [p for p in pages if osp.isfile(osp.join(REPO, p))]


@pytest.mark.parametrize('page', _markdown_pages())
def test_relative_links_point_to_existing_files(page):
    path = osp.join(REPO, page)
    with open(path, encoding='utf-8') as f:
        lines = list(_without_code_blocks(f.read().splitlines()))
    bad = []
    for line in lines:
        # inline code is not a link
        for m in MD_LINK.finditer(re.sub(r'`[^`]*`', '', line)):
            target = m.group(1)
            if re.match(r'^[a-z][a-z0-9+.-]*:', target):  # http:, https:, mailto:, ...
                continue
            file_part, _, anchor = target.partition('#')
            resolved = osp.normpath(osp.join(osp.dirname(path), file_part)) if file_part else path
            if not osp.exists(resolved):
                bad.append(f'{target} (no such file)')
            elif anchor and resolved.endswith('.md') and anchor not in _anchors(resolved):
                bad.append(f'{target} (no heading #{anchor})')
    assert not bad, f'{page}: broken links: {bad}'
