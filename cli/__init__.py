"""The ``kernelkit`` command line (installed as ``kernelkit.cli``).

Keras is imported lazily, after ``--backend`` has set ``KERAS_BACKEND``.
"""
