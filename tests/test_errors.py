"""Bad input gets one clear message: the argument, the value received, the valid choices, a did-you-mean."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from nnrun import activations, initializers, losses, optimizers
from nnrun.errors import DataError, InvalidArgumentError, NnrunError
from nnrun.layers import Dense, Dropout, Input
from nnrun.models import Sequential


def classifier(units=3, loss="sparse_categorical_crossentropy", activation="softmax", width=2) -> Sequential:
    model = Sequential([Input(shape=(width,)), Dense(units, activation=activation, name="dense")])
    model.compile(optimizer="sgd", loss=loss, metrics=["accuracy"])
    return model


@pytest.mark.parametrize(
    ("lookup", "name", "message"),
    [
        (activations.get, "rleu", r"Unknown activation: activation='rleu'\. Expected one of: linear, sigmoid.*Did you mean 'relu'\?"),
        (initializers.get, "glorot_unifrom", r"Unknown initializer: initializer='glorot_unifrom'\. .*Did you mean 'GlorotUniform'\?"),
        (optimizers.get, "adma", r"Unknown optimizer: optimizer='adma'\. Expected one of: Adadelta, Adagrad, Adam, .*Did you mean 'Adam'\?"),
        (losses.get, "binary_crossentropyy", r"Unknown loss: loss='binary_crossentropyy'\..*Did you mean 'BinaryCrossentropy'\?"),
    ],
)
def test_unknown_names_list_the_choices_and_the_closest(lookup, name, message):
    with pytest.raises(InvalidArgumentError, match=message):
        lookup(name)


def test_unknown_names_through_the_keras_api():
    with pytest.raises(InvalidArgumentError, match=r"activation='sigmiod'.*Did you mean 'sigmoid'"):
        Dense(2, activation="sigmiod")
    with pytest.raises(InvalidArgumentError, match=r"kernel_initializer='he_norml'.*Did you mean 'HeNormal'"):
        Dense(2, kernel_initializer="he_norml")
    model = Sequential([Input(shape=(2,)), Dense(1)])
    with pytest.raises(InvalidArgumentError, match=r"Unknown metric: metrics='acuracy'\. Expected one of: accuracy, .*"):
        model.compile(optimizer="sgd", loss="mse", metrics=["acuracy"])
    with pytest.raises(InvalidArgumentError, match=r"Unknown optimizer: optimizer='sdg'.*Did you mean 'SGD'"):
        model.compile(optimizer="sdg", loss="mse")


def test_names_are_case_insensitive_and_accept_keras_spellings():
    assert type(optimizers.get("ADAM")).__name__ == "Adam"
    assert type(initializers.get("RandomUniform")) is type(initializers.get("random_uniform"))
    assert type(losses.get("MeanSquaredError")).__name__ == "MeanSquaredError"
    assert losses.get("MSE") is losses.get("mse") is losses.mean_squared_error  # Keras: the function itself
    assert activations.get("Swish") is activations.get("silu")


@pytest.mark.parametrize("units", [0, -3, 2.5, "8"])
def test_dense_units_must_be_a_positive_integer(units):
    with pytest.raises(InvalidArgumentError, match=rf"Dense units must be a positive integer\. Received: units={units!r}"):
        Dense(units)


@pytest.mark.parametrize("rate", [1.5, -0.1, "0.5"])
def test_dropout_rate_must_be_in_unit_interval(rate):
    with pytest.raises(InvalidArgumentError, match=rf"Dropout rate must be a number in \[0, 1\].*Received: rate={rate!r}"):
        Dropout(rate)


def test_x_and_y_of_different_lengths():
    model = classifier()
    with pytest.raises(DataError, match=r"x has 5 samples, y has 4 samples"):
        model.fit(np.zeros((5, 2)), np.zeros(4), verbose=0)


def test_input_of_the_wrong_width_names_the_layer():
    model = classifier(width=2)
    with pytest.raises(DataError, match=r"layer 'dense' expects 2 features, got 784 \(x has shape \(10, 784\)\)"):
        model.fit(np.zeros((10, 784)), np.zeros(10), verbose=0)


def test_images_fed_to_a_dense_stack_suggest_flattening():
    model = classifier(width=784)
    with pytest.raises(DataError, match=r"expects inputs of shape \(None, 784\), got \(None, 28, 28\).*Flatten x first"):
        model.predict(np.zeros((3, 28, 28)))


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_nan_or_inf_in_the_data(bad):
    x = np.zeros((6, 2))
    x[4, 1] = bad
    with pytest.raises(DataError, match=r"x contains 1 NaN or infinite value\(s\), the first at index \(4, 1\)"):
        classifier().fit(x, np.zeros(6), verbose=0)
    y = np.eye(3)[[0, 1, 2, 0, 1, 2]]
    y[2, 1] = bad
    with pytest.raises(DataError, match=r"y contains 1 NaN or infinite value\(s\), the first at index \(2, 1\)"):
        classifier(loss="categorical_crossentropy").evaluate(np.zeros((6, 2)), y, verbose=0)


def test_integer_labels_outside_the_output_classes():
    with pytest.raises(DataError, match=r"y contains the label 3, outside the output's classes: layer 'dense' has 3 units, "
                                        r"so labels must be in \[0, 2\]"):
        classifier(units=3).fit(np.zeros((4, 2)), np.array([0, 1, 2, 3]), verbose=0)
    with pytest.raises(DataError, match=r"contains the label -1"):
        classifier(units=3).fit(np.zeros((4, 2)), np.array([0, 1, 2, -1]), verbose=0)


def test_non_numeric_arrays():
    with pytest.raises(DataError, match=r"x must be numeric\. Received an array of dtype <U1 \(for example 'a'\)"):
        classifier().fit(np.array([["a", "b"], ["c", "d"]]), np.zeros(2), verbose=0)
    with pytest.raises(DataError, match=r"y must be numeric\. Received an array of dtype object"):
        classifier().fit(np.zeros((2, 2)), np.array([None, 1], dtype=object), verbose=0)


def test_one_hot_loss_with_integer_labels_names_the_sparse_loss():
    with pytest.raises(DataError, match=r"categorical_crossentropy expects one-hot targets of shape \(n, 3\).*"
                                        r"Use loss='sparse_categorical_crossentropy'"):
        classifier(loss="categorical_crossentropy").fit(np.zeros((4, 2)), np.array([0, 1, 2, 1]), verbose=0)


def test_binary_crossentropy_on_multiclass_integer_labels_warns_with_the_fix():
    model = classifier(units=1, loss="binary_crossentropy", activation="sigmoid")
    with pytest.warns(UserWarning, match=r"binary_crossentropy is being used with integer labels 0\.\.9 \(10 classes\).*"
                                         r"Dense\(10, activation='softmax'\) with loss='sparse_categorical_crossentropy'"):
        model.fit(np.zeros((10, 2)), np.arange(10), verbose=0)


def test_optimizer_arguments_are_checked():
    with pytest.raises(InvalidArgumentError, match=r"SGD: momentum must be a number in \[0, 1\]\. Received: momentum=1\.5"):
        optimizers.SGD(momentum=1.5)
    with pytest.raises(InvalidArgumentError, match=r"Adam: learning_rate must be a number > 0\. Received: learning_rate=-0\.1"):
        optimizers.Adam(learning_rate=-0.1)
    with pytest.raises(InvalidArgumentError, match=r"only one of clipnorm, clipvalue and global_clipnorm"):
        optimizers.SGD(clipnorm=1.0, clipvalue=0.5)
    with pytest.raises(InvalidArgumentError, match=r"RMSprop: argument\(s\) not recognized: \{'beta': 0\.9\}"):
        optimizers.RMSprop(beta=0.9)
    with pytest.raises(InvalidArgumentError, match=r"pass learning_rate or its Keras 2 alias lr, not both"):
        optimizers.SGD(learning_rate=0.1, lr=0.2)


def test_fit_before_compile_and_bad_fit_arguments():
    model = Sequential([Input(shape=(2,)), Dense(1)])
    with pytest.raises(NnrunError, match=r"must be compiled before training.*model\.compile\(optimizer="):
        model.fit(np.zeros((2, 2)), np.zeros(2))
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(InvalidArgumentError, match=r"batch_size must be a positive integer\. Received: batch_size=0"):
        model.fit(np.zeros((2, 2)), np.zeros(2), batch_size=0)
    with pytest.raises(InvalidArgumentError, match=r"validation_split must be a number in \[0, 1\)\. Received: validation_split=1\.2"):
        model.fit(np.zeros((2, 2)), np.zeros(2), validation_split=1.2)
    with pytest.raises(InvalidArgumentError, match=r"compile: argument\(s\) not recognized: \{'jit': True\}"):
        model.compile(optimizer="sgd", loss="mse", jit=True)


def test_errors_pickle_for_process_pools():
    err = DataError("x contains NaN")
    again = pickle.loads(pickle.dumps(err))
    assert type(again) is DataError and str(again) == "x contains NaN"
    assert isinstance(again, ValueError)
