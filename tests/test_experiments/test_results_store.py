"""ResultsStore: a stored step is not recomputed; a run with other settings is refused, or moved aside whole
(checkpoints included) with force; independent steps run side by side (step_all)."""
import json

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


def test_step_all_runs_independent_steps_side_by_side_and_stores_each(tmp_path):
    import threading
    import time

    path = str(tmp_path / 'results.json')
    store = ResultsStore(path, dict(a=1), log=lambda *_: None)
    both_running = threading.Barrier(2, timeout=10)  # would time out if the steps ran one after the other

    def compute(value):
        both_running.wait()
        time.sleep(0.05)
        return dict(value=value)

    got = store.step_all([(['x', '0'], lambda: compute(1)), (['x', '1'], lambda: compute(2))], jobs=2)
    assert got == [dict(value=1), dict(value=2)]
    assert json.loads(open(path).read())['x'] == {'0': dict(value=1), '1': dict(value=2)}
    again = ResultsStore(path, dict(a=1), log=lambda *_: None)
    assert again.step_all([(['x', '0'], lambda: 1 / 0)], jobs=2) == [dict(value=1)]  # stored: not recomputed


def test_step_all_raises_a_failure_after_storing_the_steps_that_succeeded(tmp_path):
    path = str(tmp_path / 'results.json')
    store = ResultsStore(path, dict(a=1), log=lambda *_: None)
    with pytest.raises(ZeroDivisionError):
        store.step_all([(['bad'], lambda: 1 / 0), (['good'], lambda: dict(ok=True))], jobs=2)
    assert json.loads(open(path).read())['good'] == dict(ok=True)
