"""Device catalog: pump and catheter models as data with sources."""

from thecal.devices.catalog import DeviceCatalog, build_catalog

__all__ = ["DeviceCatalog", "build_catalog"]
