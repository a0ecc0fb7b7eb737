"""ResultsStore: a stored step is not recomputed; a run with other settings is refused, or moved aside whole
(checkpoints included) with force."""
import pytest

from scalenet_mm.experiments.results_store import ResultsStore


def test_store_refuses_other_settings_or_moves_them_aside(tmp_path):
    tmp_path = tmp_path / 'out'
    tmp_path.mkdir()
    path = str(tmp_path / 'results.json')
    store = ResultsStore(path, dict(epochs=1))
    assert store.step(['a', 'b'], lambda: {'x': 1}) == {'x': 1}
    assert ResultsStore(path, dict(epochs=1)).step(['a', 'b'], lambda: pytest.fail('recomputed')) == {'x': 1}
    (tmp_path / 'epoch_1.pth').write_bytes(b'a checkpoint of the old run')
    with pytest.raises(ValueError, match='other settings'):
        ResultsStore(path, dict(epochs=2))
    assert ResultsStore(path, dict(epochs=2), force=True).get('a') is None
    aside = [p for p in tmp_path.parent.iterdir() if p.name.startswith(tmp_path.name + '.replaced-')]
    assert len(aside) == 1 and (aside[0] / 'epoch_1.pth').is_file() and not tmp_path.exists()
