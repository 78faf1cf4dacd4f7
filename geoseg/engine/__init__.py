"""Running the model over a scene: the Predictor, in-process and Dask engines, the chunk store."""
