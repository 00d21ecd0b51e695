"""Built-in search strategies, one module per backend (installed as ``tunebench.strategies``).

Each module is imported only when its strategy is asked for by name; the heavy backends
(hyperopt, scikit-optimize, keras-tuner, optuna, deap) are imported inside it.
"""
