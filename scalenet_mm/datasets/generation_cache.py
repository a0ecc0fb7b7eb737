"""Skip-if-complete bookkeeping for generated data sets.

Generation takes minutes at full size and every test, demo and experiment asks for it, so each layout
directory gets a ``.complete`` marker with the hash of the generation parameters once it is fully written
(``.generating`` while it is being written). A layout is regenerated when its marker is missing, holds another
hash, or ``force`` is set. A directory without either marker is not ours: we refuse to delete it.
"""
import hashlib
import json
import os
import os.path as osp
import shutil
from typing import Dict, List, Optional, Sequence

__all__ = ['params_hash', 'GenerationCache']

MARKER = '.complete'
IN_PROGRESS = '.generating'
META_FILE = 'synthetic_meta.json'


def params_hash(params: Dict) -> str:
    """Short stable digest of JSON-serialisable generation parameters."""
    blob = json.dumps(params, sort_keys=True).encode()
    return hashlib.sha1(blob).hexdigest()[:16]


class GenerationCache:
    """Markers and the metadata file of one generated data set under ``root``.

    Args:
        root: data set root; layout ``name`` lives in ``<root>/<name>``.
        params: the generation parameters (their hash identifies the content).
    """

    def __init__(self, root: str, params: Dict):
        self.root = osp.abspath(root)
        self.params = params
        self.digest = params_hash(params)
        self.meta_path = osp.join(self.root, META_FILE)

    def layout_dir(self, layout: str) -> str:
        return osp.join(self.root, layout)

    def _marker(self, layout: str) -> Optional[Dict]:
        try:
            with open(osp.join(self.layout_dir(layout), MARKER), encoding='utf-8') as f:
                return json.load(f)
        except (OSError, ValueError):
            return None

    def pending(self, layouts: Sequence[str], force: bool = False) -> List[str]:
        """The layouts that must be (re)written."""
        return [name for name in layouts if force or (self._marker(name) or {}).get('hash') != self.digest]

    def cached_summary(self) -> Optional[Dict]:
        """The summary recorded by the last complete generation with these parameters, else ``None``."""
        if not osp.exists(self.meta_path):
            return None
        with open(self.meta_path, encoding='utf-8') as f:
            meta = json.load(f)
        return dict(meta['summary']) if meta.get('params_hash') == self.digest else None

    def begin(self, layout: str) -> str:
        """Empty the layout directory (only if it is ours) and mark it in progress; returns its path."""
        out = self.layout_dir(layout)
        if osp.isdir(out) and os.listdir(out):
            ours = osp.exists(osp.join(out, MARKER)) or osp.exists(osp.join(out, IN_PROGRESS))
            if not ours:
                raise FileExistsError(
                    f'{out} exists, is not empty and was not written by generate_dataset '
                    f'(no {MARKER} or {IN_PROGRESS} marker); refusing to overwrite it. '
                    'Choose another root or remove the directory.')
            shutil.rmtree(out)
        os.makedirs(out, exist_ok=True)
        with open(osp.join(out, IN_PROGRESS), 'w') as f:
            f.write('generation in progress or interrupted\n')
        return out

    def complete(self, layout: str) -> None:
        """Mark a fully written layout directory with the parameters' hash."""
        out = self.layout_dir(layout)
        with open(osp.join(out, MARKER), 'w', encoding='utf-8') as f:
            json.dump({'hash': self.digest, 'params': self.params}, f, indent=1)
        os.remove(osp.join(out, IN_PROGRESS))

    def write_meta(self, summary: Dict, images: Dict) -> None:
        """``<root>/synthetic_meta.json``: the summary (returned again on a cache hit) and every object."""
        with open(self.meta_path, 'w', encoding='utf-8') as f:
            json.dump({'params_hash': self.digest, 'summary': summary, 'images': images}, f)
