"""After a run: evaluation against references, sampling and area estimates, zonal stats, plots."""
