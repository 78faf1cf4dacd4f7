"""Land-cover models: the U-Net/ASPP architecture, smp architectures by name, and bundles."""

from geoseg.models.bundle import Bundle, BundleSpec, ClassInfo, load_bundle, save_bundle
from geoseg.models.registry import build_model

__all__ = ["Bundle", "BundleSpec", "ClassInfo", "build_model", "load_bundle", "save_bundle"]
