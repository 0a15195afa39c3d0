"""clearway: clearance of cross-border e-commerce parcels (WCO E-Commerce Framework of Standards)."""

__version__ = "0.1.0"
