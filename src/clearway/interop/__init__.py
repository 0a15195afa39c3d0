"""Interoperability: other standards' messages in and out of Consignment v1 (WCO Data Model DMS)."""
