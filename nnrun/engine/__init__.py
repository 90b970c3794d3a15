"""nnrun's NumPy engine: layers, activations, initializers, losses, metrics, optimizers, models,
the training loop and callbacks. It reads no files but weights, and prints only what Keras prints."""
