"""Metrics added or fixed for Keras parity (issue 10), against the values of Keras's own tests
(keras/src/metrics/*_test.py): accuracy ranks and n-d weights, reduction metrics, the confusion-matrix
metrics, AUC, RMSE, R², top-k; state handling, names, directions and compile(metrics=[...])."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nnrun import metrics
from nnrun.engine import metrics as engine_metrics
from nnrun.errors import InvalidArgumentError
from nnrun.layers import Dense, Input
from nnrun.models import Sequential

# Keras's confusion-matrix test data
Y_TRUE = np.array(((0, 1, 0, 1, 0), (0, 0, 1, 1, 1), (1, 1, 1, 1, 0), (0, 0, 0, 0, 1)))
Y_PRED = np.array(((0, 0, 1, 1, 0), (1, 1, 1, 1, 1), (0, 1, 0, 1, 0), (1, 1, 1, 1, 1)))
AUC_PRED = np.array([0, 0.5, 0.3, 0.9], "float32")
AUC_TRUE = np.array([0, 0, 1, 1])


# -- accuracy ---------------------------------------------------------------------------------------------


def test_binary_accuracy_with_flat_targets_and_a_column_of_predictions():
    m = metrics.BinaryAccuracy()
    m.update_state(np.array([1, 0, 1, 1]), np.array([[0.9], [0.2], [0.4], [0.7]]))
    assert m.result() == pytest.approx(0.75)  # not 2.0 from broadcasting (4,) against (4, 1)
    m.update_state(np.array([[1], [0]]), np.array([0.8, 0.9]))
    assert m.result() == pytest.approx(4 / 6)


def test_binary_accuracy_with_n_d_sample_weights():
    # elementwise weights: per sample Σ(hit·w)/k over Σ w/k
    m = metrics.BinaryAccuracy()
    y = np.array([[1, 0], [1, 1]], "float32")
    p = np.array([[0.9, 0.8], [0.2, 0.7]], "float32")
    w = np.array([[1.0, 3.0], [2.0, 2.0]], "float32")
    m.update_state(y, p, sample_weight=w)
    assert m.result() == pytest.approx((1 + 0 + 0 + 2) / 8)
    m.reset_state()
    m.update_state(y, p, sample_weight=[1.0, 0.0])
    assert m.result() == pytest.approx(0.5)


def test_accuracies_on_rank_3_outputs():
    p = np.array([[[0.1, 0.9], [0.8, 0.2]], [[0.3, 0.7], [0.6, 0.4]]], "float32")
    sparse = metrics.SparseCategoricalAccuracy()
    sparse.update_state(np.array([[1, 0], [0, 0]]), p)
    assert sparse.result() == pytest.approx(0.75)
    categorical = metrics.CategoricalAccuracy()
    categorical.update_state(np.eye(2)[[[1, 0], [0, 0]]], p)
    assert categorical.result() == pytest.approx(0.75)


def test_top_k_categorical_accuracy_as_keras():
    # keras accuracy_metrics_test
    m = metrics.TopKCategoricalAccuracy(k=1)
    y_true = np.array([[0, 0, 1], [0, 1, 0]], "float32")
    y_pred = np.array([[0.1, 0.9, 0.8], [0.05, 0.95, 0]], "float32")
    m.update_state(y_true, y_pred)
    assert m.result() == pytest.approx(0.5)
    m = metrics.TopKCategoricalAccuracy(k=2)
    m.update_state(y_true, y_pred, sample_weight=[0.7, 0.3])
    assert m.result() == pytest.approx(1.0)
    sparse = metrics.SparseTopKCategoricalAccuracy(k=1)
    sparse.update_state(np.array([2, 1]), y_pred)
    assert sparse.result() == pytest.approx(0.5)
    assert metrics.TopKCategoricalAccuracy().get_config() == {"name": "top_k_categorical_accuracy",
                                                             "dtype": "float32", "k": 5}
    with pytest.raises(ValueError, match=r"k must be a positive integer\. Received: k=0"):
        metrics.TopKCategoricalAccuracy(k=0)


# -- reduction metrics ------------------------------------------------------------------------------------


def test_mean_over_arrays_with_weights_as_keras():
    m = metrics.Mean()
    m.update_state([1, 3, 5, 7])
    assert m.result() == pytest.approx(4.0)
    m.reset_state()
    m.update_state([1, 3, 5, 7], sample_weight=[1, 1, 0, 0])
    assert m.result() == pytest.approx(2.0)
    m.reset_state()
    m.update_state([[1, 3], [5, 7]], sample_weight=[[1, 1], [1, 0]])
    assert m.result() == pytest.approx(3.0)
    m.reset_state()
    m.update_state([[1, 3], [5, 7]], sample_weight=[[1, 0]])
    assert m.result() == pytest.approx(3.0)
    m.reset_state()
    m.update_state(2.0)
    m.update_state(4.0, sample_weight=3.0)
    assert m.result() == pytest.approx(14 / 4)
    assert metrics.Mean().result() == 0.0  # divide_no_nan
    s = metrics.Sum()
    s.update_state([1, 3, 5, 7], sample_weight=[1, 1, 0, 2])
    assert s.result() == pytest.approx(18.0)
    with pytest.raises(ValueError, match=r"sample_weight of shape \(3,\) does not broadcast"):
        metrics.Mean().update_state([1.0, 2.0], sample_weight=[1.0, 2.0, 3.0])


def test_root_mean_squared_error_as_keras():
    m = metrics.RootMeanSquaredError()
    m.update_state(np.array([2, 4, 6], "float32"), np.array([1, 3, 2], "float32"))
    assert m.result() == pytest.approx(np.sqrt(6.0))
    m.reset_state()
    m.update_state(np.array([2, 4, 6, 8]), np.array([1, 3, 2, 3]), sample_weight=[0, 1, 0, 1])
    assert m.result() == pytest.approx(np.sqrt(13.0))
    assert metrics.RootMeanSquaredError.direction == "min"


def test_r2_score():
    y = np.array([[1.0, 2.0], [3.0, 5.0], [5.0, 4.0]], "float32")
    p = np.array([[1.5, 2.0], [2.5, 4.0], [5.5, 5.0]], "float32")
    m = metrics.R2Score()
    m.update_state(y, p)
    per_column = 1 - ((y - p) ** 2).sum(0) / ((y - y.mean(0)) ** 2).sum(0)
    assert m.result() == pytest.approx(per_column.mean(), rel=1e-6)
    raw = metrics.R2Score(class_aggregation=None)
    raw.update_state(y, p)
    np.testing.assert_allclose(raw.result(), per_column, rtol=1e-6)
    with pytest.raises(ValueError, match=r"expects 2D inputs"):
        metrics.R2Score().update_state(np.ones((2, 2, 2)), np.ones((2, 2, 2)))
    with pytest.raises(ValueError, match=r"class_aggregation.*Received: class_aggregation='median'"):
        metrics.R2Score(class_aggregation="median")


# -- confusion-matrix metrics -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cls", "unweighted", "weighted"),
    [
        (metrics.FalsePositives, 7.0, 14.0),
        (metrics.FalseNegatives, 3.0, 5.0),
        (metrics.TrueNegatives, 3.0, 4.0),
        (metrics.TruePositives, 7.0, 12.0),
    ],
)
def test_confusion_counts_as_keras(cls, unweighted, weighted):
    m = cls()
    m.update_state(Y_TRUE, Y_PRED)
    assert m.result() == pytest.approx(unweighted)
    assert cls()(Y_TRUE, Y_PRED, sample_weight=np.array((1.0, 1.5, 2.0, 2.5))) == pytest.approx(weighted)
    m.reset_state()
    assert m.result() == 0.0


def test_confusion_counts_at_several_thresholds():
    y_pred = np.array(((0.9, 0.2, 0.8, 0.1), (0.2, 0.9, 0.7, 0.6), (0.1, 0.2, 0.4, 0.3), (0, 1, 0.7, 0.3)))
    y_true = np.array(((0, 1, 1, 0), (1, 0, 0, 0), (0, 0, 0, 0), (0, 1, 1, 1)))
    fp = metrics.FalsePositives(thresholds=[0.15, 0.5, 0.85])
    fp.update_state(y_true, y_pred)
    np.testing.assert_allclose(fp.result(), [7.0, 4.0, 2.0])
    with pytest.raises(ValueError, match=r"thresholds must be numbers in \[0, 1\]"):
        metrics.TruePositives(thresholds=[0.5, 1.5])


def test_precision_and_recall_as_keras():
    p = metrics.Precision()
    assert p(np.array([0, 1, 1, 0]), np.array([1, 0, 1, 0])) == pytest.approx(0.5)
    r = metrics.Recall()
    assert r(np.array([0, 1, 1, 0]), np.array([1, 0, 1, 0])) == pytest.approx(0.5)
    assert metrics.Recall()(np.array([0, 0]), np.array([1, 1])) == 0.0  # no positives: divide_no_nan
    multi = metrics.Precision(thresholds=[0.5, 0.7])
    np.testing.assert_allclose(multi(np.array([0, 1, 1, 0]), np.array([1, 0, 0.6, 0])), [0.5, 0.0])
    top = metrics.Precision(top_k=1)
    assert top(np.array([[0, 0, 1, 1]]), np.array([[0.2, 0.1, 0.5, 0.0]])) == pytest.approx(1.0)
    by_class = metrics.Recall(class_id=2)
    assert by_class(np.array([[0, 0, 1], [0, 0, 1]]), np.array([[0.2, 0.1, 0.9], [0.9, 0.1, 0.2]])) == 0.5
    assert p.variables[0].shape == (1,) and len(p.variables) == 2
    config = metrics.Precision(thresholds=0.3, name="p03").get_config()
    assert config == {"name": "p03", "dtype": "float32", "thresholds": 0.3, "top_k": None, "class_id": None}


def test_auc_as_keras():
    # tp = [2, 1, 0], fp = [2, 0, 0], fn = [0, 1, 2], tn = [0, 2, 2] at thresholds [−ε, 0.5, 1 + ε]
    auc = metrics.AUC(num_thresholds=3)
    auc.update_state(AUC_TRUE, AUC_PRED)
    np.testing.assert_allclose(auc.true_positives, [2, 1, 0])
    np.testing.assert_allclose(auc.true_negatives, [0, 2, 2])
    # ROC, interpolation: recall [1, 0.5, 0], fp rate [1, 0, 0] → (1 − 0)·(1 + 0.5)/2 = 0.75
    assert auc.result() == pytest.approx(0.75)
    weighted = metrics.AUC(num_thresholds=3)
    weighted.update_state(AUC_TRUE, AUC_PRED, sample_weight=[1, 2, 3, 4])
    np.testing.assert_allclose(weighted.true_positives, [7, 4, 0])
    np.testing.assert_allclose(weighted.false_positives, [3, 0, 0])
    assert weighted.result() == pytest.approx((1 + 4 / 7) / 2)
    logits = metrics.AUC(num_thresholds=3, from_logits=True)
    logits.update_state(AUC_TRUE, -np.log(1.0 / (AUC_PRED + 1e-12) - 1.0))
    assert logits.result() == pytest.approx(0.75)
    perfect = metrics.AUC()
    perfect.update_state(np.array([0, 1, 0, 1]), np.array([0.1, 0.9, 0.3, 0.8]))
    assert perfect.result() == pytest.approx(1.0)


def test_auc_config_round_trip_as_keras():
    y = np.array([[0, 0], [1, 1], [1, 1], [1, 0]])
    p = np.array([[0.0, 0.4], [0.5, 0.7], [0.3, 0.2], [0.9, 0.3]], "float32")
    auc = metrics.AUC(num_thresholds=100, curve="PR", summation_method="majoring", name="auc_1", dtype="float64",
                      multi_label=True, num_labels=2, from_logits=True)
    auc.update_state(y, p)
    assert len(auc.variables) == 4 and auc.variables[0].shape == (100, 2)
    config = auc.get_config()
    assert "thresholds" not in config and json.loads(json.dumps(config)) == config
    again = metrics.AUC.from_config(config)
    again.update_state(y, p)
    assert again.get_config() == config and again.result() == pytest.approx(auc.result())
    manual = metrics.AUC(num_thresholds=None, curve="PR", summation_method="majoring", thresholds=[0.3, 0.5])
    assert manual.num_thresholds == 4
    np.testing.assert_allclose(manual.thresholds, [0.0, 0.3, 0.5, 1.0], atol=1e-6)
    assert manual.get_config()["thresholds"] == [0.3, 0.5]
    with pytest.raises(ValueError, match=r"curve.*Received: curve='ROCK'"):
        metrics.AUC(curve="ROCK")
    with pytest.raises(ValueError, match=r"num_thresholds must be an integer > 1\. Received: num_thresholds=1"):
        metrics.AUC(num_thresholds=1)


# -- registry, names, directions, get, compile ---------------------------------------------------------


@pytest.mark.parametrize("name", engine_metrics.METRICS.names())
def test_every_metric_has_a_direction_a_default_name_and_a_config(name):
    cls = engine_metrics.METRICS.get(name)
    assert cls.direction in ("max", "min")
    m = cls()
    config = m.get_config()
    assert json.loads(json.dumps(config)) == config
    assert type(cls.from_config(config)) is cls
    assert engine_metrics.direction(name) == cls.direction


def test_directions():
    assert engine_metrics.direction("accuracy") == "max"
    for name, want in [("auc", "max"), ("precision", "max"), ("recall", "max"), ("r2_score", "max"),
                       ("rmse", "min"), ("mae", "min"), ("false_positives", "min"), ("cosine_similarity", "max")]:
        assert engine_metrics.direction(name) == want, name


def test_get_follows_keras():
    assert metrics.get(None) is None
    assert isinstance(metrics.get("mse"), metrics.MeanSquaredError)
    assert isinstance(metrics.get("mean_squared_error"), metrics.MeanSquaredError)
    assert isinstance(metrics.get("categorical_accuracy"), metrics.CategoricalAccuracy)
    assert metrics.get("AUC").name == "auc"
    instance = metrics.Precision(name="p")
    assert metrics.get(instance) is instance
    restored = metrics.get({"class_name": "TopKCategoricalAccuracy", "config": {"k": 3, "name": "top3"}})
    assert restored.k == 3 and restored.name == "top3"
    with pytest.raises(ValueError, match=r"Unknown metric: metric='typo'"):
        metrics.get("typo")


def test_compile_by_name_and_history_keys():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 3)).astype("float32")
    y = (x[:, :1] > 0).astype("float32")
    model = Sequential([Input((3,)), Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy",
                  metrics=["auc", "precision", "recall", "true_positives", metrics.AUC(curve="PR", name="pr")])
    history = model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    assert set(history.history) == {"loss", "auc", "precision", "recall", "true_positives", "pr"}
    assert model.metric_directions()["auc"] == "max"
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    assert 0.0 <= logs["auc"] <= 1.0 and logs["true_positives"] <= 32
    with pytest.raises(InvalidArgumentError, match=r"Unknown metric: metrics='aucc'.*Did you mean 'AUC'"):
        model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["aucc"])
