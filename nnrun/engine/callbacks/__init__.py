"""Callbacks, under Keras's names and hook names."""

from nnrun.engine.callbacks.backup_and_restore import BackupAndRestore
from nnrun.engine.callbacks.callback import Callback, CallbackList
from nnrun.engine.callbacks.csv_logger import CSVLogger
from nnrun.engine.callbacks.early_stopping import EarlyStopping
from nnrun.engine.callbacks.history import History
from nnrun.engine.callbacks.lambda_callback import LambdaCallback
from nnrun.engine.callbacks.learning_rate_scheduler import LearningRateScheduler
from nnrun.engine.callbacks.model_checkpoint import ModelCheckpoint
from nnrun.engine.callbacks.progbar_logger import ProgbarLogger
from nnrun.engine.callbacks.reduce_lr_on_plateau import ReduceLROnPlateau
from nnrun.engine.callbacks.tensorboard import TensorBoard
from nnrun.engine.callbacks.terminate_on_nan import TerminateOnNaN

__all__ = [
    "BackupAndRestore",
    "CSVLogger",
    "Callback",
    "CallbackList",
    "EarlyStopping",
    "History",
    "LambdaCallback",
    "LearningRateScheduler",
    "ModelCheckpoint",
    "ProgbarLogger",
    "ReduceLROnPlateau",
    "TensorBoard",
    "TerminateOnNaN",
]
