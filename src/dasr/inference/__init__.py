"""Using a trained model: the model file, and (later) tiled inference."""
