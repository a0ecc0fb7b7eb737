"""headline_metrics: what a results JSON keeps of one evaluation."""
from scalenet_mm.apis import headline_metrics


def test_headline_metrics_drops_both_curve_forms_and_rounds():
    metrics = {'MaxBoxAccV2': 28.12345, 'num_samples': 300, 'curve/tau': [0.0, 0.5],
               'curves': {'tau': [0.0, 0.5], 'BoxAccV1': [1.0, 2.0]}}
    assert headline_metrics(metrics, digits=3) == {'MaxBoxAccV2': 28.123, 'num_samples': 300}
