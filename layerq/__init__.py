"""layerq: what the two toolkits share -- the sweep runner, the command-line plumbing.

Users meet these through the packages: ``layercache.sweep`` and
``queueing.sweep`` are :func:`layerq.sweep.sweep`. Nothing heavy is imported
here; pandas, tqdm and dask load when a sweep runs.
"""

__version__ = "0.1.0"
